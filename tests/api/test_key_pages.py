"""The organization's API keys page: list, create (shown once), rotate, revoke, roles, tenant
isolation and the usage chart."""
import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.api_keys.models import ApiKey, ApiUsage
from apps.api_keys.services import create_key, revoke_key
from apps.billing.plans import get_plan
from apps.billing.services import set_plan
from tests.factories import MembershipFactory

from .conftest import bearer

KEY_PATTERN = re.compile(r"op_live_[0-9A-Za-z]{46}")


def page_url(org):
    return reverse("api_keys", args=[org.slug])


def create_url(org):
    return reverse("api_key_create", args=[org.slug])


def rotate_url(org, key):
    return reverse("api_key_rotate", args=[org.slug, key.pk])


def revoke_url(org, key):
    return reverse("api_key_revoke", args=[org.slug, key.pk])


def works(raw: str) -> bool:
    """The key authenticates against the API (from a client with no session)."""
    return Client().get("/api/v1/pairs", **bearer(raw)).status_code == 200


def shown_keys(response) -> set[str]:
    return set(KEY_PATTERN.findall(response.content.decode()))


def chart_points(response) -> list[dict]:
    found = re.search(r'<script id="usage-data" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert found, "the page has no chart data"
    return json.loads(found.group(1))


def stored_values() -> str:
    rows = ApiKey.objects.values_list(*[f.attname for f in ApiKey._meta.concrete_fields])
    return " ".join(str(value) for row in rows for value in row)


def test_the_page_name_does_not_shadow_the_api_route():
    assert reverse("api_keys", args=["acme"]) == "/orgs/acme/api-keys/"
    assert reverse("api_key_list") == "/api/v1/keys"


def test_owner_creates_a_key_and_sees_it_exactly_once(client, tenants, caplog):
    caplog.set_level("DEBUG")
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), {"name": "risk-engine", "scope": "read"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [raw] = shown_keys(response)
    assert "you will not see this key again" in response.content.decode()
    assert 'id="copy-key"' in response.content.decode()

    key = ApiKey.objects.get(organization=tenants["org"])
    assert (key.name, key.scope, key.created_by) == ("risk-engine", "read", tenants["owner"])
    assert raw.startswith(key.prefix)
    assert works(raw)
    # Stored nowhere: not in the database, the session or the logs.
    assert raw not in stored_values()
    assert all(raw not in str(value) for value in client.session.values())
    assert raw not in caplog.text

    again = client.get(page_url(tenants["org"]))
    assert again.status_code == 200
    assert raw not in again.content.decode() and not shown_keys(again)
    assert f"{key.prefix}…" in again.content.decode()


def test_owner_creates_a_read_write_key_with_an_expiry(client, tenants):
    client.force_login(tenants["owner"])
    day = timezone.now().date() + timedelta(days=10)
    response = client.post(create_url(tenants["org"]),
                           {"name": "writer", "scope": "read_write", "expires_on": day.isoformat()})
    assert response.status_code == 200
    key = ApiKey.objects.get(organization=tenants["org"])
    assert key.scope == "read_write" and key.expires_at.date() == day
    assert "active" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "scope": "read"}, "A key needs a name."),
        ({"name": "   ", "scope": "read"}, "A key needs a name."),
        ({"name": "x" * 101, "scope": "read"}, "at most 100 characters"),
        ({"name": "ok", "scope": "admin"}, "Select a valid choice"),
        ({"name": "ok", "scope": "read", "expires_on": "2001-01-01"}, "Choose a day after today."),
        ({"name": "ok", "scope": "read", "expires_on": "today"}, "Enter a valid date."),
    ],
)
def test_invalid_input_shows_a_form_error(client, tenants, data, error):
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not shown_keys(response)
    assert not ApiKey.objects.exists()


def test_an_expiry_of_today_is_refused(client, tenants):
    client.force_login(tenants["owner"])
    today = timezone.now().date().isoformat()
    response = client.post(create_url(tenants["org"]),
                           {"name": "ok", "scope": "read", "expires_on": today})
    assert response.status_code == 400
    assert "Choose a day after today." in response.content.decode()


