"""PagerDuty Events API v2: `POST {OP_PAGERDUTY_EVENTS_URL}` (https://events.pagerduty.com/v2/
enqueue) with `event_action` trigger / acknowledge / resolve, all under the incident's
`dedup_key` so PagerDuty folds them into one PagerDuty incident.

Config: `{"routing_key": "<32-character integration key>"}`. PagerDuty answers 202; 400 (an
invalid event or routing key) is permanent; 429 and 5xx are transient.
"""
from __future__ import annotations

import json
import re

from django.conf import settings

from apps.alerts import outbound
from apps.alerts.notifications import Notification

from .base import ConfigField, Delivery, Transport, http_failure, last4, masked, post_json, raise_if

ROUTING_KEY_RE = re.compile(r"[A-Za-z0-9]{32}")
ACTIONS = {"opened": "trigger", "test": "trigger", "acknowledged": "acknowledge",
           "resolved": "resolve"}
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


class PagerDutyTransport(Transport):
    kind = "pagerduty"
    label = "PagerDuty"
    config_fields = (
        ConfigField("routing_key", "PagerDuty routing key",
                    "The 32-character integration key of an Events API v2 integration.",
                    max_length=100, secret=True),
    )
    config_summary_fields = {"routing_key_last4": (str, "the routing key's last 4")}
    # PagerDuty groups by dedup key itself, and its trigger, acknowledge and resolve must share
    # one: it gets an event per incident.
    per_incident = True

    @classmethod
    def summary(cls, config: dict) -> list[tuple[str, str]]:
        return [("Routing key", masked(config.get("routing_key")))]

    @classmethod
    def config_summary(cls, config: dict) -> dict:
        return {"routing_key_last4": last4(config.get("routing_key"))}

    @classmethod
    def validate_config(cls, config: dict) -> dict:
        key = str(config.get("routing_key") or "").strip()
        if not key:
            raise_if({"routing_key": "Enter the integration key of an Events API v2 "
                                     "integration."})
        if not ROUTING_KEY_RE.fullmatch(key):
            raise_if({"routing_key": "An integration (routing) key is 32 letters and digits."})
        return {"routing_key": key}

    def event(self, n: Notification) -> dict:
        (routing_key,) = self._require("routing_key")
        action = ACTIONS[n.kind]
        event: dict = {"routing_key": routing_key, "event_action": action,
                       "dedup_key": n.dedup_key[:MAX_DEDUP_KEY]}
        if action != "trigger":
            return event
        summary = f"{n.headline}: {n.summary}" if n.summary else n.headline
        if len(summary) > MAX_SUMMARY:
            summary = summary[: MAX_SUMMARY - 1] + "…"
        event["payload"] = {
            "summary": summary,
            "source": n.subject,
            "severity": n.severity,  # critical / warning / info are PagerDuty severities too
            "timestamp": n.occurred_at.isoformat(),
            "component": n.subject,
            "group": n.organization,
            "class": "test" if n.kind == "test" else n.details.get("rule", "oracle-alert"),
            "custom_details": {"title": n.title, "summary": n.summary, **n.details},
        }
        event["client"] = "Oracle Platform"
        if n.incident_url:
            event["client_url"] = n.incident_url
        links = [{"href": url, "text": text}
                 for text, url in (("Open incident", n.incident_url),
                                   ("Acknowledge in Oracle Platform", n.ack_url)) if url]
        if links:
            event["links"] = links
        return event

    def notify(self, notification: Notification) -> Delivery:
        event = self.event(notification)
        try:
            result = post_json(settings.OP_PAGERDUTY_EVENTS_URL, event)
        except outbound.OutboundBlocked as blocked:
            return Delivery.blocked(blocked)
        if result.ok:
            return Delivery.delivered()
        detail = ""
        try:
            reply = json.loads(result.snippet)
            errors = "; ".join(str(e) for e in reply.get("errors") or [])
            detail = f"PagerDuty {result.status}: {reply.get('message', '')} {errors}".strip()
        except (ValueError, AttributeError):
            pass
        return http_failure(result, permanent=result.status == 400, detail=detail)
