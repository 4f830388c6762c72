"""API keys: format, storage, authentication, scopes, revocation, rotation, isolation."""
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.api_keys import keys
from apps.api_keys.models import ApiKey
from apps.api_keys.services import create_key, revoke_key, rotate_key
from apps.billing.limits import over_limit
from apps.billing.services import set_plan

from .conftest import bearer


def test_a_key_is_typed_checksummed_and_only_its_prefix_and_hmac_are_stored(tenants):
    key, raw = create_key(tenants["org"], name="risk")
    assert raw.startswith("op_live_") and len(raw) == keys.KEY_LENGTH
    assert keys.well_formed(raw)
    assert key.prefix == raw[:16] and raw not in (key.digest, key.prefix)
    assert key.digest == keys.digest(raw)
    stored = ApiKey.objects.values_list(*[f.attname for f in ApiKey._meta.concrete_fields])
    assert all(raw not in str(value) for row in stored for value in row)


def test_a_mistyped_key_fails_its_checksum():
    raw = keys.generate()
    typo = raw[:20] + ("A" if raw[20] != "A" else "B") + raw[21:]
    assert not keys.well_formed(typo)
    assert not keys.well_formed(raw[:-1])
    assert not keys.well_formed("op_test_" + raw[8:])


def test_no_key_is_401_with_the_error_body(client, db):
    response = client.get("/api/v1/pairs")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"])
def test_a_key_works_as_bearer_or_x_api_key(client, api_key, header):
    _, raw = api_key
    value = f"Bearer {raw}" if header == "HTTP_AUTHORIZATION" else raw
    assert client.get("/api/v1/pairs", **{header: value}).status_code == 200


