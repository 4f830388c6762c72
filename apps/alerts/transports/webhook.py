"""Generic webhook channel: POST JSON to the tenant's URL, signed per Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature`; docs/webhooks.md) with the channel's
own secret.

Config: `{"url": "https://…", "secret": "whsec_…"}` (`validate_config` generates the secret
when none is given). The body is `{"type": "alert.opened" | "alert.acknowledged" |
"alert.resolved" | "webhook.test", "timestamp", "data": {…}}`. The `webhook-id` is derived from
the notification, so a retried notification carries the same id and receivers can dedupe.
410 Gone (as for webhook endpoints) and a blocked URL are permanent.
"""
from __future__ import annotations

import hashlib
import time

from apps.alerts import outbound, signing
from apps.alerts.models import Event
from apps.alerts.notifications import Notification

from .base import (
    ConfigError,
    ConfigField,
    Delivery,
    Transport,
    check_user_url,
    encode_json,
    host,
    http_failure,
    post_json,
    raise_if,
)

USER_AGENT = "OraclePlatform-Webhooks/1"


def event_type(n: Notification) -> str:
    return str(Event.TEST) if n.kind == "test" else f"alert.{n.kind}"


def message_id(n: Notification) -> str:
    digest = hashlib.sha256(
        f"{n.dedup_key}\x00{n.kind}\x00{n.occurred_at.isoformat()}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


class WebhookTransport(Transport):
    kind = "webhook"
    label = "Generic webhook"
    config_fields = (
        ConfigField("url", "Webhook URL", "Public http(s) address; signed per Standard Webhooks.",
                    form_name="webhook_url"),
        ConfigField("secret", "Webhook signing secret",
                    "Optional whsec_… secret; one is generated when left empty.",
                    form_name="webhook_secret", secret=True, generated=True),
    )
    config_summary_fields = {"host": (str, "the URL's host (the path is secret)")}

    @classmethod
    def summary(cls, config: dict) -> list[tuple[str, str]]:
        return [("Host", host(config.get("url")) or "—"), ("Signing secret", "set (not shown)")]

    @classmethod
    def config_summary(cls, config: dict) -> dict:
        return {"host": host(config.get("url"))}

    @classmethod
    def validate_config(cls, config: dict) -> dict:
        errors: dict[str, str] = {}
        url = check_user_url(config.get("url"), errors)
        secret = config.get("secret") or signing.generate_secret()
        try:
            signing.sign([secret], "msg_check", 0, b"")
        except (TypeError, ValueError) as error:
            errors["secret"] = str(error)
        raise_if(errors)
        return {"url": url, "secret": secret}

    def body(self, n: Notification) -> dict:
        return {
            "type": event_type(n),
            "timestamp": n.occurred_at.isoformat(),
            "data": {
                "kind": n.kind, "title": n.title, "summary": n.summary,
                "severity": n.severity, "organization": n.organization,
                "subject": n.subject, "dedup_key": n.dedup_key,
                "occurred_at": n.occurred_at.isoformat(), "details": dict(n.details),
                "incident_url": n.incident_url, "ack_url": n.ack_url,
            },
        }

    def notify(self, notification: Notification) -> Delivery:
        url, secret = self._require("url", "secret")
        body = encode_json(self.body(notification))
        try:
            headers = signing.sign([secret], message_id(notification), int(time.time()), body)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"webhook channel secret: {error}") from None
        try:
            result = post_json(url, body, {"User-Agent": USER_AGENT, **headers})
        except outbound.OutboundBlocked as blocked:
            return Delivery.blocked(blocked)
        if result.ok:
            return Delivery.delivered()
        return http_failure(result, permanent=result.status == 410)
