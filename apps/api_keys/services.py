"""Writes for API keys: create (the key is returned once, never stored), rotate, revoke, and the
bulk flush of usage counters into ApiUsage."""
from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from apps.accounts.models import Organization, User
from apps.audit.services import record
from apps.billing.limits import LimitReached, check_room, enforce_count

from . import keys, runtime
from .models import ApiKey, ApiUsage


def counted_keys(organization_id: int, now: datetime | None = None) -> QuerySet[ApiKey]:
    """The keys that count against the plan's limit (not revoked, not expired), oldest first."""
    return (ApiKey.objects.filter(organization_id=organization_id, revoked_at__isnull=True)
            .exclude(expires_at__lte=now or timezone.now()).order_by("created_at", "pk"))


def enforce_key_limit(organization: Organization) -> list[ApiKey]:
    """Pause the newest keys past the plan's limit, resume paused ones that fit again (the
    throttle learns which are paused with the plan: receivers.publish_limits)."""
    changed = enforce_count(organization, "api_keys", counted_keys(organization.pk))
    for key in changed:
        record(organization.pk, "api_keys.paused" if key.paused_reason else "api_keys.resumed",
               target=key, after={"paused_reason": key.paused_reason})
        transaction.on_commit(functools.partial(runtime.forget_key, key.pk, revoked=False))
    publish_limits(organization)
    return changed


def publish_limits(organization: Organization) -> None:
    """After the commit, tell every instance's throttle the plan and the paused keys."""
    paused = list(counted_keys(organization.pk).exclude(paused_reason="")
                  .values_list("pk", flat=True))
    transaction.on_commit(
        lambda: runtime.publish_plan(organization.pk, organization.plan, paused), robust=True)


def republish_limits(now: datetime | None = None) -> int:
    """Publish every organization's plan and paused keys again (those with keys that count):
    a publish lost to a Redis outage or flush is repaired, and the plan hash's TTL never runs
    out for an organization in use. Returns how many were published."""
    paused: dict[int, list[int]] = {}
    organizations: dict[int, str] = {}
    for org_id, plan, key_id, reason in (
            ApiKey.objects.filter(revoked_at__isnull=True)
            .exclude(expires_at__lte=now or timezone.now())
            .values_list("organization_id", "organization__plan", "pk", "paused_reason")):
        organizations[org_id] = plan
        if reason:
            paused.setdefault(org_id, []).append(key_id)
    for org_id, plan in organizations.items():
        runtime.publish_plan(org_id, plan, paused.get(org_id, ()))
    return len(organizations)


@transaction.atomic
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
    if replaces is None:  # a rotation replaces a key: it never needs room
        try:
            check_room(organization, "api_keys", counted_keys(organization.pk, now).count())
        except LimitReached as error:
            errors["name"] = str(error)
    if errors:
        raise ValidationError(errors)
    raw = keys.generate()
    key = ApiKey.objects.create(
        organization=organization, name=name, scope=scope, expires_at=expires_at,
        created_by=created_by, prefix=keys.display_prefix(raw), digest=keys.digest(raw),
        replaces=replaces, created_by_key=created_by_key, created_at=now,
    )
    if replaces is None:  # a rotation is recorded as one event, by rotate_key
        record(organization.pk, "api_keys.created", target=key,
               after={"name": key.name, "prefix": key.prefix, "scope": key.scope,
                      "expires_at": key.expires_at})
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
    if key.paused_reason:  # its replacement would skip the plan's count
        raise ValidationError({"key": key.paused_reason})
    grace = timedelta(hours=settings.OP_API_KEY_ROTATION_GRACE_HOURS) if grace is None else grace
    new_key, raw = create_key(key.organization, name=key.name, scope=key.scope,
                              expires_at=key.expires_at, created_by=created_by,
                              replaces=key, now=now, created_by_key=key.created_by_key)
    old_expiry, before = now + grace, key.expires_at
    if key.expires_at is None or key.expires_at > old_expiry:
        key.expires_at = old_expiry
        key.save(update_fields=["expires_at"])
    record(key.organization_id, "api_keys.rotated", target=key,
           before={"expires_at": before},
           after={"expires_at": key.expires_at, "replaced_by": new_key.prefix})
    # Other instances remember the key without its new expiry for a few seconds at most.
    runtime.forget_key(key.pk, revoked=False)
    return new_key, raw


@transaction.atomic
def revoke_key(key: ApiKey, *, now: datetime | None = None) -> ApiKey:
    """Revoke the key and every key it created (and they created): a leaked key cannot leave
    keys of its own making behind."""
    now = now or timezone.now()
    if key.revoked_at is None:
        key.revoked_at = now
        key.save(update_fields=["revoked_at"])
        record(key.organization_id, "api_keys.revoked", target=key,
               before={"revoked_at": None}, after={"revoked_at": now})
    transaction.on_commit(lambda: runtime.forget_key(key.pk, revoked=True))
    for child in key.created_keys.filter(revoked_at__isnull=True):
        revoke_key(child, now=now)
    if ApiKey.objects.filter(organization_id=key.organization_id).exclude(
            paused_reason="").exists():  # room freed: the oldest paused key resumes
        enforce_key_limit(key.organization)
    return key


def flush_usage() -> int:
    """Move the counted calls, bytes and last uses into the database; returns rows touched."""
    usage, last_used = runtime.take_usage()
    try:
        return _store_usage(usage, last_used)
    except Exception:
        runtime.restore_usage(usage, last_used)
        raise


def _hour(label: str) -> datetime:
    """"2026-12-07T13" (or a day, as counters written before hourly buckets were) -> aware UTC."""
    day, _, hour = label.partition("T")
    return datetime.combine(date.fromisoformat(day), time(int(hour or 0)), tzinfo=UTC)


def _store_usage(usage: runtime.Usage, last_used: dict[int, str]) -> int:
    key_orgs = dict(ApiKey.objects.filter(pk__in={k for _, k in usage} | set(last_used))
                    .values_list("pk", "organization_id"))
    touched = 0
    with transaction.atomic():
        for (label, key_id), (calls, size) in usage.items():
            if key_id not in key_orgs:
                continue  # the key was deleted with its organization
            hour = _hour(label)
            updated = ApiUsage.objects.filter(key_id=key_id, hour=hour).update(
                calls=F("calls") + calls, response_bytes=F("response_bytes") + size)
            if not updated:
                ApiUsage.objects.create(key_id=key_id, organization_id=key_orgs[key_id],
                                        hour=hour, day=hour.date(), calls=calls,
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
