"""The organization's webhook pages: list and create (secret shown once), the endpoint's detail
(edit, rotate, test, delete, messages and redeliver), roles and tenant isolation."""
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import DeliveryAttempt, WebhookEndpoint, WebhookMessage
from apps.alerts.services.webhooks import create_endpoint, send_test
from tests.factories import AssetFactory, PairFactory

SECRET_PATTERN = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def endpoint(tenants):
    return create_endpoint(tenants["org"], url=HOOK, events=["alert.opened"],
                           description="desk")


def list_url(org):
    return reverse("webhooks", args=[org.slug])


def create_url(org):
    return reverse("webhook_create", args=[org.slug])


def detail_url(org, endpoint):
    return reverse("webhook", args=[org.slug, endpoint.pk])


def action_urls(org, endpoint, message):
    return [
        reverse("webhook_create", args=[org.slug]),
        reverse("webhook_update", args=[org.slug, endpoint.pk]),
        reverse("webhook_rotate", args=[org.slug, endpoint.pk]),
        reverse("webhook_test", args=[org.slug, endpoint.pk]),
        reverse("webhook_delete", args=[org.slug, endpoint.pk]),
        reverse("webhook_redeliver", args=[org.slug, endpoint.pk, message.msg_id]),
    ]


def edit_data(**extra):
    return {"url": HOOK, "description": "changed", "events": ["alert.resolved"], "pairs": "",
            "enabled": "on", **extra}


def shown_secrets(response) -> set[str]:
    return set(SECRET_PATTERN.findall(response.content.decode()))


def raw_secret_columns(endpoint) -> tuple[str, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret, previous_secret FROM {WebhookEndpoint._meta.db_table} "
                       "WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()


def test_the_page_names_do_not_shadow_the_api_routes():
    assert reverse("webhooks", args=["acme"]) == "/orgs/acme/webhooks/"
    assert reverse("webhook", args=["acme", 3]) == "/orgs/acme/webhooks/3/"
    assert reverse("api_webhooks") == "/api/v1/webhooks"


def test_settings_link_to_the_webhooks_page(client, tenants):
    client.force_login(tenants["owner"])
    response = client.get(reverse("organization_settings", args=[tenants["org"].slug]))
    assert list_url(tenants["org"]) in response.content.decode()


def test_owner_creates_an_endpoint_and_sees_its_secret_once(client, tenants, caplog):
    caplog.set_level("DEBUG")
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), {
        "url": HOOK, "description": "risk desk", "events": ["alert.opened", "alert.resolved"],
        "pairs": ""})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    [secret] = shown_secrets(response)
    assert "you will not see this secret again" in page
    assert 'id="copy-key"' in page and 'hx-history="false"' in page

    endpoint = WebhookEndpoint.objects.get(organization=tenants["org"])
    assert endpoint.secret == secret
    assert (endpoint.url, endpoint.description, endpoint.events, endpoint.pairs) == (
        HOOK, "risk desk", ["alert.opened", "alert.resolved"], [])
    # Encrypted at rest, and not kept in the session or the logs.
    stored, _ = raw_secret_columns(endpoint)
    assert stored and secret not in stored and "whsec_" not in stored
    assert all(secret not in str(value) for value in client.session.values())
    assert secret not in caplog.text

    again = client.get(list_url(tenants["org"]))
    assert again.status_code == 200
    assert not shown_secrets(again) and HOOK in again.content.decode()
    detail = client.get(detail_url(tenants["org"], endpoint))
    assert detail.status_code == 200 and not shown_secrets(detail)


