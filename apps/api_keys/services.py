"""Writes for API keys: create (the key is returned once, never stored), rotate, revoke, and the
bulk flush of usage counters into ApiUsage."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Organization, User

from . import keys, runtime
from .models import ApiKey, ApiUsage

MAX_ACTIVE_KEYS = 50


def create_key(organization: Organization, *, name: str, scope: str = ApiKey.Scope.READ,
               expires_at: datetime | None = None, created_by: User | None = None,
               replaces: ApiKey | None = None, created_by_key: ApiKey | None = None,
               now: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which the caller shows once."""
    now = now or timezone.now()
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "A key needs a name."
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    if scope not in ApiKey.Scope.values:
        errors["scope"] = f"One of: {', '.join(ApiKey.Scope.values)}."
    if expires_at is not None and (expires_at.utcoffset() is None or expires_at <= now):
        errors["expires_at"] = "Must be a time in the future, with a time zone."
    active = ApiKey.objects.filter(organization=organization, revoked_at__isnull=True).exclude(
        expires_at__lte=now).count()
    if active >= MAX_ACTIVE_KEYS and replaces is None:
        errors["name"] = f"An organization may hold at most {MAX_ACTIVE_KEYS} active keys."
    if errors:
        raise ValidationError(errors)
    raw = keys.generate()
    key = ApiKey.objects.create(
        organization=organization, name=name, scope=scope, expires_at=expires_at,
        created_by=created_by, prefix=keys.display_prefix(raw), digest=keys.digest(raw),
        replaces=replaces, created_by_key=created_by_key, created_at=now,
    )
    return key, raw


@transaction.atomic
def rotate_key(key: ApiKey, *, created_by: User | None = None, grace: timedelta | None = None,
               now: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key with the same name, scope and expiry; the old one keeps working for the grace
    period (OP_API_KEY_ROTATION_GRACE_HOURS) so deployments can switch over."""
    now = now or timezone.now()
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if not key.usable(now):
        raise ValidationError({"key": "Only an active key can be rotated."})
    if hasattr(key, "replaced_by"):
        raise ValidationError({"key": "This key was already rotated; rotate its replacement."})
    grace = timedelta(hours=settings.OP_API_KEY_ROTATION_GRACE_HOURS) if grace is None else grace
    new_key, raw = create_key(key.organization, name=key.name, scope=key.scope,
                              expires_at=key.expires_at, created_by=created_by,
                              replaces=key, now=now, created_by_key=key.created_by_key)
    old_expiry = now + grace
    if key.expires_at is None or key.expires_at > old_expiry:
        key.expires_at = old_expiry
        key.save(update_fields=["expires_at"])
    # Other instances remember the key without its new expiry for a few seconds at most.
    runtime.forget_key(key.pk, revoked=False)
    return new_key, raw


def revoke_key(key: ApiKey, *, now: datetime | None = None) -> ApiKey:
    """Revoke the key and every key it created (and they created): a leaked key cannot leave
    keys of its own making behind."""
    now = now or timezone.now()
    if key.revoked_at is None:
        key.revoked_at = now
        key.save(update_fields=["revoked_at"])
    transaction.on_commit(lambda: runtime.forget_key(key.pk, revoked=True))
    for child in key.created_keys.filter(revoked_at__isnull=True):
        revoke_key(child, now=now)
    return key


def flush_usage() -> int:
    """Move the counted calls, bytes and last uses into the database; returns rows touched."""
    usage, last_used = runtime.take_usage()
    try:
        return _store_usage(usage, last_used)
    except Exception:
        runtime.restore_usage(usage, last_used)
        raise


def _store_usage(usage: runtime.Usage, last_used: dict[int, str]) -> int:
    key_orgs = dict(ApiKey.objects.filter(pk__in={k for _, k in usage} | set(last_used))
                    .values_list("pk", "organization_id"))
    touched = 0
    with transaction.atomic():
        for (day, key_id), (calls, size) in usage.items():
            if key_id not in key_orgs:
                continue  # the key was deleted with its organization
            updated = ApiUsage.objects.filter(key_id=key_id, day=day).update(
                calls=F("calls") + calls, response_bytes=F("response_bytes") + size)
            if not updated:
                ApiUsage.objects.create(key_id=key_id, organization_id=key_orgs[key_id],
                                        day=date.fromisoformat(day), calls=calls,
                                        response_bytes=size)
            touched += 1
        for key_id, value in last_used.items():
            if key_id not in key_orgs:
                continue
            seconds, _, ip = value.partition(" ")
            at = datetime.fromtimestamp(int(seconds), tz=UTC)
            ApiKey.objects.filter(pk=key_id).exclude(last_used_at__gt=at).update(
                last_used_at=at, last_used_ip=ip or None)
    return touched
