"""Alert transports: each channel kind against a local HTTP receiver speaking the vendor's wire
format (Telegram Bot API, Slack incoming webhooks, PagerDuty Events API v2, signed generic
webhooks) and email through Django's outbox; permanent failures disable the channel."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from apps.alerts import signing
from apps.alerts.models import Channel
from apps.alerts.notifications import Notification, test_notification
from apps.alerts.services.channels import notify_channel, send_test_notification
from apps.alerts.transports import TRANSPORTS, transport_for
from apps.alerts.transports.email import EmailTransport
from apps.alerts.transports.pagerduty import PagerDutyTransport
from apps.alerts.transports.slack import SlackTransport
from apps.alerts.transports.telegram import TelegramTransport
from apps.alerts.transports.webhook import WebhookTransport
from tests.factories import MembershipFactory

from .receiver import Received

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ra"
ROUTING_KEY = "R0UT1NGK3Y0123456789abcdefABCDEF"  # 32 characters


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


class VendorReceiver:
    """Like `receiver.Receiver`, but each reply can carry a body (vendors answer JSON)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Received] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(Received(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length)))
                reply = outer.replies.pop(0) if outer.replies else Reply()
                body = reply.body
                if isinstance(body, dict):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index].body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    receiver = VendorReceiver()
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OP_TELEGRAM_API_URL = receiver.url
    settings.OP_PAGERDUTY_EVENTS_URL = f"{receiver.url}/v2/enqueue"
    settings.OP_OUTBOUND_TIMEOUT = 2.0
    yield receiver
    receiver.close()


@pytest.fixture
def admin(tenants):
    return MembershipFactory(organization=tenants["org"], role="admin").user


def channel(tenants, kind: str, **config) -> Channel:
    return Channel.objects.create(organization=tenants["org"], kind=kind, name=f"My {kind}",
                                  config=json.dumps(config))


def incident(kind: str = "opened", **overrides) -> Notification:
    fields = {
        "kind": kind,
        "title": "ETH-USD deviates 3.2% from consensus",
        "summary": "Chainlink <ETH/USD> on Ethereum & Arbitrum reads 3,210.55 vs 3,110.02",
        "severity": "critical",
        "organization": "Acme Risk",
        "subject": "chainlink-ethereum-eth-usd",
        "dedup_key": "incident-42",
        "occurred_at": datetime(2026, 11, 26, 18, 54, 3, tzinfo=UTC),
        "details": {"Feed price": "3210.55", "Consensus": "3110.02", "rule": "deviation"},
        "incident_url": "https://oracle.example.com/alerts/incidents/42",
        "ack_url": "https://oracle.example.com/alerts/ack/42?sig=abc&exp=1",
    }
    fields.update(overrides)
    return Notification(**fields)


def assert_disabled_and_org_told(ch: Channel, tenants, admin, reason_part: str) -> None:
    ch.refresh_from_db()
    assert not ch.enabled and reason_part in ch.disabled_reason
    [message] = mail.outbox
    assert "Alert channel disabled" in message.subject and ch.name in message.body
    assert set(message.to) == {tenants["owner"].email, admin.email}  # not plain members


# --- the interface -------------------------------------------------------------------------------

def test_every_channel_kind_has_a_transport_built_from_its_json_config(tenants):
    assert set(TRANSPORTS) == set(Channel.Kind.values)
    ch = channel(tenants, "telegram", bot_token=TOKEN, chat_id="-100123")
    ch.refresh_from_db()  # through the encrypted field
    transport = transport_for(ch)
    assert isinstance(transport, TelegramTransport)
    assert transport.config == {"bot_token": TOKEN, "chat_id": "-100123"}


def test_a_notification_needs_a_known_kind_severity_and_an_aware_time():
    with pytest.raises(ValueError, match="kind"):
        incident(kind="closed")
    with pytest.raises(ValueError, match="severity"):
        incident(severity="error")
    with pytest.raises(ValueError, match="aware"):
        incident(occurred_at=datetime(2026, 1, 1))


def test_the_test_notification_names_the_organization_and_has_a_fresh_dedup_key():
    first, second = test_notification("Acme Risk"), test_notification("Acme Risk")
    assert first.kind == "test" and first.severity == "info"
    assert "Acme Risk" in first.summary and first.organization == "Acme Risk"
    assert first.dedup_key != second.dedup_key and first.occurred_at.tzinfo is not None


# --- Telegram ------------------------------------------------------------------------------------

