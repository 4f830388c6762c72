"""Alert transports: one small class per channel kind, each turning a `Notification` into one
delivery attempt on its wire (email, Telegram Bot API, Slack incoming webhook, PagerDuty Events
API v2, a signed generic webhook).

The contract every transport keeps:

* `notify(notification) -> Delivery` never raises for a delivery problem. A `Delivery` is ok, or
  failed *transiently* (network trouble, a timeout, 429, 5xx: try again later, after
  `retry_after` seconds when the far end said so), or failed *permanently* (revoked token,
  deleted channel, blocked URL: retrying cannot help; the caller disables the channel and tells
  the organization — see `apps.alerts.notifications.notify_channel`).
* `validate_config(config) -> dict` checks what a tenant typed (raising `ValidationError` with
  one error per field) and returns the cleaned config that is stored, JSON, encrypted.
* Every HTTP request goes through `apps.alerts.outbound.post` (SSRF-safe, bounded by
  `OP_OUTBOUND_TIMEOUT`). Vendor base URLs come from settings (`OP_TELEGRAM_API_URL`,
  `OP_PAGERDUTY_EVENTS_URL`) so tests and the devnet point them at local receivers.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .base import ConfigError, Delivery, Transport, post_json
from .email import EmailTransport
from .pagerduty import PagerDutyTransport
from .slack import SlackTransport
from .telegram import TelegramTransport
from .webhook import WebhookTransport

if TYPE_CHECKING:
    from apps.alerts.models import Channel

__all__ = [
    "TRANSPORTS",
    "ConfigError",
    "Delivery",
    "EmailTransport",
    "PagerDutyTransport",
    "SlackTransport",
    "TelegramTransport",
    "Transport",
    "WebhookTransport",
    "post_json",
    "transport_for",
]

TRANSPORTS: dict[str, type[Transport]] = {
    cls.kind: cls
    for cls in (EmailTransport, TelegramTransport, SlackTransport, PagerDutyTransport,
                WebhookTransport)
}


def transport_for(channel: Channel) -> Transport:
    """The transport of `channel`, configured from its decrypted JSON config.
    Raises ConfigError when the config cannot be used."""
    try:
        cls = TRANSPORTS[channel.kind]
    except KeyError:
        raise ConfigError(f"unknown channel kind {channel.kind!r}") from None
    try:
        config = json.loads(channel.config or "{}")
    except (TypeError, ValueError) as error:
        raise ConfigError(f"channel config is not JSON: {error}") from None
    if not isinstance(config, dict):
        raise ConfigError("channel config is not a JSON object")
    return cls(config)
