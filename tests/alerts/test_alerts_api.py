"""/api/v1/alerts/: channels (credentials never shown), rules and incidents, scoped to the
caller's organization."""
import json

import pytest
from django.core import mail
from django.utils import timezone

from apps.alerts.models import Channel, Incident, IncidentEvent, Rule
from apps.alerts.services.channels import create_channel
from apps.alerts.services.rules import create_rule
from apps.api_keys.services import create_key
from tests.api.conftest import _fresh_api_state, bearer  # noqa: F401 (autouse: no rate limits)
from tests.factories import AssetFactory, PairFactory

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


@pytest.fixture
def writer(tenants):
    return create_key(tenants["org"], name="w", scope="read_write")[1]


@pytest.fixture
def writer_prefix(tenants, writer):
    return tenants["org"].api_keys.get(name="w").prefix


def call(client, method, path, raw, body=None):
    extra = {"content_type": "application/json"}
    if body is not None:
        extra["data"] = json.dumps(body)
    return getattr(client, method)(f"/api/v1/alerts/{path}", **extra, **bearer(raw))


def test_channels_are_created_listed_updated_and_deleted_without_their_secrets(client, writer):
    telegram = call(client, "post", "channels", writer, {
        "kind": "telegram", "name": "desk", "config": {"bot_token": BOT_TOKEN,
                                                       "chat_id": "-100123"}})
    assert telegram.status_code == 201, telegram.json()
    body = telegram.json()
    assert body["config_summary"] == {"chat_id": "-100123", "bot_token_last4": BOT_TOKEN[-4:]}
    pagerduty = call(client, "post", "channels", writer, {
        "kind": "pagerduty", "name": "on call", "config": {"routing_key": ROUTING_KEY}}).json()
    assert pagerduty["config_summary"] == {"routing_key_last4": "CDEF"}
    email = call(client, "post", "channels", writer, {
        "kind": "email", "name": "ops", "config": {"to": ["ops@example.com"]}}).json()
    assert email["config_summary"] == {"to": ["ops@example.com"]}

    listed = call(client, "get", "channels", writer)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["results"]] == [email["id"], pagerduty["id"],
                                                           body["id"]]
    for response in (telegram, listed, call(client, "get", f"channels/{body['id']}", writer)):
        text = response.content.decode()
        assert BOT_TOKEN not in text and BOT_TOKEN[:20] not in text and ROUTING_KEY not in text
        assert "config\"" not in text

    renamed = call(client, "put", f"channels/{body['id']}", writer,
                   {"name": "desk 2", "enabled": False})
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["enabled"]) == ("desk 2", False)
    channel = Channel.objects.get(pk=body["id"])
    assert json.loads(channel.config)["bot_token"] == BOT_TOKEN  # kept without a new config
    replaced = call(client, "put", f"channels/{body['id']}", writer, {
        "name": "desk 2", "config": {"bot_token": BOT_TOKEN[:-4] + "zzzz", "chat_id": "@desk"}})
    assert replaced.json()["config_summary"] == {"chat_id": "@desk", "bot_token_last4": "zzzz"}
    assert replaced.json()["enabled"] is True

    assert call(client, "delete", f"channels/{body['id']}", writer).status_code == 204
    assert not Channel.objects.filter(pk=body["id"]).exists()
    assert call(client, "get", f"channels/{body['id']}", writer).status_code == 404