def test_telegram_posts_send_message_with_escaped_html(tenants, receiver):
    ch = channel(tenants, "telegram", bot_token=TOKEN, chat_id="-1001234567890")
    receiver.replies = [Reply(200, {"ok": True, "result": {"message_id": 7}})]
    delivery = notify_channel(ch, incident())
    assert delivery.ok
    [request] = receiver.requests
    assert request.method == "POST" and request.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/json"
    sent = receiver.json()
    assert set(sent) == {"chat_id", "text", "parse_mode", "disable_web_page_preview"}
    assert sent["chat_id"] == "-1001234567890"
    assert sent["parse_mode"] == "HTML" and sent["disable_web_page_preview"] is True
    text = sent["text"]
    assert "Chainlink &lt;ETH/USD&gt; on Ethereum &amp; Arbitrum" in text
    assert "<ETH/USD>" not in text and " & " not in text
    assert "<b>[CRITICAL] ETH-USD deviates 3.2% from consensus</b>" in text
    assert "<b>Feed price:</b> 3210.55" in text
    assert ('<a href="https://oracle.example.com/alerts/ack/42?sig=abc&amp;exp=1">Acknowledge</a>'
            in text)


def test_telegram_bot_blocked_by_the_user_disables_the_channel_and_tells_the_org(
        tenants, admin, receiver, django_capture_on_commit_callbacks):
    ch = channel(tenants, "telegram", bot_token=TOKEN, chat_id="42")
    receiver.replies = [Reply(403, {"ok": False, "error_code": 403,
                                    "description": "Forbidden: bot was blocked by the user"})]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = notify_channel(ch, incident())
    assert not delivery.ok and delivery.permanent
    assert "bot was blocked by the user" in delivery.detail
    assert_disabled_and_org_told(ch, tenants, admin, "bot was blocked")


def test_telegram_chat_not_found_is_permanent(tenants, receiver):
    ch = channel(tenants, "telegram", bot_token=TOKEN, chat_id="42")
    receiver.replies = [Reply(400, {"ok": False, "error_code": 400,
                                    "description": "Bad Request: chat not found"})]
    assert notify_channel(ch, incident()).permanent
    ch.refresh_from_db()
    assert not ch.enabled


def test_telegram_429_is_transient_and_reports_retry_after(tenants, receiver):
    ch = channel(tenants, "telegram", bot_token=TOKEN, chat_id="42")
    receiver.replies = [Reply(429, {"ok": False, "error_code": 429,
                                    "description": "Too Many Requests: retry after 17",
                                    "parameters": {"retry_after": 17}})]
    delivery = notify_channel(ch, incident())
    assert not delivery.ok and not delivery.permanent and delivery.retry_after == 17
    ch.refresh_from_db()
    assert ch.enabled and not mail.outbox


# --- Slack ---------------------------------------------------------------------------------------

def test_slack_posts_block_kit_with_an_acknowledge_button(tenants, receiver):
    ch = channel(tenants, "slack", url=f"{receiver.url}/services/T000/B000/XXXX")
    assert notify_channel(ch, incident()).ok
    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/services/T000/B000/XXXX"
    assert request.headers["content-type"] == "application/json"
    sent = receiver.json()
    assert sent["text"].startswith("🔴 [CRITICAL] ETH-USD deviates 3.2% from consensus")
    assert "&lt;ETH/USD&gt;" in sent["text"]
    header, section, context, actions = sent["blocks"]
    assert header == {"type": "header", "text": {
        "type": "plain_text", "text": "🔴 [CRITICAL] ETH-USD deviates 3.2% from consensus",
        "emoji": True}}
    assert section["type"] == "section"
    assert section["text"]["text"] == ("Chainlink &lt;ETH/USD&gt; on Ethereum &amp; Arbitrum "
                                       "reads 3,210.55 vs 3,110.02")
    assert {"type": "mrkdwn", "text": "*Feed price*\n3210.55"} in section["fields"]
    assert {"type": "mrkdwn", "text": "*Severity*\nCritical"} in section["fields"]
    assert context["type"] == "context" and "incident-42" in context["elements"][0]["text"]
    assert actions["type"] == "actions"
    ack, open_incident = actions["elements"]
    assert ack["type"] == "button" and ack["text"]["text"] == "Acknowledge"
    assert ack["url"] == "https://oracle.example.com/alerts/ack/42?sig=abc&exp=1"
    assert open_incident["url"] == "https://oracle.example.com/alerts/incidents/42"