def test_a_refused_form_keeps_what_was_entered(client, tenants):
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), {
        "url": HOOK, "description": "d", "events": ["price.updated", "alert.opened"],
        "pairs": "NOPE-USD"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="price.updated" checked' in page and 'value="alert.opened" checked' in page
    assert 'value="alert.resolved" checked' not in page
    assert 'value="NOPE-USD"' in page and "No such pairs: NOPE-USD." in page


def test_a_member_can_create_an_endpoint_with_pairs(client, tenants):
    pair = PairFactory(base=AssetFactory(symbol="ETH"))
    client.force_login(tenants["member"])
    response = client.post(create_url(tenants["org"]), {
        "url": HOOK, "events": ["price.updated"], "pairs": f" {pair.slug}, {pair.slug} "})
    assert response.status_code == 200
    assert len(shown_secrets(response)) == 1
    endpoint = WebhookEndpoint.objects.get(organization=tenants["org"])
    assert endpoint.pairs == [pair.slug] and endpoint.events == ["price.updated"]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"url": "http://10.0.0.1/x", "events": ["alert.opened"]}, ["10.0.0.1"]),
        ({"url": HOOK}, ["One or more of: price.updated"]),
        ({"url": "http://10.0.0.1/x"}, ["10.0.0.1", "One or more of"]),
        ({"url": "ftp://127.0.0.1/x", "events": ["alert.opened"]}, ["scheme"]),
        ({"url": HOOK, "events": ["price.updated"]}, ["price.updated needs the pairs"]),
        ({"url": HOOK, "events": ["alert.opened"], "pairs": "NOPE-USD"}, ["No such pairs"]),
        ({"url": HOOK, "events": ["webhook.test"]}, ["Select a valid choice"]),
        ({"url": "", "events": ["alert.opened"]}, ["An endpoint needs a URL."]),
        ({"url": HOOK + "x" * 500, "events": ["alert.opened"]}, ["at most 500 characters"]),
    ],
)
def test_invalid_input_shows_form_errors(client, tenants, settings, data, errors):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"] if "10.0.0.1" not in data["url"] else []
    client.force_login(tenants["owner"])
    response = client.post(create_url(tenants["org"]), data)
    assert response.status_code == 400
    page = response.content.decode()
    for error in errors:
        assert error in page
    assert 'class="errorlist' in page
    assert not shown_secrets(response)
    assert not WebhookEndpoint.objects.exists()


def test_the_list_shows_status_reason_and_failing_since(client, tenants, endpoint):
    endpoint.enabled, endpoint.disabled_reason = False, "the receiver answered 410 Gone"
    endpoint.failing_since = timezone.now() - timedelta(hours=3)
    endpoint.save()
    client.force_login(tenants["member"])
    page = client.get(list_url(tenants["org"])).content.decode()
    assert "disabled" in page and "the receiver answered 410 Gone" in page
    assert "failing since" in page and "alert.opened" in page and "desk" in page


def test_edit_changes_the_endpoint_and_reenables_it(client, tenants, endpoint):
    endpoint.enabled, endpoint.disabled_reason = False, "failing"
    endpoint.failing_since = timezone.now()
    endpoint.save()
    client.force_login(tenants["owner"])
    response = client.post(reverse("webhook_update", args=[tenants["org"].slug, endpoint.pk]),
                           edit_data())
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.events, endpoint.enabled) == (
        "changed", ["alert.resolved"], True)
    assert endpoint.disabled_reason == "" and endpoint.failing_since is None

    client.post(reverse("webhook_update", args=[tenants["org"].slug, endpoint.pk]),
                edit_data(enabled=""))
    endpoint.refresh_from_db()
    assert endpoint.enabled is False


