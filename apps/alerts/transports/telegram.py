"""Telegram Bot API: `POST {OP_TELEGRAM_API_URL}/bot<token>/sendMessage` with HTML formatting.

Config: `{"bot_token": "123456:ABC…", "chat_id": "-1001234567890" | "@channel"}`.
Replies are `{"ok": bool, "description", "error_code", "parameters": {"retry_after"}}`:
401/404 (bad token), 403 (bot blocked or kicked) and 400 "chat not found" / a migrated group
are permanent; 429 carries `retry_after`.
"""
from __future__ import annotations

import html
import json
import re

from django.conf import settings

from apps.alerts import outbound
from apps.alerts.notifications import Notification

from .base import (
    ConfigField,
    Delivery,
    Transport,
    http_failure,
    last4,
    masked,
    post_json,
    raise_if,
    retry_after_seconds,
)

TOKEN_RE = re.compile(r"[0-9]{3,20}:[A-Za-z0-9_-]{30,100}")
CHAT_ID_RE = re.compile(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")
MISSING_BOT_KEY = "Enter the bot token @BotFather gave you."
BAD_BOT_KEY = "A bot token looks like 123456789:AAE… (digits, a colon, then 35 characters)."
PERMANENT_400 = ("chat not found", "group chat was upgraded", "chat_write_forbidden",
                 "have no rights to send", "not enough rights", "bot was kicked",
                 "user is deactivated", "peer_id_invalid")


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TelegramTransport(Transport):
    kind = "telegram"
    label = "Telegram"
    config_fields = (
        ConfigField("bot_token", "Telegram bot token",
                    "The token @BotFather gave you (123456:AAE…).", secret=True),
        ConfigField("chat_id", "Telegram chat id",
                    "A number such as -1001234567890, or @channelname.", max_length=40),
    )
    config_summary_fields = {"chat_id": (str, "the chat"),
                             "bot_token_last4": (str, "the bot token's last 4")}

    @classmethod
    def summary(cls, config: dict) -> list[tuple[str, str]]:
        return [("Chat id", str(config.get("chat_id") or "—")),
                ("Bot token", masked(config.get("bot_token")))]

    @classmethod
    def config_summary(cls, config: dict) -> dict:
        return {"chat_id": str(config.get("chat_id") or ""),
                "bot_token_last4": last4(config.get("bot_token"))}

    @classmethod
    def validate_config(cls, config: dict) -> dict:
        errors: dict[str, str] = {}
        token = str(config.get("bot_token") or "").strip()
        chat_id = str(config.get("chat_id") or "").strip()
        if not TOKEN_RE.fullmatch(token):
            errors["bot_token"] = BAD_BOT_KEY if token else MISSING_BOT_KEY
        if not chat_id:
            errors["chat_id"] = "Enter the chat id (a number) or @channelname."
        elif not CHAT_ID_RE.fullmatch(chat_id):
            errors["chat_id"] = "A chat id is a number such as -1001234567890, or @channelname."
        raise_if(errors)
        return {"bot_token": token, "chat_id": chat_id}

    def message(self, n: Notification) -> str:
        """The HTML text; the cuts keep it well under Telegram's 4096 characters."""
        lines = [f"{n.emoji} <b>{_e(_cut(n.headline, 250))}</b>"]
        if n.summary:
            lines.append(_e(_cut(n.summary, 1000)))
        lines.append("")
        facts = {"Organization": n.organization, "Subject": n.subject,
                 "Severity": n.severity}
        facts.update(list(n.details.items())[:12])
        lines += [f"<b>{_e(_cut(k, 40))}:</b> {_e(_cut(v, 100))}" for k, v in facts.items()]
        lines.append(f"<i>{_e(n.occurred_at.isoformat(timespec='seconds'))}</i>")
        links = []
        if n.ack_url and n.kind == "opened":
            links.append(f'<a href="{html.escape(n.ack_url)}">Acknowledge</a>')
        if n.incident_url:
            links.append(f'<a href="{html.escape(n.incident_url)}">Open incident</a>')
        if links:
            lines.append(" · ".join(links))
        return "\n".join(lines)

    def notify(self, notification: Notification) -> Delivery:
        token, chat_id = self._require("bot_token", "chat_id")
        url = f"{settings.OP_TELEGRAM_API_URL.rstrip('/')}/bot{token}/sendMessage"
        payload = {"chat_id": chat_id, "text": self.message(notification), "parse_mode": "HTML",
                   "disable_web_page_preview": True}
        try:
            result = post_json(url, payload)
        except outbound.OutboundBlocked as blocked:
            return Delivery.blocked(blocked)
        reply = _json(result.snippet)
        if result.ok and reply.get("ok", True):
            return Delivery.delivered()
        description = str(reply.get("description") or "").strip()
        detail = f"Telegram {result.status}: {description}" if description else ""
        given = reply.get("parameters")
        parameters: dict = given if isinstance(given, dict) else {}
        permanent = result.status in (401, 403, 404) or (
            result.status == 400 and any(p in description.lower() for p in PERMANENT_400))
        if parameters.get("migrate_to_chat_id"):
            detail = (f"the group became a supergroup; use chat id "
                      f"{parameters['migrate_to_chat_id']}")
            permanent = True
        return http_failure(result, permanent=permanent, detail=detail,
                            retry_after=retry_after_seconds(parameters.get("retry_after")))


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
