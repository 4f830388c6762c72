"""Secrets encrypted at rest: Fernet under OP_FIELD_ENCRYPTION_KEYS, rotation, loud failures."""
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from apps.alerts import crypto
from apps.alerts.crypto import DecryptionError, EncryptedTextField

SECRET = "whsec_t0p-s3cret-signing-key"
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _field(name: str = "signing_secret") -> EncryptedTextField:
    field = EncryptedTextField(null=True)
    field.set_attributes_from_name(name)
    return field


def test_round_trip_with_configured_key(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    token = crypto.encrypt(SECRET)
    assert SECRET not in token
    assert crypto.decrypt(token) == SECRET
    assert Fernet(KEY_A).decrypt(token.encode()).decode() == SECRET  # really under KEY_A


def test_round_trip_with_the_local_key_derived_from_secret_key(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = []
    token = crypto.encrypt(SECRET)
    assert crypto.decrypt(token) == SECRET
    settings.SECRET_KEY = "another-secret-key"  # the derived key follows SECRET_KEY
    with pytest.raises(DecryptionError):
        crypto.decrypt(token)


def test_unicode_and_empty_values_round_trip(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    for value in ("", "ключ 🔑", "x" * 10_000):
        assert crypto.decrypt(crypto.encrypt(value)) == value


def test_tokens_are_randomised(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    assert crypto.encrypt(SECRET) != crypto.encrypt(SECRET)


def test_field_column_value_never_holds_the_plaintext(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    field = _field()
    stored = field.get_db_prep_save(SECRET, connection)  # what goes into the column
    assert isinstance(stored, str)
    assert SECRET not in stored
    assert "s3cret" not in stored
    assert field.from_db_value(stored, None, connection) == SECRET
    assert field.get_prep_value(SECRET) != SECRET


def test_field_keeps_none_as_null(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    field = _field()
    assert field.get_prep_value(None) is None
    assert field.get_db_prep_save(None, connection) is None
    assert field.from_db_value(None, None, connection) is None


def test_rotation_with_two_keys(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    old_token = crypto.encrypt(SECRET)

    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]  # new key first, old one kept
    assert crypto.decrypt(old_token) == SECRET  # the cached MultiFernet was not reused
    assert _field().from_db_value(old_token, None, connection) == SECRET
    new_token = crypto.rotate(old_token)
    assert new_token != old_token
    assert Fernet(KEY_B).decrypt(new_token.encode()).decode() == SECRET
    new_write = crypto.encrypt(SECRET)
    assert Fernet(KEY_B).decrypt(new_write.encode()).decode() == SECRET  # first key encrypts

    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_B]  # old key retired
    assert crypto.decrypt(new_token) == SECRET
    with pytest.raises(DecryptionError):
        crypto.decrypt(old_token)


def test_wrong_key_raises_a_clear_error(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    token = crypto.encrypt(SECRET)
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(DecryptionError, match="OP_FIELD_ENCRYPTION_KEYS"):
        crypto.decrypt(token)
    with pytest.raises(DecryptionError, match="signing_secret"):
        _field().from_db_value(token, None, connection)
    with pytest.raises(DecryptionError):
        crypto.rotate(token)


def test_error_names_the_model_field_when_bound_to_a_model(settings):
    from django.contrib.auth import get_user_model

    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    field = _field("channel_token")
    field.model = get_user_model()  # only read for the error label; no model is altered
    with pytest.raises(DecryptionError, match=r"accounts\.User\.channel_token"):
        field.from_db_value("not-a-fernet-token", None, connection)


def test_plaintext_in_the_column_is_an_error_not_a_silent_value(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = [KEY_A]
    with pytest.raises(DecryptionError, match="signing_secret"):
        _field().from_db_value(SECRET, None, connection)


def test_invalid_configured_key_is_improperly_configured(settings):
    settings.OP_FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match=r"OP_FIELD_ENCRYPTION_KEYS\[0\]"):
        crypto.encrypt(SECRET)


def test_deconstruct_for_migrations():
    field = EncryptedTextField(null=True, blank=True)
    field.set_attributes_from_name("secret")
    name, path, args, kwargs = field.deconstruct()
    assert (name, path, args) == ("secret", "apps.alerts.crypto.EncryptedTextField", [])
    assert kwargs == {"null": True, "blank": True}
    clone = EncryptedTextField(*args, **kwargs)
    assert clone.null and clone.blank
