"""The shared interface of the alert transports: `Transport` (one subclass per channel kind,
apps/alerts/transports/<kind>.py), what a kind declares about its config (`ConfigField`), the
outcome of an attempt (`Delivery`) and the helpers the kinds share."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from apps.alerts import outbound
from apps.alerts.notifications import Notification


@dataclass
class Delivery:
    """The outcome of one attempt. `permanent` only matters when not `ok`; `retry_after` is the
    far end's requested wait in seconds (429), if it named one; `detail` is for people."""

    ok: bool
    permanent: bool = False
    retry_after: float | None = None
    detail: str = ""

    @classmethod
    def delivered(cls, detail: str = "") -> Delivery:
        return cls(ok=True, detail=detail)

    @classmethod
    def transient(cls, detail: str, retry_after: float | None = None) -> Delivery:
        return cls(ok=False, permanent=False, retry_after=retry_after, detail=detail[:300])

    @classmethod
    def failed_permanently(cls, detail: str) -> Delivery:
        return cls(ok=False, permanent=True, detail=detail[:300])

    @classmethod
    def blocked(cls, error: outbound.OutboundBlocked) -> Delivery:
        return cls.failed_permanently(f"URL blocked: {error.reason}")


class ConfigError(ValueError):
    """A stored channel config cannot be used (not JSON, unknown kind, a field missing)."""


@dataclass(frozen=True)
class ConfigField:
    """One key of a kind's config, as the channel forms show it.

    `form_name` is the form field's name (one create form holds every kind's fields, so two
    kinds' `url` are told apart). A `secret` is typed into a password input and never rendered
    again, not even into a refused form. A `generated` value may be left empty: the transport
    makes one up on creation (shown once), and an update that leaves it empty keeps the stored
    one.
    """

    key: str
    label: str
    help_text: str = ""
    form_name: str = ""
    max_length: int = 500
    secret: bool = False
    generated: bool = False

    @property
    def field_name(self) -> str:
        return self.form_name or self.key


class Transport:
    """One channel kind. Subclasses set `kind`, `label` (as in `Channel.Kind`), their
    `config_fields`, and implement `notify`, `validate_config` and the two summaries:
    `summary` (the pages and the admin: label → value rows) and `config_summary` (the API's
    `config_summary`, its keys documented in `config_summary_fields`). Neither ever shows a
    secret: at most a host or the last characters of a token."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    config_fields: ClassVar[tuple[ConfigField, ...]] = ()
    # The API summary's keys: name -> (str or list, what it is).
    config_summary_fields: ClassVar[dict[str, tuple[type, str]]] = {}
    # False: the subjects of one rule that change together make one message; True: one message
    # per incident (a channel that groups by dedup key itself).
    per_incident: ClassVar[bool] = False

    def __init__(self, channel_config: dict) -> None:
        self.config = channel_config

    def notify(self, notification: Notification) -> Delivery:
        raise NotImplementedError

    @classmethod
    def validate_config(cls, config: dict) -> dict:
        """Return the cleaned config to store; raise ValidationError({field: message})."""
        raise NotImplementedError

    @classmethod
    def secret_fields(cls) -> tuple[ConfigField, ...]:
        return tuple(f for f in cls.config_fields if f.secret)

    @classmethod
    def summary(cls, config: dict) -> list[tuple[str, str]]:
        """What identifies the destination, for people: label → value rows."""
        raise NotImplementedError

    @classmethod
    def config_summary(cls, config: dict) -> dict:
        """What identifies the destination, for the API (`config_summary_fields`)."""
        raise NotImplementedError

    def _require(self, *names: str) -> list:
        missing = [name for name in names if not self.config.get(name)]
        if missing:
            raise ConfigError(f"{self.kind} channel config lacks {', '.join(missing)}")
        return [self.config[name] for name in names]


# --- shared helpers --------------------------------------------------------------------------

def encode_json(data: dict) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are sent (and, for webhooks, signed)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def post_json(url: str, data: dict | bytes, headers: dict[str, str] | None = None
              ) -> outbound.OutboundResult:
    """POST `data` (a dict, or JSON already encoded) through the SSRF-safe client.
    Raises `outbound.OutboundBlocked` (permanent); network trouble comes back as a result."""
    body = data if isinstance(data, bytes) else encode_json(data)
    return outbound.post(url, body=body,
                         headers={"Content-Type": "application/json", **(headers or {})})


def retry_after_seconds(value: object) -> float | None:
    """Seconds from a `Retry-After` header or a JSON `retry_after`, if it is a number."""
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def http_failure(result: outbound.OutboundResult, *, permanent: bool = False,
                 detail: str = "", retry_after: float | None = None) -> Delivery:
    """A Delivery for a non-2xx or missing reply; 429 and 5xx are never permanent."""
    if result.status is None:
        return Delivery.transient(result.error or "no reply")
    text = detail or f"HTTP {result.status}: {result.snippet[:200]}".rstrip(": ")
    if result.status == 429 or result.status >= 500:
        permanent = False
    if retry_after is None:
        retry_after = retry_after_seconds(result.headers.get("retry-after"))
    if permanent:
        return Delivery.failed_permanently(text)
    return Delivery.transient(text, retry_after=retry_after)


def check_user_url(url: object, errors: dict[str, str], field: str = "url") -> str:
    """Check a tenant-supplied URL (http/https, and reachable without SSRF) into `errors`."""
    if not isinstance(url, str) or not url.strip():
        errors[field] = "Enter a URL."
        return ""
    url = url.strip()
    if len(url) > 500:
        errors[field] = "At most 500 characters."
        return url
    try:
        outbound.check_url(url)
    except outbound.OutboundBlocked as blocked:
        errors[field] = str(blocked)
    return url


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


# --- summaries ---------------------------------------------------------------------------------

def masked(value: object) -> str:
    """A secret's last 4 characters behind an ellipsis (nothing of a short one)."""
    text = str(value or "")
    return f"…{text[-4:]}" if len(text) > 8 else "…"


def last4(value: object) -> str:
    return str(value or "")[-4:]


def host(url: object) -> str:
    """A URL's host name ("" when there is none): its path may be the secret."""
    try:
        return urlsplit(str(url or "")).hostname or ""
    except ValueError:
        return ""