def test_a_resolved_slack_message_has_no_acknowledge_button(tenants, receiver):
    ch = channel(tenants, "slack", url=f"{receiver.url}/hook")
    assert notify_channel(ch, incident("resolved")).ok
    blocks = receiver.json()["blocks"]
    assert blocks[0]["text"]["text"] == "✅ Resolved: ETH-USD deviates 3.2% from consensus"
    assert [b["text"]["text"] for b in blocks[-1]["elements"]] == ["Open incident"]


def test_slack_no_service_disables_the_channel_and_tells_the_org(
        tenants, admin, receiver, django_capture_on_commit_callbacks):
    ch = channel(tenants, "slack", url=f"{receiver.url}/hook")
    receiver.replies = [Reply(404, "no_service")]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = notify_channel(ch, incident())
    assert delivery.permanent and delivery.detail == "Slack 404: no_service"
    assert_disabled_and_org_told(ch, tenants, admin, "no_service")


@pytest.mark.parametrize(("reply", "retry_after"), [
    (Reply(429, "rate_limited", {"Retry-After": "30"}), 30.0),
    (Reply(500, "internal_error"), None),
    (Reply(503, ""), None),
])
def test_slack_rate_limits_and_server_errors_are_transient(tenants, receiver, reply,
                                                           retry_after):
    ch = channel(tenants, "slack", url=f"{receiver.url}/hook")
    receiver.replies = [reply]
    delivery = notify_channel(ch, incident())
    assert not delivery.ok and not delivery.permanent and delivery.retry_after == retry_after
    ch.refresh_from_db()
    assert ch.enabled and not mail.outbox


def test_the_ssrf_guard_refuses_a_slack_url_on_a_private_address(tenants, receiver, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []
    ch = channel(tenants, "slack", url=f"{receiver.url}/hook")
    delivery = notify_channel(ch, incident())
    assert delivery.permanent and "blocked" in delivery.detail and "loopback" in delivery.detail
    assert receiver.requests == []
    ch.refresh_from_db()
    assert not ch.enabled
    with pytest.raises(ValidationError) as error:
        SlackTransport.validate_config({"url": "http://10.1.2.3/services/T/B/X"})
    assert "private" in error.value.message_dict["url"][0]


# --- PagerDuty -----------------------------------------------------------------------------------

def test_pagerduty_trigger_acknowledge_resolve_share_the_dedup_key(tenants, receiver):
    ch = channel(tenants, "pagerduty", routing_key=ROUTING_KEY)
    receiver.replies = [Reply(202, {"status": "success", "message": "Event processed",
                                    "dedup_key": "incident-42"})] * 3
    for kind in ("opened", "acknowledged", "resolved"):
        assert notify_channel(ch, incident(kind)).ok
    assert [r.path for r in receiver.requests] == ["/v2/enqueue"] * 3
    assert all(r.headers["content-type"] == "application/json" for r in receiver.requests)
    trigger, ack, resolve = (receiver.json(i) for i in range(3))
    assert trigger["routing_key"] == ROUTING_KEY and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == ack["dedup_key"] == resolve["dedup_key"] == "incident-42"
    payload = trigger["payload"]
    assert payload["summary"].startswith("[CRITICAL] ETH-USD deviates 3.2% from consensus: ")
    assert payload["source"] == "chainlink-ethereum-eth-usd"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-11-26T18:54:03+00:00"
    assert payload["component"] == "chainlink-ethereum-eth-usd"
    assert payload["group"] == "Acme Risk" and payload["class"] == "deviation"
    assert payload["custom_details"]["Feed price"] == "3210.55"
    assert {"href": "https://oracle.example.com/alerts/incidents/42",
            "text": "Open incident"} in trigger["links"]
    assert ack == {"routing_key": ROUTING_KEY, "event_action": "acknowledge",
                   "dedup_key": "incident-42"}
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                       "dedup_key": "incident-42"}


def test_pagerduty_summary_is_cut_to_1024_characters(tenants, receiver):
    ch = channel(tenants, "pagerduty", routing_key=ROUTING_KEY)
    receiver.replies = [Reply(202, {"status": "success"})]
    assert notify_channel(ch, incident(summary="x" * 5000, severity="warning")).ok
    payload = receiver.json()["payload"]
    assert len(payload["summary"]) == 1024 and payload["severity"] == "warning"