def test_slack_and_webhook_channels_show_their_host_only(client, writer, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    slack = call(client, "post", "channels", writer, {
        "kind": "slack", "name": "s",
        "config": {"url": "http://127.0.0.1:9/services/T0/B0/sEcReT"}})
    assert slack.status_code == 201, slack.json()
    assert slack.json()["config_summary"] == {"host": "127.0.0.1"}
    hook = call(client, "post", "channels", writer, {
        "kind": "webhook", "name": "w", "config": {"url": "http://127.0.0.1:9/hook?token=sEcReT"}})
    assert hook.json()["config_summary"] == {"host": "127.0.0.1"}
    assert hook.json()["secret"].startswith("whsec_")  # the signing secret, this once
    for response in (slack, hook, call(client, "get", "channels", writer)):
        assert "sEcReT" not in response.content.decode()
    assert "whsec_" not in call(client, "get", "channels", writer).content.decode()


def test_channel_validation_errors_name_their_fields(client, writer):
    response = call(client, "post", "channels", writer,
                    {"kind": "email", "name": "ops", "config": {"to": ["not-an-address"]}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "config.to" in error["details"]
    response = call(client, "post", "channels", writer,
                    {"kind": "fax", "name": 5, "config": "x"})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"kind", "name", "config"}
    response = call(client, "post", "channels", writer, {"kind": "telegram", "name": "t",
                                                         "config": {"chat_id": "x y"}})
    assert set(response.json()["error"]["details"]) == {"config.bot_token", "config.chat_id"}
    assert not Channel.objects.exists()


def test_a_test_notification_to_an_email_channel(client, writer):
    channel = call(client, "post", "channels", writer, {
        "kind": "email", "name": "ops", "config": {"to": ["ops@example.com"]}}).json()
    mail.outbox.clear()
    response = call(client, "post", f"channels/{channel['id']}/test", writer)
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["permanent"] is False
    assert set(response.json()) == {"ok", "permanent", "retry_after", "detail"}
    [message] = mail.outbox
    assert message.to == ["ops@example.com"] and "Test notification" in message.subject


def test_rules_are_created_listed_updated_and_deleted(client, writer, tenants):
    PairFactory(base=AssetFactory(symbol="ETH"))
    channel = create_channel(tenants["org"], kind="email", name="ops",
                             config={"to": ["ops@example.com"]})
    created = call(client, "post", "rules", writer, {
        "name": "ETH above 3500", "kind": "price_above", "scope": "pair", "target": "ETH-USD",
        "params": {"price": "3500"}, "for_seconds": 30, "channels": [channel.pk]})
    assert created.status_code == 201, created.json()
    rule = created.json()
    assert {k: rule[k] for k in ("kind", "scope", "target", "params", "for_seconds",
                                 "resolve_after_seconds", "severity", "channels", "enabled")} == {
        "kind": "price_above", "scope": "pair", "target": "ETH-USD",
        "params": {"price": "3500"}, "for_seconds": 30, "resolve_after_seconds": 60,
        "severity": "warning", "channels": [channel.pk], "enabled": True}
    status_rule = call(client, "post", "rules", writer, {
        "name": "anything down", "kind": "status", "scope": "all", "enabled": False}).json()
    assert status_rule["params"] == {"statuses": ["stale", "down"]}
    assert status_rule["enabled"] is False and status_rule["target"] == ""

    listed = call(client, "get", "rules?limit=1", writer).json()
    assert [r["id"] for r in listed["results"]] == [status_rule["id"]] and listed["next"]
    assert call(client, "get", f"rules/{rule['id']}", writer).json() == rule

    updated = call(client, "put", f"rules/{rule['id']}", writer, {
        "name": "ETH below 3000", "kind": "price_below", "scope": "pair", "target": "ETH-USD",
        "params": {"price": "3000", "hysteresis_bps": "20"}, "severity": "critical",
        "channels": [], "enabled": False})
    assert updated.status_code == 200, updated.json()
    assert (updated.json()["kind"], updated.json()["params"], updated.json()["channels"],
            updated.json()["severity"], updated.json()["enabled"]) == (
        "price_below", {"price": "3000", "hysteresis_bps": "20"}, [], "critical", False)
    assert call(client, "delete", f"rules/{rule['id']}", writer).status_code == 204
    assert not Rule.objects.filter(pk=rule["id"]).exists()


def test_rule_validation_errors_name_their_fields(client, writer, tenants):
    theirs = create_channel(tenants["outsider_org"], kind="email", name="x",
                            config={"to": ["x@example.com"]})
    response = call(client, "post", "rules", writer, {
        "name": "r", "kind": "price_above", "scope": "pair", "target": "NOPE-USD",
        "params": {"price": "-1"}, "channels": [theirs.pk]})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"target", "params.price", "channels"}
    response = call(client, "post", "rules", writer, {
        "name": "r", "kind": "nope", "scope": "all", "for_seconds": "30", "enabled": "yes",
        "channels": ["1"]})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"kind", "for_seconds", "enabled",
                                                        "channels"}
    response = call(client, "post", "rules", writer, {
        "name": "r", "kind": "status", "scope": "all", "for_seconds": 10**9})
    assert "for_seconds" in response.json()["error"]["details"]
    assert not Rule.objects.exists()


