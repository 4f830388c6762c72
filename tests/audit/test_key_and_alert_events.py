"""API keys, alert rules, channels, webhook endpoints and maintenance windows: every change is in
the audit log — made with a key it names the key (via api_key and its prefix), made in a session
it names the user — and no key, token or signing secret is ever in it."""
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import Channel, Event, WebhookEndpoint
from apps.alerts.services.channels import create_channel, disable_channel
from apps.alerts.services.delivery import deliver_webhooks
from apps.alerts.services.rules import create_rule
from apps.alerts.services.webhooks import create_endpoint, publish
from apps.api_keys.models import ApiKey
from apps.api_keys.services import create_key
from apps.audit.models import AuditEvent
from apps.billing.services import set_plan
from tests.alerts.receiver import Receiver
from tests.factories import AssetFactory, PairFactory

from .conftest import IP, api, encoded, last, stored_json

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
NEW_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDzzzz"


def _assert_by_key(event, key):
    assert (event.via, event.api_key, event.api_key_prefix, event.ip) == (
        "api_key", key, key.prefix, IP)
    assert (event.actor_user, event.actor_email) == (None, "")


# --- API keys -----------------------------------------------------------------------------------

def test_a_key_created_on_the_page_is_recorded_without_the_key(as_owner, tenants):
    response = as_owner.post(reverse("api_key_create", args=[tenants["org"].slug]),
                             {"name": "risk", "scope": "read"}, REMOTE_ADDR=IP)
    assert response.status_code == 200
    key = ApiKey.objects.get(name="risk")
    event = last("api_keys.created")
    assert (event.target_id, event.target_repr) == (str(key.pk), str(key))
    assert event.after == {"name": "risk", "prefix": key.prefix, "scope": "read",
                           "expires_at": None}
    assert (event.via, event.actor_user, event.ip) == ("session", tenants["owner"], IP)
    assert response.context["plaintext"] not in stored_json(event)
    assert key.digest not in stored_json(event)


def test_a_key_created_with_a_key_names_the_creating_key(client, writer):
    key, raw = writer
    response = api(client, "post", "keys", raw, {"name": "child", "scope": "read"})
    assert response.status_code == 201
    event = last("api_keys.created")
    assert event.target_repr.startswith("child ")
    _assert_by_key(event, key)
    assert response.json()["key"] not in stored_json(event) and raw not in stored_json(event)


def test_a_rotation_is_one_event_naming_the_replacement(client, writer):
    key, raw = writer
    response = api(client, "post", f"keys/{key.pk}/rotate", raw)
    assert response.status_code == 201
    event = last("api_keys.rotated")
    key.refresh_from_db()
    assert event.target_id == str(key.pk)
    assert (event.before, event.after) == (
        {"expires_at": None},
        {"expires_at": encoded(key.expires_at),
         "replaced_by": response.json()["prefix"]})
    _assert_by_key(event, key)
    assert response.json()["key"] not in stored_json(event)
    assert AuditEvent.objects.filter(action="api_keys.created").count() == 1  # the fixture's


def test_revoking_records_the_key_and_each_key_it_made(as_owner, tenants, writer):
    parent, _ = writer
    child, _ = create_key(tenants["org"], name="child", created_by_key=parent)
    url = reverse("api_key_revoke", args=[tenants["org"].slug, parent.pk])
    assert as_owner.post(url, REMOTE_ADDR=IP).status_code == 302
    events = AuditEvent.objects.filter(action="api_keys.revoked").order_by("id")
    assert [e.target_id for e in events] == [str(parent.pk), str(child.pk)]
    assert all(e.before == {"revoked_at": None} and e.after["revoked_at"] for e in events)
    assert all((e.via, e.actor_user, e.ip) == ("session", tenants["owner"], IP) for e in events)
    as_owner.post(url, REMOTE_ADDR=IP)  # already revoked: nothing changes, nothing recorded
    assert AuditEvent.objects.filter(action="api_keys.revoked").count() == 2


# --- alert rules --------------------------------------------------------------------------------

@pytest.fixture
def eth(db):
    return PairFactory(base=AssetFactory(symbol="ETH"))


RULE = {"name": "ETH above 3500", "kind": "price_above", "scope": "pair", "target": "ETH-USD",
        "params": {"price": "3500"}}


