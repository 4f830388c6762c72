"""Slack incoming webhook: POST Block Kit JSON (with `text` as the notification fallback) to the
tenant's `https://hooks.slack.com/services/…` URL.

Config: `{"url": "https://hooks.slack.com/services/T…/B…/…"}` (any URL that passes the SSRF
check, so Slack-compatible receivers work too). Slack answers 200 "ok"; 403 `invalid_token` /
`action_prohibited`, 404 `no_service` / `channel_not_found` and 410 `channel_is_archived` are
permanent; 400 (`invalid_payload`, `no_text`: our message) is not, nor are 429 and 5xx.
"""
from __future__ import annotations

from apps.alerts import outbound
from apps.alerts.notifications import Notification

from .base import (
    ConfigField,
    Delivery,
    Transport,
    check_user_url,
    host,
    http_failure,
    post_json,
    raise_if,
)

PERMANENT_STATUSES = (403, 404, 410)
PERMANENT_ERRORS = ("invalid_token", "action_prohibited", "no_service", "channel_not_found",
                    "channel_is_archived", "no_team", "team_disabled",
                    "posting_to_general_channel_denied")


def _mrkdwn(text: object, limit: int = 2900) -> str:
    """Slack's escaping for user text in mrkdwn: only &, < and > are special."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…",
            "emoji": True}


class SlackTransport(Transport):
    kind = "slack"
    label = "Slack"
    config_fields = (
        ConfigField("url", "Slack webhook URL", "https://hooks.slack.com/services/…",
                    form_name="slack_url", secret=True),  # the URL is the credential
    )
    config_summary_fields = {"host": (str, "the URL's host (the path is secret)")}

    @classmethod
    def summary(cls, config: dict) -> list[tuple[str, str]]:
        return [("Slack host", host(config.get("url")) or "—")]

    @classmethod
    def config_summary(cls, config: dict) -> dict:
        return {"host": host(config.get("url"))}

    @classmethod
    def validate_config(cls, config: dict) -> dict:
        errors: dict[str, str] = {}
        url = check_user_url(config.get("url"), errors)
        raise_if(errors)
        return {"url": url}

    def payload(self, n: Notification) -> dict:
        fields = [("Severity", n.severity.capitalize()), ("Status", n.status_label),
                  ("Subject", n.subject), ("Organization", n.organization),
                  *list(n.details.items())]
        section: dict = {"type": "section",
                         "text": {"type": "mrkdwn", "text": _mrkdwn(n.summary or n.title)},
                         "fields": [{"type": "mrkdwn",
                                     "text": f"*{_mrkdwn(k, 100)}*\n{_mrkdwn(v, 1800)}"}
                                    for k, v in fields[:10]]}  # Slack allows 10 fields
        blocks: list[dict] = [
            {"type": "header", "text": _plain(f"{n.emoji} {n.headline}", 150)},
            section,
            {"type": "context", "elements": [{
                "type": "mrkdwn",
                "text": _mrkdwn(f"{n.occurred_at.isoformat(timespec='seconds')} · "
                                f"{n.dedup_key} · Oracle Platform")}]},
        ]
        buttons = []
        if n.ack_url and n.kind == "opened":
            buttons.append({"type": "button", "action_id": "acknowledge", "style": "primary",
                            "text": _plain("Acknowledge", 75), "url": n.ack_url[:3000]})
        if n.incident_url:
            buttons.append({"type": "button", "action_id": "open_incident",
                            "text": _plain("Open incident", 75), "url": n.incident_url[:3000]})
        if buttons:
            blocks.append({"type": "actions", "elements": buttons})
        return {"text": _mrkdwn(f"{n.emoji} {n.headline}: {n.summary}"), "blocks": blocks}

    def notify(self, notification: Notification) -> Delivery:
        (url,) = self._require("url")
        try:
            result = post_json(url, self.payload(notification))
        except outbound.OutboundBlocked as blocked:
            return Delivery.blocked(blocked)
        if result.ok:
            return Delivery.delivered()
        error = result.snippet.strip()[:100]
        permanent = result.status in PERMANENT_STATUSES or error in PERMANENT_ERRORS
        detail = f"Slack {result.status}: {error}" if result.status and error else ""
        return http_failure(result, permanent=permanent, detail=detail)