def test_read_only_keys_read_but_cannot_write(client, tenants, writer):
    _, reader = create_key(tenants["org"], name="r")
    channel = create_channel(tenants["org"], kind="email", name="ops",
                             config={"to": ["ops@example.com"]})
    rule = create_rule(tenants["org"], name="r", kind="status", scope="all")
    incident = Incident.objects.create(rule=rule, organization=tenants["org"], subject="s",
                                       summary="down", opened_at=timezone.now())
    for method, path, body in (
            ("post", "channels", {"kind": "email", "name": "x",
                                  "config": {"to": ["a@example.com"]}}),
            ("put", f"channels/{channel.pk}", {"name": "x"}),
            ("delete", f"channels/{channel.pk}", None),
            ("post", f"channels/{channel.pk}/test", None),
            ("post", "rules", {"name": "x", "kind": "status", "scope": "all"}),
            ("put", f"rules/{rule.pk}", {"name": "x", "kind": "status", "scope": "all"}),
            ("delete", f"rules/{rule.pk}", None),
            ("post", f"incidents/{incident.pk}/acknowledge", None)):
        assert call(client, method, path, reader, body).status_code == 403, (method, path)
    for path in ("channels", f"channels/{channel.pk}", "rules", f"rules/{rule.pk}",
                 "incidents", f"incidents/{incident.pk}"):
        assert call(client, "get", path, reader).status_code == 200, path
    incident.refresh_from_db()
    assert incident.state == "open" and Channel.objects.get(pk=channel.pk).name == "ops"


def test_other_organizations_objects_are_invisible(client, writer, tenants):
    other = tenants["outsider_org"]
    channel = create_channel(other, kind="email", name="theirs",
                             config={"to": ["them@example.com"]})
    rule = create_rule(other, name="theirs", kind="status", scope="all")
    incident = Incident.objects.create(rule=rule, organization=other, subject="s",
                                       summary="down", opened_at=timezone.now())
    rule_body = {"name": "mine", "kind": "status", "scope": "all"}
    for method, path, body in (
            ("get", f"channels/{channel.pk}", None),
            ("put", f"channels/{channel.pk}", {"name": "mine"}),
            ("delete", f"channels/{channel.pk}", None),
            ("post", f"channels/{channel.pk}/test", None),
            ("get", f"rules/{rule.pk}", None),
            ("put", f"rules/{rule.pk}", rule_body),
            ("delete", f"rules/{rule.pk}", None),
            ("get", f"incidents/{incident.pk}", None),
            ("post", f"incidents/{incident.pk}/acknowledge", None)):
        response = call(client, method, path, writer, body)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    for path in ("channels", "rules", "incidents", f"incidents?rule={rule.pk}"):
        assert call(client, "get", path, writer).json()["results"] == [], path
    channel.refresh_from_db()
    incident.refresh_from_db()
    assert channel.name == "theirs" and incident.state == "open"
    assert Rule.objects.get(pk=rule.pk).name == "theirs"