def test_a_rule_is_recorded_created_changed_paused_resumed_and_deleted(client, writer, eth):
    key, raw = writer
    rule_id = api(client, "post", "alerts/rules", raw, RULE).json()["id"]
    created = last("alert_rules.created")
    assert (created.target_id, created.target_repr, created.before) == (
        str(rule_id), "ETH above 3500", None)
    assert created.after == {**RULE, "for_seconds": 0, "resolve_after_seconds": 60,
                             "severity": "warning", "enabled": True, "channels": []}
    _assert_by_key(created, key)

    assert api(client, "put", f"alerts/rules/{rule_id}", raw,
               {**RULE, "params": {"price": "3600"}}).status_code == 200
    updated = last("alert_rules.updated")
    assert (updated.before, updated.after) == ({"params": {"price": "3500"}},
                                               {"params": {"price": "3600"}})
    api(client, "put", f"alerts/rules/{rule_id}", raw, {**RULE, "enabled": False})
    paused = last("alert_rules.paused")
    assert paused.after == {"enabled": False, "params": {"price": "3500"}}
    api(client, "put", f"alerts/rules/{rule_id}", raw, RULE)
    assert last("alert_rules.resumed").after == {"enabled": True}
    api(client, "put", f"alerts/rules/{rule_id}", raw, RULE)  # no change, no event
    assert AuditEvent.objects.filter(action__startswith="alert_rules.").count() == 4

    assert api(client, "delete", f"alerts/rules/{rule_id}", raw).status_code == 204
    deleted = last("alert_rules.deleted")
    assert (deleted.target_id, deleted.before["name"], deleted.after) == (
        str(rule_id), "ETH above 3500", None)
    _assert_by_key(deleted, key)


def test_a_rule_changed_in_a_session_names_the_member(as_owner, tenants, eth):
    rule = create_rule(tenants["org"], **RULE)
    response = as_owner.put(f"/api/v1/alerts/rules/{rule.pk}", {**RULE, "name": "renamed"},
                            content_type="application/json", REMOTE_ADDR=IP)
    assert response.status_code == 200
    event = last("alert_rules.updated")
    assert (event.before, event.after) == ({"name": "ETH above 3500"}, {"name": "renamed"})
    assert (event.via, event.actor_user, event.actor_email, event.ip) == (
        "session", tenants["owner"], tenants["owner"].email, IP)


def test_mute_and_escalation_changes_are_recorded(client, writer, tenants, eth):
    key, raw = writer
    rule = create_rule(tenants["org"], **RULE)
    channel = create_channel(tenants["org"], kind="email", name="ops",
                             config={"to": ["ops@example.com"]})
    until = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    api(client, "put", f"alerts/rules/{rule.pk}/mute", raw, {"until": until.isoformat()})
    muted = last("alert_rules.muted")
    assert (muted.before, muted.after) == ({"muted_until": None},
                                           {"muted_until": encoded(until)})
    _assert_by_key(muted, key)
    api(client, "put", f"alerts/rules/{rule.pk}/mute", raw, {"until": None})
    assert last("alert_rules.unmuted").after == {"muted_until": None}
    api(client, "put", f"alerts/rules/{rule.pk}/escalation", raw,
        {"channels": [channel.pk], "after_minutes": 15})
    escalation = last("alert_rules.escalation_changed")
    assert (escalation.before, escalation.after) == (
        {"after_minutes": 0, "channels": []}, {"after_minutes": 15, "channels": ["ops"]})
    _assert_by_key(escalation, key)


# --- channels -----------------------------------------------------------------------------------

TELEGRAM = {"kind": "telegram", "name": "desk",
            "config": {"bot_token": BOT_TOKEN, "chat_id": "-100123"}}


def test_a_channel_is_recorded_without_its_credentials(client, writer, tenants):
    key, raw = writer
    set_plan(tenants["org"], "pro")  # Telegram channels are a Pro feature
    channel_id = api(client, "post", "alerts/channels", raw, TELEGRAM).json()["id"]
    created = last("channels.created")
    assert created.after == {"name": "desk", "kind": "telegram", "enabled": True,
                             "chat_id": "-100123"}
    _assert_by_key(created, key)

    api(client, "put", f"alerts/channels/{channel_id}", raw, {
        "name": "desk", "config": {"bot_token": NEW_TOKEN, "chat_id": "-100123"}})
    updated = last("channels.updated")
    assert (updated.before, updated.after) == ({}, {"secrets_changed": ["bot_token"]})
    api(client, "put", f"alerts/channels/{channel_id}", raw, {"name": "desk", "enabled": False})
    assert last("channels.disabled").after == {"enabled": False}
    api(client, "put", f"alerts/channels/{channel_id}", raw, {"name": "desk 2"})
    assert last("channels.enabled").after == {"enabled": True, "name": "desk 2"}
    assert api(client, "delete", f"alerts/channels/{channel_id}", raw).status_code == 204
    deleted = last("channels.deleted")
    assert deleted.before["name"] == "desk 2" and deleted.target_id == str(channel_id)

    for event in AuditEvent.objects.filter(action__startswith="channels."):
        text = stored_json(event)
        assert BOT_TOKEN not in text and NEW_TOKEN not in text and BOT_TOKEN[-4:] not in text