def test_owner_rotates_a_key_and_sees_the_new_one_once(client, tenants, api_key, settings):
    old, old_raw = api_key
    client.force_login(tenants["owner"])
    response = client.post(rotate_url(tenants["org"], old))
    assert response.status_code == 200
    [new_raw] = shown_keys(response)
    assert new_raw != old_raw
    new = ApiKey.objects.get(replaces=old)
    assert new_raw.startswith(new.prefix) and new.created_by == tenants["owner"]
    old.refresh_from_db()
    grace = timedelta(hours=settings.OP_API_KEY_ROTATION_GRACE_HOURS)
    assert abs(old.expires_at - (timezone.now() + grace)) < timedelta(minutes=1)
    assert works(old_raw) and works(new_raw)
    assert new_raw not in stored_values()

    page = client.get(page_url(tenants["org"])).content.decode()
    assert new_raw not in page
    assert f"replaced by <code>{new.prefix}…</code>" in page
    assert "expiring" in page


def test_rotating_twice_or_a_revoked_key_is_an_error_message(client, tenants, api_key):
    key, _ = api_key
    client.force_login(tenants["owner"])
    assert client.post(rotate_url(tenants["org"], key)).status_code == 200
    response = client.post(rotate_url(tenants["org"], key), follow=True)
    assert "already rotated" in response.content.decode()
    assert not shown_keys(response)
    assert ApiKey.objects.count() == 2


