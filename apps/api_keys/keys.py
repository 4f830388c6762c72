"""The API key format: typed prefix + lookup id + secret + checksum, and its server-side HMAC.

    op_live_ab12cd34XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
    └──────┘└──────┘└──────────── 32 secret ───────────┘└6┘
     type    lookup                                     CRC32

The type prefix makes a leaked key recognisable to secret scanners; the checksum lets us reject a
mistyped or made-up key without touching the database. We store the displayable prefix
(`op_live_ab12cd34`) and an HMAC-SHA256 of the whole key under OP_API_KEY_SECRET — never the key.
"""
import hashlib
import hmac
import secrets
import string
import zlib

from django.conf import settings

TYPE_PREFIX = "op_live_"
ALPHABET = string.digits + string.ascii_letters  # base62: no separators a double-click would split
LOOKUP_LENGTH = 8
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
DISPLAY_LENGTH = len(TYPE_PREFIX) + LOOKUP_LENGTH
KEY_LENGTH = DISPLAY_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate() -> str:
    """A new random key (about 238 bits of entropy in lookup + secret)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(LOOKUP_LENGTH + SECRET_LENGTH))
    return f"{TYPE_PREFIX}{body}{_checksum(TYPE_PREFIX + body)}"


def well_formed(key: str) -> bool:
    """The shape and checksum are right (says nothing about whether the key exists)."""
    if len(key) != KEY_LENGTH or not key.startswith(TYPE_PREFIX):
        return False
    body = key[len(TYPE_PREFIX):-CHECKSUM_LENGTH]
    if any(c not in ALPHABET for c in body):
        return False
    return hmac.compare_digest(key[-CHECKSUM_LENGTH:], _checksum(key[:-CHECKSUM_LENGTH]))


def display_prefix(key: str) -> str:
    return key[:DISPLAY_LENGTH]


def digest(key: str) -> str:
    secret = (settings.OP_API_KEY_SECRET or settings.SECRET_KEY).encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()