def test_pagerduty_400_disables_the_channel_and_tells_the_org(
        tenants, admin, receiver, django_capture_on_commit_callbacks):
    ch = channel(tenants, "pagerduty", routing_key=ROUTING_KEY)
    receiver.replies = [Reply(400, {"status": "invalid event", "message": "Event object is invalid",
                                    "errors": ["Length of 'routing_key' is incorrect"]})]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = notify_channel(ch, incident())
    assert delivery.permanent and "routing_key" in delivery.detail
    assert_disabled_and_org_told(ch, tenants, admin, "PagerDuty 400")


def test_pagerduty_429_and_5xx_are_transient(tenants, receiver):
    ch = channel(tenants, "pagerduty", routing_key=ROUTING_KEY)
    receiver.replies = [Reply(429, "", {"Retry-After": "5"}), Reply(502, "")]
    first, second = notify_channel(ch, incident()), notify_channel(ch, incident())
    assert not first.permanent and first.retry_after == 5
    assert not second.ok and not second.permanent
    ch.refresh_from_db()
    assert ch.enabled


# --- the generic webhook -------------------------------------------------------------------------

def test_the_webhook_channel_posts_signed_json(tenants, receiver):
    config = WebhookTransport.validate_config({"url": f"{receiver.url}/alerts?src=op"})
    assert config["secret"].startswith("whsec_")
    ch = channel(tenants, "webhook", **config)
    assert notify_channel(ch, incident()).ok
    [request] = receiver.requests
    assert request.path == "/alerts?src=op"
    assert request.headers["content-type"] == "application/json"
    signing.verify(config["secret"], request.headers, request.body)
    sent = json.loads(request.body)
    assert sent["type"] == "alert.opened"
    assert sent["timestamp"] == "2026-11-26T18:54:03+00:00"
    assert sent["data"]["dedup_key"] == "incident-42"
    assert sent["data"]["details"] == {"Feed price": "3210.55", "Consensus": "3110.02",
                                       "rule": "deviation"}
    assert sent["data"]["ack_url"] == "https://oracle.example.com/alerts/ack/42?sig=abc&exp=1"


def test_a_retried_webhook_notification_keeps_its_webhook_id(tenants, receiver):
    ch = channel(tenants, "webhook", url=f"{receiver.url}/a", secret=signing.generate_secret())
    receiver.replies = [Reply(500)]
    assert not notify_channel(ch, incident()).ok
    assert notify_channel(ch, incident()).ok
    notify_channel(ch, incident("resolved"))
    first, retry, resolved = (r.headers["webhook-id"] for r in receiver.requests)
    assert first == retry != resolved
    assert json.loads(receiver.requests[2].body)["type"] == "alert.resolved"


def test_a_webhook_answering_410_gone_is_disabled(tenants, receiver):
    ch = channel(tenants, "webhook", url=f"{receiver.url}/a", secret=signing.generate_secret())
    receiver.replies = [Reply(410, "gone")]
    assert notify_channel(ch, incident()).permanent
    ch.refresh_from_db()
    assert not ch.enabled


def test_a_network_error_is_transient(tenants, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    closed = VendorReceiver()
    url = f"{closed.url}/a"
    closed.close()  # nothing listens there any more
    ch = channel(tenants, "webhook", url=url, secret=signing.generate_secret())
    delivery = notify_channel(ch, incident())
    assert not delivery.ok and not delivery.permanent and delivery.detail
    ch.refresh_from_db()
    assert ch.enabled


# --- email ---------------------------------------------------------------------------------------

def test_email_goes_to_the_configured_recipients_as_text_and_html(tenants):
    ch = channel(tenants, "email", to=["ops@example.com", "oncall@example.org"])
    assert notify_channel(ch, incident()).ok
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "oncall@example.org"]
    assert message.subject == "[CRITICAL] ETH-USD deviates 3.2% from consensus — Acme Risk"
    assert "Chainlink <ETH/USD> on Ethereum & Arbitrum" in message.body  # plain text: verbatim
    assert "Feed price: 3210.55" in message.body
    assert "Acknowledge: https://oracle.example.com/alerts/ack/42?sig=abc&exp=1" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Chainlink &lt;ETH/USD&gt; on Ethereum &amp; Arbitrum" in html
    assert 'href="https://oracle.example.com/alerts/ack/42?sig=abc&amp;exp=1"' in html
    assert "<link" not in html and "<img" not in html and "<script" not in html
    assert message.extra_headers["References"] == "<incident-42.alerts@oracle-platform>"