def test_owner_revokes_a_key(client, tenants, api_key, django_capture_on_commit_callbacks):
    key, raw = api_key
    client.force_login(tenants["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(revoke_url(tenants["org"], key))
    assert response.status_code == 302 and response["Location"] == page_url(tenants["org"])
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert not works(raw)
    page = client.get(page_url(tenants["org"])).content.decode()
    assert "status-key-revoked" in page
    assert rotate_url(tenants["org"], key) not in page  # no buttons on a dead key


def test_an_admin_manages_keys_too(client, tenants):
    admin = MembershipFactory(organization=tenants["org"], role="admin").user
    client.force_login(admin)
    response = client.post(create_url(tenants["org"]), {"name": "ci", "scope": "read"})
    assert response.status_code == 200 and len(shown_keys(response)) == 1


def test_a_member_sees_the_list_read_only(client, tenants, api_key):
    key, raw = api_key
    client.force_login(tenants["member"])
    response = client.get(page_url(tenants["org"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert key.name in page and f"{key.prefix}…" in page
    assert raw not in page
    for url in (create_url(tenants["org"]), rotate_url(tenants["org"], key),
                revoke_url(tenants["org"], key)):
        assert url not in page


def test_a_member_gets_403_on_every_change(client, tenants, api_key):
    key, raw = api_key
    client.force_login(tenants["member"])
    assert client.post(create_url(tenants["org"]), {"name": "mine", "scope": "read"}
                       ).status_code == 403
    assert client.post(rotate_url(tenants["org"], key)).status_code == 403
    assert client.post(revoke_url(tenants["org"], key)).status_code == 403
    assert ApiKey.objects.count() == 1
    key.refresh_from_db()
    assert key.revoked_at is None and key.expires_at is None and works(raw)


def test_a_viewer_gets_403_on_the_page_and_every_change(client, tenants, api_key):
    key, _ = api_key
    viewer = MembershipFactory(organization=tenants["org"], role="viewer").user
    client.force_login(viewer)
    assert client.get(page_url(tenants["org"])).status_code == 403
    assert client.post(create_url(tenants["org"]), {"name": "v", "scope": "read"}
                       ).status_code == 403
    assert client.post(rotate_url(tenants["org"], key)).status_code == 403
    assert client.post(revoke_url(tenants["org"], key)).status_code == 403
    assert ApiKey.objects.count() == 1


def test_an_outsider_gets_404_on_every_page_and_post_of_another_org(client, tenants, api_key):
    key, raw = api_key
    org, own = tenants["org"], tenants["outsider_org"]
    client.force_login(tenants["outsider"])
    assert client.get(page_url(org)).status_code == 404
    assert client.post(create_url(org), {"name": "sneaky", "scope": "read_write"}
                       ).status_code == 404
    assert client.post(rotate_url(org, key)).status_code == 404
    assert client.post(revoke_url(org, key)).status_code == 404
    # Through their own organization's URLs, pointing at the other org's key.
    assert client.post(rotate_url(own, key)).status_code == 404
    assert client.post(revoke_url(own, key)).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None and key.expires_at is None
    assert works(raw)
    assert list(ApiKey.objects.all()) == [key]
    # Their own page does not show the other org's key.
    page = client.get(page_url(own)).content.decode()
    assert key.prefix not in page


def test_anonymous_visitors_are_sent_to_login(client, tenants, api_key):
    key, _ = api_key
    response = client.get(page_url(tenants["org"]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    response = client.post(revoke_url(tenants["org"], key))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is None


def test_changes_are_post_only(client, tenants, api_key):
    key, _ = api_key
    client.force_login(tenants["owner"])
    assert client.get(create_url(tenants["org"])).status_code == 405
    assert client.get(rotate_url(tenants["org"], key)).status_code == 405
    assert client.get(revoke_url(tenants["org"], key)).status_code == 405
    assert client.post(page_url(tenants["org"])).status_code == 405


def test_changes_need_the_csrf_token(tenants, api_key):
    key, _ = api_key
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenants["owner"])
    assert client.post(revoke_url(tenants["org"], key)).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_usage_chart_and_table_reflect_the_usage_rows(client, tenants, api_key, settings):
    key, _ = api_key
    other, _ = create_key(tenants["org"], name="batch")
    foreign, _ = create_key(tenants["outsider_org"], name="foreign")
    today = timezone.now().date()
    for k, day, calls, size in [(key, today, 120, 4096), (other, today, 30, 1024),
                                (key, today - timedelta(days=3), 7, 512),
                                (key, today - timedelta(days=40), 999, 1),  # outside the period
                                (foreign, today, 5000, 1)]:  # another tenant's
        ApiUsage.objects.create(key=k, organization=k.organization, day=day, calls=calls,
                                response_bytes=size)
    revoke_key(other)  # a revoked key's usage still counts

    client.force_login(tenants["member"])
    response = client.get(page_url(tenants["org"]))
    assert response.status_code == 200
    points = chart_points(response)
    assert len(points) == 30
    assert points[-1] == {"time": today.isoformat(), "value": 150}
    assert points[-4] == {"time": (today - timedelta(days=3)).isoformat(), "value": 7}
    assert sum(p["value"] for p in points) == 157

    per_key = {row["key"].pk: (row["calls"], row["response_bytes"])
               for row in response.context["usage"]["per_key"]}
    assert per_key == {key.pk: (127, 4608), other.pk: (30, 1024)}
    page = response.content.decode()
    assert '<td class="num" id="usage-total-calls">157</td>' in page
    assert "5,000" not in page and "foreign" not in page
    assert "Updated every minute" in page
    limits = get_plan(tenants["org"].plan).limits
    assert f"{limits.included_requests_per_month:,}" in page
    assert "lightweight-charts" in page and "usage_chart.js" in page


def test_the_settings_page_links_to_the_keys_page(client, tenants):
    client.force_login(tenants["owner"])
    response = client.get(reverse("organization_settings", args=[tenants["org"].slug]))
    assert page_url(tenants["org"]).encode() in response.content


def test_the_page_does_not_query_per_key(client, tenants, django_assert_max_num_queries):
    set_plan(tenants["org"], "pro")  # room for five keys
    for n in range(5):
        key, _ = create_key(tenants["org"], name=f"k{n}", created_by=tenants["owner"])
        ApiUsage.objects.create(key=key, organization=tenants["org"],
                                day=timezone.now().date(), calls=n, response_bytes=n)
    client.force_login(tenants["owner"])
    client.post(rotate_url(tenants["org"], key))
    with django_assert_max_num_queries(10):
        assert client.get(page_url(tenants["org"])).status_code == 200


def test_the_page_shows_why_the_plan_paused_a_key(client, tenants):
    from apps.billing.limits import over_limit
    from tests.alerts.paused import paused_reasons

    set_plan(tenants["org"], "pro")
    for n in range(3):
        create_key(tenants["org"], name=f"k{n}", created_by=tenants["owner"])
    set_plan(tenants["org"], "free")
    client.force_login(tenants["owner"])
    page = client.get(page_url(tenants["org"])).content.decode()
    assert paused_reasons(page) == [over_limit(tenants["org"], "api_keys")]