def test_a_channel_disabled_by_a_permanent_failure_is_recorded_as_the_system(tenants):
    set_plan(tenants["org"], "pro")
    channel = create_channel(tenants["org"], **TELEGRAM)
    assert disable_channel(channel, "401 Unauthorized: the bot token was revoked")
    event = last("channels.disabled")
    assert (event.via, event.actor_user, event.api_key, event.ip) == ("system", None, None, None)
    assert event.after == {"enabled": False,
                           "disabled_reason": "401 Unauthorized: the bot token was revoked"}
    assert not disable_channel(Channel.objects.get(pk=channel.pk), "again")
    assert AuditEvent.objects.filter(action="channels.disabled").count() == 1


# --- webhook endpoints --------------------------------------------------------------------------

def test_a_webhook_endpoint_is_recorded_without_its_signing_secrets(client, writer, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    key, raw = writer
    body = {"url": "http://127.0.0.1:9/in", "events": ["alert.opened"]}
    created = api(client, "post", "webhooks", raw, body).json()
    endpoint_id, secrets = created["id"], [created["secret"]]
    event = last("webhook_endpoints.created")
    assert event.after == {"url": "http://127.0.0.1:9/in", "description": "",
                           "events": ["alert.opened"], "pairs": [], "enabled": True}
    _assert_by_key(event, key)

    api(client, "put", f"webhooks/{endpoint_id}", raw, {**body, "description": "desk"})
    assert last("webhook_endpoints.updated").after == {"description": "desk"}
    api(client, "put", f"webhooks/{endpoint_id}", raw, {**body, "enabled": False})
    assert last("webhook_endpoints.disabled").after == {"description": "", "enabled": False}
    api(client, "put", f"webhooks/{endpoint_id}", raw, body)
    assert last("webhook_endpoints.enabled").after == {"enabled": True}
    rotated = api(client, "post", f"webhooks/{endpoint_id}/rotate-secret", raw).json()
    secrets.append(rotated["secret"])
    event = last("webhook_endpoints.secret_rotated")
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert event.after == {"previous_secret_valid_until": encoded(endpoint.previous_secret_until)}
    _assert_by_key(event, key)
    assert api(client, "delete", f"webhooks/{endpoint_id}", raw).status_code == 204
    assert last("webhook_endpoints.deleted").before["url"] == "http://127.0.0.1:9/in"

    for event in AuditEvent.objects.filter(action__startswith="webhook_endpoints."):
        assert not any(secret in stored_json(event) for secret in secrets)
        assert "whsec_" not in stored_json(event)


def test_an_endpoint_disabled_by_a_410_is_recorded_as_the_system(tenants, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    try:
        endpoint = create_endpoint(tenants["org"], url=f"{receiver.url}/in",
                                   events=[Event.ALERT_OPENED])
        receiver.statuses = [410]
        with transaction.atomic():
            publish(tenants["org"].pk, Event.ALERT_OPENED, {"incident": 1})
        deliver_webhooks()
    finally:
        receiver.close()
    event = last("webhook_endpoints.disabled")
    assert (event.target_id, event.via, event.actor_user, event.api_key) == (
        str(endpoint.pk), "system", None, None)
    assert event.after == {"enabled": False, "disabled_reason": "the receiver answered 410 Gone"}


# --- maintenance windows ------------------------------------------------------------------------

def test_maintenance_windows_are_recorded_created_and_deleted(client, writer):
    key, raw = writer
    starts = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "reason": "node upgrade"}
    window_id = api(client, "post", "alerts/maintenance-windows", raw, body).json()["id"]
    created = last("maintenance_windows.created")
    expected = {"starts_at": encoded(starts), "ends_at": encoded(starts + timedelta(hours=2)),
                "reason": "node upgrade"}
    assert (created.target_id, created.after) == (str(window_id), expected)
    _assert_by_key(created, key)
    assert api(client, "delete", f"alerts/maintenance-windows/{window_id}",
               raw).status_code == 204
    deleted = last("maintenance_windows.deleted")
    assert (deleted.target_id, deleted.before, deleted.after) == (str(window_id), expected, None)
    _assert_by_key(deleted, key)
