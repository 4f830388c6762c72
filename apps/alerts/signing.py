"""Webhook signatures per Standard Webhooks (https://www.standardwebhooks.com/).

Every delivery carries three headers:

- ``webhook-id``: unique message id (the same on every retry of one message),
- ``webhook-timestamp``: Unix seconds when the attempt was signed,
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` per secret, space-separated.

The HMAC key is the base64-decoded secret without its ``whsec_`` prefix and the signed content is
``f"{id}.{timestamp}.{body}"`` over the raw body bytes. During a secret rotation the header holds
two signatures (current secret first, previous second); a receiver accepts any one that matches.
Receiver documentation: docs/webhooks.md.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence

__all__ = [
    "DEFAULT_TOLERANCE",
    "HEADER_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "SECRET_PREFIX",
    "SignatureError",
    "generate_secret",
    "new_message_id",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock (replay protection)

_SECRET_BYTES = 32
_MIN_KEY_BYTES = 24  # Standard Webhooks: secrets are 24 to 64 random bytes
_MAX_KEY_BYTES = 64
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")  # unsigned decimal seconds; no sign, no fraction
_MSG_ID_RE = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII without spaces


class SignatureError(Exception):
    """A delivery failed verification; ``reason`` says why (stable, short, loggable)."""

    MISSING_HEADER = "missing header"
    BAD_TIMESTAMP = "bad timestamp"
    TOO_OLD = "timestamp too old"
    TOO_NEW = "timestamp too new"
    NO_MATCH = "no matching v1 signature"

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def generate_secret() -> str:
    """Return a new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """Return a new unique message id (``msg_`` + 24 url-safe random characters)."""
    return "msg_" + _secrets.token_urlsafe(18)


def _key(secret: str) -> bytes:
    """Decode a ``whsec_…`` secret into its HMAC key; ValueError if it is malformed."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret must be a string starting with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64 after its 'whsec_' prefix") from None
    if not _MIN_KEY_BYTES <= len(key) <= _MAX_KEY_BYTES:
        raise ValueError(
            f"webhook secret must decode to {_MIN_KEY_BYTES}-{_MAX_KEY_BYTES} bytes, "
            f"not {len(key)}"
        )
    return key


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the three ``webhook-*`` headers for one delivery attempt.

    ``secrets`` lists the endpoint's active secrets, current first (during a rotation also the
    previous one); each contributes one ``v1,<sig>`` to ``webhook-signature``.
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    if not secrets:
        raise ValueError("at least one webhook secret is needed to sign")
    if not _MSG_ID_RE.fullmatch(msg_id):
        raise ValueError("message id must be 1-256 printable ASCII characters without spaces")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("timestamp must be a non-negative integer (Unix seconds)")
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("body must be the raw bytes that are sent")
    ts = str(timestamp)
    raw = bytes(body)
    signatures = " ".join(f"v1,{_signature(_key(s), msg_id, ts, raw)}" for s in secrets)
    return {HEADER_ID: msg_id, HEADER_TIMESTAMP: ts, HEADER_SIGNATURE: signatures}


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Check a delivery's headers against its raw ``body``; raise SignatureError if it fails.

    Header names are matched case-insensitively. The timestamp must lie within ``tolerance``
    seconds of ``now`` (default: the current time). Any one ``v1`` signature matching ``secret``
    is enough; other versions are ignored. A malformed ``secret`` raises ValueError.
    """
    key = _key(secret)
    lowered = {str(name).lower(): value for name, value in headers.items()}
    values: dict[str, str] = {}
    for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        value = lowered.get(name)
        if not isinstance(value, str) or not value.strip():
            raise SignatureError(SignatureError.MISSING_HEADER, name)
        values[name] = value.strip()

    ts = values[HEADER_TIMESTAMP]
    if not _TIMESTAMP_RE.fullmatch(ts):
        raise SignatureError(SignatureError.BAD_TIMESTAMP, f"{ts[:32]!r} is not Unix seconds")
    current = time.time() if now is None else now
    age = current - int(ts)
    if age > tolerance:
        raise SignatureError(SignatureError.TOO_OLD, f"{int(age)} s old, tolerance {tolerance} s")
    if -age > tolerance:
        raise SignatureError(
            SignatureError.TOO_NEW, f"{int(-age)} s in the future, tolerance {tolerance} s"
        )

    expected = _signature(key, values[HEADER_ID], ts, bytes(body)).encode("ascii")
    matched = False
    for entry in values[HEADER_SIGNATURE].split():
        version, _, candidate = entry.partition(",")
        if version != "v1":
            continue
        # Compare the base64 text (not decoded bytes), so no alternative encoding is accepted.
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    if not matched:
        raise SignatureError(SignatureError.NO_MATCH)