def test_invalid_edit_shows_errors_and_changes_nothing(client, tenants, endpoint, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []
    client.force_login(tenants["owner"])
    response = client.post(reverse("webhook_update", args=[tenants["org"].slug, endpoint.pk]),
                           edit_data(url="http://10.0.0.1/x", events=[]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "10.0.0.1" in page and "One or more of" in page
    assert 'value="http://10.0.0.1/x"' in page  # the input is kept for correction
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.description) == (
        HOOK, ["alert.opened"], "desk")


def test_rotate_shows_the_new_secret_once_and_keeps_the_old_one_for_a_day(
        client, tenants, endpoint):
    old = endpoint.secret
    client.force_login(tenants["member"])
    response = client.post(reverse("webhook_rotate", args=[tenants["org"].slug, endpoint.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [new] = shown_secrets(response)
    page = response.content.decode()
    assert new != old and "24 hours" in page and "you will not see this secret again" in page
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (new, old)
    assert abs(endpoint.previous_secret_until - (timezone.now() + timedelta(hours=24))) \
        < timedelta(minutes=1)
    stored, previous = raw_secret_columns(endpoint)
    assert new not in stored and old not in previous
    assert not shown_secrets(client.get(detail_url(tenants["org"], endpoint)))


def test_send_test_queues_a_message_visible_on_the_detail_page(client, tenants, endpoint):
    client.force_login(tenants["owner"])
    response = client.post(reverse("webhook_test", args=[tenants["org"].slug, endpoint.pk]),
                           follow=True)
    assert response.status_code == 200
    [message] = WebhookMessage.objects.filter(endpoint=endpoint)
    assert (message.event_type, message.status) == ("webhook.test", "pending")
    page = response.content.decode()
    assert "queued" in page and message.msg_id in page and "webhook.test" in page


def test_the_detail_page_lists_messages_newest_first_with_their_attempts(
        client, tenants, endpoint):
    now = timezone.now()
    old = send_test(endpoint)
    old.created_at = now - timedelta(hours=1)
    old.status, old.attempts, old.delivered_at = "delivered", 1, now
    old.save()
    new = send_test(endpoint)
    DeliveryAttempt.objects.create(message=old, started_at=now, status_code=200, latency_ms=84,
                                   response_snippet="ok" + "y" * 400)
    DeliveryAttempt.objects.create(message=new, started_at=now, status_code=None, latency_ms=3,
                                   error="connection refused")
    client.force_login(tenants["member"])
    page = client.get(detail_url(tenants["org"], endpoint)).content.decode()
    assert page.index(new.msg_id) < page.index(old.msg_id)
    assert "84 ms" in page and "connection refused" in page and "delivered" in page
    assert "y" * 400 not in page  # the response snippet is truncated
    assert "Redeliver" in page


def test_redeliver_sets_the_message_pending(client, tenants, endpoint):
    message = send_test(endpoint)
    later = timezone.now() + timedelta(hours=5)
    WebhookMessage.objects.filter(pk=message.pk).update(status="failed", attempts=8,
                                                        next_attempt_at=later)
    client.force_login(tenants["owner"])
    response = client.post(reverse("webhook_redeliver",
                                   args=[tenants["org"].slug, endpoint.pk, message.msg_id]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "pending" and message.next_attempt_at <= timezone.now()


def test_delete_removes_the_endpoint_and_its_messages(client, tenants, endpoint):
    send_test(endpoint)
    client.force_login(tenants["owner"])
    response = client.post(reverse("webhook_delete", args=[tenants["org"].slug, endpoint.pk]))
    assert response.status_code == 302 and response["Location"] == list_url(tenants["org"])
    assert not WebhookEndpoint.objects.exists() and not WebhookMessage.objects.exists()


def test_a_viewer_sees_the_pages_but_every_post_is_forbidden(client, tenants, endpoint, viewer):
    message = send_test(endpoint)
    listing = client.get(list_url(tenants["org"]))
    assert listing.status_code == 200 and HOOK in listing.content.decode()
    assert create_url(tenants["org"]) not in listing.content.decode()
    detail = client.get(detail_url(tenants["org"], endpoint))
    assert detail.status_code == 200 and message.msg_id in detail.content.decode()
    assert "Redeliver" not in detail.content.decode()

    for url in action_urls(tenants["org"], endpoint, message):
        assert client.post(url, edit_data()).status_code == 403, url
    endpoint.refresh_from_db()
    message.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.enabled) == (HOOK, "desk", True)
    assert endpoint.previous_secret is None
    assert WebhookEndpoint.objects.count() == 1 and WebhookMessage.objects.count() == 1


def test_an_outsider_gets_404_everywhere(client, tenants, endpoint):
    message = send_test(endpoint)
    secret = endpoint.secret
    client.force_login(tenants["outsider"])
    assert client.get(list_url(tenants["org"])).status_code == 404
    assert client.get(detail_url(tenants["org"], endpoint)).status_code == 404
    # Org A's endpoint through the outsider's own organization: still not found.
    own = tenants["outsider_org"]
    assert client.get(list_url(own)).status_code == 200
    assert client.get(detail_url(own, endpoint)).status_code == 404
    for org in (tenants["org"], own):
        for url in action_urls(org, endpoint, message)[1:]:
            assert client.post(url, edit_data()).status_code == 404, url
    assert client.post(create_url(tenants["org"]), edit_data()).status_code == 404

    endpoint.refresh_from_db()
    message.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.events, endpoint.secret) == (
        HOOK, "desk", ["alert.opened"], secret)
    assert endpoint.previous_secret is None
    assert WebhookEndpoint.objects.filter(organization=tenants["org"]).count() == 1
    assert not WebhookEndpoint.objects.filter(organization=own).exists()
    assert WebhookMessage.objects.count() == 1


def test_pages_need_a_login(client, tenants, endpoint):
    assert client.get(list_url(tenants["org"])).status_code == 302
    assert client.post(reverse("webhook_delete",
                               args=[tenants["org"].slug, endpoint.pk])).status_code == 302
    assert WebhookEndpoint.objects.exists()


def test_pages_refuse_the_wrong_method(client, tenants, endpoint):
    client.force_login(tenants["owner"])
    assert client.post(list_url(tenants["org"])).status_code == 405
    assert client.get(reverse("webhook_delete",
                              args=[tenants["org"].slug, endpoint.pk])).status_code == 405
