"""Tenants' secrets (webhook signing secrets, channel tokens) encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under `OP_FIELD_ENCRYPTION_KEYS`, wrapped in a
MultiFernet so keys can be rotated: the first key encrypts, every key decrypts, and `rotate()`
moves an old token onto the first key. A database dump alone therefore reveals no secret.

With an empty `OP_FIELD_ENCRYPTION_KEYS` a key is derived from SECRET_KEY (HKDF-SHA256). That is
for local development and tests only: rotating SECRET_KEY would make every stored secret
unreadable, and the production settings should insist on explicit keys.
"""
import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_HKDF_INFO = b"oracle-platform field encryption v1"


class DecryptionError(ValueError):
    """A stored token that no configured key opens: a wrong or removed key, or a corrupt value.
    Raised loudly rather than read as None, which would silently disable a webhook's signing."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from SECRET_KEY; local development and tests only."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    # Cached on the key material itself, so a settings override (tests, a reload after
    # rotation) builds a new MultiFernet instead of reusing a stale one.
    if not keys:
        return MultiFernet([Fernet(derived_key(secret_key))])
    fernets = []
    for index, key in enumerate(keys):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as error:
            raise ImproperlyConfigured(
                f"OP_FIELD_ENCRYPTION_KEYS[{index}] is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with Fernet.generate_key())"
            ) from error
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    """The MultiFernet for the current settings."""
    keys = tuple(key.strip() for key in settings.OP_FIELD_ENCRYPTION_KEYS if key.strip())
    return _fernet_for(keys, settings.SECRET_KEY)


def encrypt(text: str) -> str:
    """Encrypt under the first key; the token is ASCII, safe for a text column."""
    return fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt with any configured key, or raise DecryptionError."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError) as error:
        raise DecryptionError(
            "cannot decrypt the value with any key in OP_FIELD_ENCRYPTION_KEYS "
            "(wrong or removed key, or a corrupt value)"
        ) from error


def rotate(token: str) -> str:
    """Re-encrypt a token under the first key (run after prepending a new key)."""
    try:
        return fernet().rotate(token.encode()).decode("ascii")
    except InvalidToken as error:
        raise DecryptionError(
            "cannot rotate the value: no key in OP_FIELD_ENCRYPTION_KEYS opens it"
        ) from error


class EncryptedTextField(models.TextField):
    """A TextField whose column holds a Fernet token; the model attribute holds the plaintext.

    Tokens are randomised, so the column cannot be filtered, ordered or made unique on the
    plaintext: look rows up by something else. None stays NULL; "" in the column (never written
    by this field, but possible in a hand-made row) reads back as "".
    """

    description = "Text encrypted at rest (Fernet)"

    def _label(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model is not None else str(self.name)

    def from_db_value(self, value: str | None, expression, connection) -> str | None:
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except DecryptionError as error:
            raise DecryptionError(f"field {self._label()}: {error}") from error

    def get_prep_value(self, value: object) -> str | None:
        text: str | None = super().get_prep_value(value)  # TextField's: a str, or None
        if text is None:
            return None
        return encrypt(text)