def test_send_test_notification_reaches_the_channel(tenants):
    ch = channel(tenants, "email", to=["ops@example.com"])
    assert send_test_notification(ch).ok
    [message] = mail.outbox
    assert message.subject == "Test notification from Oracle Platform — Acme Risk"
    assert "Acknowledge" not in message.body


# --- failures around the transports --------------------------------------------------------------

def test_a_disabled_channel_is_not_notified(tenants, receiver):
    ch = channel(tenants, "slack", url=f"{receiver.url}/hook")
    ch.enabled, ch.disabled_reason = False, "Slack 404: no_service"
    ch.save()
    delivery = notify_channel(ch, incident())
    assert not delivery.ok and receiver.requests == []


def test_an_unreadable_config_disables_the_channel(tenants, admin,
                                                   django_capture_on_commit_callbacks):
    ch = Channel.objects.create(organization=tenants["org"], kind="telegram", name="Broken",
                                config="not json")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = notify_channel(ch, incident())
    assert delivery.permanent
    assert_disabled_and_org_told(ch, tenants, admin, "configuration")


def test_a_channel_is_disabled_and_the_org_told_only_once(
        tenants, admin, receiver, django_capture_on_commit_callbacks):
    ch = channel(tenants, "slack", url=f"{receiver.url}/hook")
    stale_copy = Channel.objects.get(pk=ch.pk)
    receiver.replies = [Reply(410, "channel_is_archived"), Reply(410, "channel_is_archived")]
    with django_capture_on_commit_callbacks(execute=True):
        notify_channel(ch, incident())
        send_test_notification(stale_copy)  # a concurrent worker with an older copy
    assert len(mail.outbox) == 1


# --- config validation ---------------------------------------------------------------------------

def test_telegram_config_needs_a_token_and_a_chat_id():
    with pytest.raises(ValidationError) as error:
        TelegramTransport.validate_config({"chat_id": "42"})
    assert set(error.value.message_dict) == {"bot_token"}
    with pytest.raises(ValidationError) as error:
        TelegramTransport.validate_config({"bot_token": "123/../../x", "chat_id": "hello"})
    assert set(error.value.message_dict) == {"bot_token", "chat_id"}
    assert TelegramTransport.validate_config({"bot_token": f" {TOKEN} ", "chat_id": -100123}) \
        == {"bot_token": TOKEN, "chat_id": "-100123"}


@pytest.mark.parametrize("key", ["", "short", ROUTING_KEY[:31], ROUTING_KEY + "0",
                                 ROUTING_KEY[:31] + "-"])
def test_pagerduty_routing_key_must_be_32_letters_and_digits(key):
    with pytest.raises(ValidationError) as error:
        PagerDutyTransport.validate_config({"routing_key": key})
    assert "routing_key" in error.value.message_dict


def test_a_32_character_routing_key_is_accepted():
    assert PagerDutyTransport.validate_config({"routing_key": ROUTING_KEY}) == {
        "routing_key": ROUTING_KEY}


def test_email_config_rejects_bad_addresses_and_dedupes():
    for bad in ({}, {"to": []}, {"to": ["ops@example.com", "not-an-address"]},
                {"to": [f"u{i}@example.com" for i in range(11)]}):
        with pytest.raises(ValidationError) as error:
            EmailTransport.validate_config(bad)
        assert "to" in error.value.message_dict
    assert EmailTransport.validate_config({"to": "ops@example.com, OPS@example.com; b@x.io"}) \
        == {"to": ["ops@example.com", "b@x.io"]}


@pytest.mark.parametrize("transport", [SlackTransport, WebhookTransport])
@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest",
                                 "http://192.168.1.10/x", "ftp://example.com/x", ""])
def test_user_urls_on_private_addresses_are_refused(transport, url, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError) as error:
        transport.validate_config({"url": url, "secret": signing.generate_secret()})
    assert "url" in error.value.message_dict


def test_a_webhook_secret_must_be_a_standard_webhooks_secret():
    with pytest.raises(ValidationError) as error:
        WebhookTransport.validate_config({"url": "http://127.0.0.1/x", "secret": "hunter2"})
    assert "secret" in error.value.message_dict


def test_notifications_are_immutable():
    with pytest.raises(AttributeError):
        incident().title = "changed"  # type: ignore[misc]
    assert replace(incident(), kind="resolved").dedup_key == "incident-42"
