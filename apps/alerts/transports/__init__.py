"""Alert transports: one class per channel kind (apps/alerts/transports/<kind>.py), listed here
as healthchecks lists its integrations (kind -> dotted path, imported on first use), each turning
a `Notification` into one delivery attempt on its wire (email, Telegram Bot API, Slack incoming
webhook, PagerDuty Events API v2, a signed generic webhook).

The contract every transport keeps (apps/alerts/transports/base.py):

* `notify(notification) -> Delivery` never raises for a delivery problem. A `Delivery` is ok, or
  failed *transiently* (network trouble, a timeout, 429, 5xx: try again later, after
  `retry_after` seconds when the far end said so), or failed *permanently* (revoked token,
  deleted channel, blocked URL: retrying cannot help; the caller disables the channel and tells
  the organization — see `apps.alerts.services.channels.notify_channel`).
* `validate_config(config) -> dict` checks what a tenant typed (raising `ValidationError` with
  one error per field) and returns the cleaned config that is stored, JSON, encrypted.
* `config_fields` say what the forms ask for (and which values are secrets); `summary` and
  `config_summary` what the pages and the API show instead of the config.
* Every HTTP request goes through `apps.alerts.outbound.post` (SSRF-safe, bounded by
  `OP_OUTBOUND_TIMEOUT`). Vendor base URLs come from settings (`OP_TELEGRAM_API_URL`,
  `OP_PAGERDUTY_EVENTS_URL`) so tests and the devnet point them at local receivers.

Adding a kind is one module plus its line here, its choice in `Channel.Kind` (a test checks
that they agree) and its tests.
"""
from __future__ import annotations

import json
from functools import cache

from django.utils.module_loading import import_string

from apps.alerts.models import Channel

from .base import ConfigError, Transport

TRANSPORTS: dict[str, str] = {
    "email": "apps.alerts.transports.email.EmailTransport",
    "telegram": "apps.alerts.transports.telegram.TelegramTransport",
    "slack": "apps.alerts.transports.slack.SlackTransport",
    "pagerduty": "apps.alerts.transports.pagerduty.PagerDutyTransport",
    "webhook": "apps.alerts.transports.webhook.WebhookTransport",
}


@cache
def transport_class(kind: str) -> type[Transport]:
    """The kind's transport class, imported on first use (KeyError for an unknown kind)."""
    return import_string(TRANSPORTS[kind])


def transport_classes() -> list[type[Transport]]:
    """Every kind's class, in the registry's order (the order of the forms' choices)."""
    return [transport_class(kind) for kind in TRANSPORTS]


def choices() -> list[tuple[str, str]]:
    return [(cls.kind, cls.label) for cls in transport_classes()]


def transport_for(channel: Channel) -> Transport:
    """The transport of `channel`, configured from its decrypted JSON config.
    Raises ConfigError when the config cannot be used."""
    try:
        cls = transport_class(channel.kind)
    except KeyError:
        raise ConfigError(f"unknown channel kind {channel.kind!r}") from None
    try:
        config = json.loads(channel.config or "{}")
    except (TypeError, ValueError) as error:
        raise ConfigError(f"channel config is not JSON: {error}") from None
    if not isinstance(config, dict):
        raise ConfigError("channel config is not a JSON object")
    return cls(config)


def stored_config(channel: Channel) -> dict:
    """The channel's decrypted config, or {} when it is unreadable (for summaries)."""
    try:
        config = json.loads(channel.config or "{}")
    except (TypeError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def channel_summary(channel: Channel) -> list[tuple[str, str]]:
    """What identifies a channel's destination without its secrets (tokens, keys, URL paths and
    signing secrets are never rendered): the pages' and the admin's rows."""
    if channel.kind not in TRANSPORTS:
        return []
    return transport_class(channel.kind).summary(stored_config(channel))


def channel_config_summary(channel: Channel) -> dict:
    """The API's `config_summary` of a channel: never a token, a key, a secret or a secret URL."""
    if channel.kind not in TRANSPORTS:
        return {}
    return transport_class(channel.kind).config_summary(stored_config(channel))