@pytest.mark.parametrize("raw", ["nonsense", keys.generate()])
def test_an_unknown_or_malformed_key_is_401(client, db, raw):
    response = client.get("/api/v1/pairs", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_key"


def test_a_revoked_key_is_refused_at_once_even_by_an_instance_that_still_caches_it(
        client, api_key, django_capture_on_commit_callbacks):
    from apps.api_keys.principal import key_cache

    key, raw = api_key
    assert client.get("/api/v1/pairs", **bearer(raw)).status_code == 200
    cached = key_cache.get(keys.digest(raw))
    with django_capture_on_commit_callbacks(execute=True):
        revoke_key(key)
    assert client.get("/api/v1/pairs", **bearer(raw)).status_code == 401
    key_cache.put(keys.digest(raw), cached[1])  # another instance, its cache not yet expired
    response = client.get("/api/v1/pairs", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_key"


def test_an_expired_key_is_refused(client, tenants):
    key, raw = create_key(tenants["org"], name="short",
                          expires_at=timezone.now() + timedelta(seconds=30))
    assert client.get("/api/v1/pairs", **bearer(raw)).status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    from apps.api_keys import runtime

    runtime.forget_key(key.pk, revoked=False)
    assert client.get("/api/v1/pairs", **bearer(raw)).status_code == 401


def test_a_read_only_key_cannot_write(client, api_key):
    _, raw = api_key
    response = client.post("/api/v1/keys", {"name": "x"}, content_type="application/json",
                           **bearer(raw))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_read_write_key_creates_a_key_shown_once(client, write_key, tenants):
    _, raw = write_key
    response = client.post("/api/v1/keys", {"name": "bot", "scope": "read"},
                           content_type="application/json", **bearer(raw))
    assert response.status_code == 201
    body = response.json()
    assert keys.well_formed(body["key"]) and body["prefix"] == body["key"][:16]
    listed = client.get("/api/v1/keys", **bearer(raw)).json()["results"]
    assert {k["name"] for k in listed} == {"bot", "writer"}
    assert all("key" not in k for k in listed)
    assert client.get("/api/v1/pairs", **bearer(body["key"])).status_code == 200


def test_creating_a_key_with_bad_input_is_a_400_with_details(client, write_key):
    _, raw = write_key
    response = client.post("/api/v1/keys", {"name": "", "scope": "admin"},
                           content_type="application/json", **bearer(raw))
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert set(details) == {"name", "scope"}
    bad_json = client.post("/api/v1/keys", "{not json", content_type="application/json",
                           **bearer(raw))
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "parse_error"


def test_rotation_gives_a_new_key_and_the_old_one_works_until_the_grace_ends(client, write_key):
    key, raw = write_key
    response = client.post(f"/api/v1/keys/{key.pk}/rotate", **bearer(raw))
    assert response.status_code == 201
    new = response.json()
    assert new["replaces"] == key.pk and new["scope"] == "read_write"
    key.refresh_from_db()
    assert timedelta(hours=23) < key.expires_at - timezone.now() <= timedelta(hours=24)
    assert client.get("/api/v1/pairs", **bearer(raw)).status_code == 200
    assert client.get("/api/v1/pairs", **bearer(new["key"])).status_code == 200
    again = client.post(f"/api/v1/keys/{key.pk}/rotate", **bearer(raw))
    assert again.status_code == 400
    # the replacement is not the old key's child: revoking the old one leaves it working
    client.delete(f"/api/v1/keys/{key.pk}", **bearer(raw))
    assert client.get("/api/v1/pairs", **bearer(new["key"])).status_code == 200


def test_rotating_with_no_grace_ends_the_old_key_now(tenants):
    key, _ = create_key(tenants["org"], name="k")
    rotate_key(key, grace=timedelta(0))
    key.refresh_from_db()
    assert not key.usable()


def test_a_member_of_one_org_never_sees_anothers_keys_or_usage(client, tenants, api_key):
    from apps.api_keys.services import flush_usage

    key, raw = api_key
    client.get("/api/v1/pairs", **bearer(raw))
    _, other_raw = create_key(tenants["outsider_org"], name="theirs", scope="read_write")
    listed = client.get("/api/v1/keys", **bearer(other_raw)).json()["results"]
    assert [k["name"] for k in listed] == ["theirs"]
    assert client.get(f"/api/v1/keys/{key.pk}", **bearer(other_raw)).status_code == 404
    assert client.delete(f"/api/v1/keys/{key.pk}", **bearer(other_raw)).status_code == 404
    assert client.post(f"/api/v1/keys/{key.pk}/rotate",
                       **bearer(other_raw)).status_code == 404
    key.refresh_from_db()
    assert key.usable()
    flush_usage()
    usage = client.get("/api/v1/usage", **bearer(other_raw)).json()
    assert key.prefix not in {row["key"] for row in usage["days"]}
    assert client.get("/api/v1/usage", **bearer(raw)).status_code == 403  # read-only key
    _, mine = create_key(tenants["org"], name="mine", scope="read_write")
    assert client.get("/api/v1/usage", **bearer(mine)).json()["days"][0]["key"] == key.prefix


def test_dashboard_sessions_call_the_api_and_writes_need_csrf(tenants):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(tenants["owner"])
    assert browser.get("/api/v1/pairs").status_code == 200
    response = browser.post("/api/v1/keys", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_members_cannot_manage_keys_through_their_session(client, tenants, api_key):
    key, _ = api_key
    client.force_login(tenants["member"])
    client.post("/orgs/switch/", {"organization": tenants["org"].slug})  # the session's org
    assert [k["id"] for k in client.get("/api/v1/keys").json()["results"]] == [key.pk]
    response = client.delete(f"/api/v1/keys/{key.pk}")
    assert response.status_code == 403


def test_a_key_manages_only_itself_and_the_keys_it_created(client, tenants, write_key):
    set_plan(tenants["org"], "pro")  # Free allows two keys; this test needs three
    key, raw = write_key
    other, _ = create_key(tenants["org"], name="someone else's", scope="read_write")
    assert client.delete(f"/api/v1/keys/{other.pk}", **bearer(raw)).status_code == 403
    assert client.post(f"/api/v1/keys/{other.pk}/rotate", **bearer(raw)).status_code == 403
    child = client.post("/api/v1/keys", {"name": "child"}, content_type="application/json",
                        **bearer(raw)).json()
    assert client.get("/api/v1/pairs", **bearer(child["key"])).status_code == 200
    revoke_key(key)  # revoking a key revokes what it created
    assert not ApiKey.objects.get(pk=child["id"]).usable()
    other.refresh_from_db()
    assert other.usable()


def test_the_api_shows_why_the_plan_paused_a_key(client, tenants, write_key):
    set_plan(tenants["org"], "pro")
    key, raw = write_key  # the oldest: Free keeps it running
    second, _ = create_key(tenants["org"], name="second")
    third, _ = create_key(tenants["org"], name="third")
    set_plan(tenants["org"], "free")  # two keys: the newest is paused, not revoked

    def reasons() -> dict[int, str]:
        listed = client.get("/api/v1/keys", **bearer(raw))
        assert listed.status_code == 200
        return {k["id"]: k["paused_reason"] for k in listed.json()["results"]}

    paused = over_limit(tenants["org"], "api_keys")  # billing's wording: "Paused: the Free plan…"
    assert paused == "Paused: the Free plan allows 2 API keys."
    assert reasons() == {key.pk: "", second.pk: "", third.pk: paused}
    shown = client.get(f"/api/v1/keys/{third.pk}", **bearer(raw)).json()
    assert (shown["paused_reason"], shown["active"]) == (paused, True)  # usable once it fits
    set_plan(tenants["org"], "pro")
    assert set(reasons().values()) == {""}