@pytest.fixture
def incidents(tenants):
    now = timezone.now()
    rule = create_rule(tenants["org"], name="down", kind="status", scope="all")
    other_rule = create_rule(tenants["org"], name="late", kind="status", scope="all",
                             params={"statuses": ["late"]})
    opened = Incident.objects.create(rule=rule, organization=tenants["org"],
                                     subject="chainlink-eth-usd", summary="stale",
                                     value="stale", opened_at=now)
    IncidentEvent.objects.create(incident=opened, at=now, kind="opened", detail="stale")
    IncidentEvent.objects.create(incident=opened, at=now, kind="notified", detail="via ops")
    resolved = Incident.objects.create(rule=other_rule, organization=tenants["org"],
                                       subject="pyth-eth-usd", summary="late",
                                       state="resolved", opened_at=now, resolved_at=now)
    return rule, opened, resolved


def test_incidents_are_listed_filtered_and_shown_with_their_timeline(client, writer,
                                                                     incidents):
    rule, opened, resolved = incidents
    listed = call(client, "get", "incidents", writer).json()["results"]
    assert [i["id"] for i in listed] == [resolved.pk, opened.pk]
    assert listed[1]["rule_name"] == "down" and listed[1]["acknowledged_at"] is None
    assert "events" not in listed[0]
    open_only = call(client, "get", "incidents?state=open", writer).json()["results"]
    assert [i["id"] for i in open_only] == [opened.pk]
    by_rule = call(client, "get", f"incidents?rule={rule.pk}", writer).json()["results"]
    assert [i["id"] for i in by_rule] == [opened.pk]
    for bad in ("state=closed", "rule=abc", "rule=99999999999"):
        response = call(client, "get", f"incidents?{bad}", writer)
        assert response.status_code == 400, bad
        assert bad.split("=")[0] in response.json()["error"]["details"]
    detail = call(client, "get", f"incidents/{opened.pk}", writer).json()
    assert [(e["kind"], e["detail"]) for e in detail["events"]] == [
        ("opened", "stale"), ("notified", "via ops")]


def test_acknowledging_with_a_key_records_its_prefix(client, writer, writer_prefix,
                                                     incidents):
    _, opened, resolved = incidents
    response = call(client, "post", f"incidents/{opened.pk}/acknowledge", writer)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "acknowledged" and body["acknowledged_at"]
    assert body["events"][-1]["kind"] == "acknowledged"
    assert body["events"][-1]["detail"] == f"by API key {writer_prefix}"
    assert writer_prefix.startswith("op_live_")
    again = call(client, "post", f"incidents/{opened.pk}/acknowledge", writer).json()
    assert len(again["events"]) == len(body["events"])  # once only
    untouched = call(client, "post", f"incidents/{resolved.pk}/acknowledge", writer).json()
    assert untouched["state"] == "resolved" and untouched["events"] == []


def test_acknowledging_from_a_session_records_the_members_email(client, tenants, incidents):
    _, opened, _ = incidents
    client.force_login(tenants["member"])
    client.post("/orgs/switch/", {"organization": tenants["org"].slug})
    response = client.post(f"/api/v1/alerts/incidents/{opened.pk}/acknowledge")
    assert response.status_code == 200, response.content
    assert response.json()["events"][-1]["detail"] == f"by {tenants['member'].email}"


def test_a_webhook_channel_returns_its_secret_once_and_keeps_it_on_a_new_url(client, writer,
                                                                            settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    created = call(client, "post", "channels", writer,
                   {"kind": "webhook", "name": "hook",
                    "config": {"url": "http://127.0.0.1:9/a"}})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    channel_id = created.json()["id"]
    assert "secret" not in call(client, "get", f"channels/{channel_id}", writer).json()
    call(client, "put", f"channels/{channel_id}", writer,
         {"name": "hook", "enabled": True, "config": {"url": "http://127.0.0.1:9/b"}})
    config = json.loads(Channel.objects.get(pk=channel_id).config)
    assert config["url"].endswith("/b") and config["secret"] == secret
