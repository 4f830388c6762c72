"""Who is calling the API: an API key or a logged-in dashboard user, resolved to an organization
and its plan. Keys are looked up once and then remembered by this process for
OP_API_KEY_CACHE_SECONDS (the hot path does no database query); revocation still reaches every
instance at once through the throttle's Redis script."""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.http import OrganizationRequest
from apps.accounts.models import Organization, Role

from . import keys
from .models import ApiKey


@dataclass(frozen=True)
class Principal:
    organization_id: int
    tier: str
    can_write: bool  # the key's scope is read-write, or the session member is not a viewer
    key_id: int | None = None
    key_prefix: str = ""  # the key's display prefix: the audit log names the key by it
    user_id: int | None = None
    role: str | None = None  # the session member's role; keys have none
    expires_at: datetime | None = None
    paused_reason: str = ""  # the key is paused by the plan (the throttle's plan hash decides
    # when it has one: this copy is as old as the key cache)

    is_authenticated = True  # DRF's request.user is this principal
    is_anonymous = False

    @property
    def subject(self) -> str:
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user_id}"


class PrincipalRequest(OrganizationRequest):
    """A request to the API after ApiMiddleware identified its caller (DRF's authentication
    reads it from here)."""

    api_principal: Principal


class KeyCache:
    """digest -> (Principal or None for unknown/unusable keys, monotonic time cached)."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[Principal | None, float]] = {}
        self.lock = threading.Lock()

    def get(self, digest: str) -> tuple[bool, Principal | None]:
        entry = self.entries.get(digest)
        if entry is None or time.monotonic() - entry[1] > settings.OP_API_KEY_CACHE_SECONDS:
            return False, None
        return True, entry[0]

    def put(self, digest: str, principal: Principal | None) -> None:
        with self.lock:
            if len(self.entries) > 100_000:  # a flood of made-up keys must not grow us unbounded
                self.entries.clear()
            self.entries[digest] = (principal, time.monotonic())

    def forget(self, key_id: int) -> None:
        with self.lock:
            for digest, (principal, _) in list(self.entries.items()):
                if principal is not None and principal.key_id == key_id:
                    del self.entries[digest]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


key_cache = KeyCache()


def from_key(raw: str, now: datetime | None = None) -> Principal | None:
    """The key's principal, or None if it is malformed, unknown, revoked or expired."""
    if not keys.well_formed(raw):
        return None
    digest = keys.digest(raw)
    hit, principal = key_cache.get(digest)
    if not hit:
        key = (ApiKey.objects.select_related("organization")
               .filter(digest=digest, revoked_at__isnull=True).first())
        principal = None if key is None else Principal(
            organization_id=key.organization_id, tier=key.organization.plan,
            can_write=key.can_write, key_id=key.pk, key_prefix=key.prefix,
            expires_at=key.expires_at, paused_reason=key.paused_reason)
        key_cache.put(digest, principal)
    if principal is not None and principal.expires_at is not None \
            and principal.expires_at <= (now or timezone.now()):
        return None
    return principal


def refreshed(principal: Principal) -> Principal:
    """The principal with its organization's plan and its key's paused state read now (a
    WebSocket connect, which is rare and long-lived, must not trust the key cache's copy)."""
    plan = Organization.objects.filter(pk=principal.organization_id).values_list(
        "plan", flat=True).first()
    paused = "" if principal.key_id is None else ApiKey.objects.filter(
        pk=principal.key_id).values_list("paused_reason", flat=True).first() or ""
    return dataclasses.replace(principal, tier=plan or principal.tier, paused_reason=paused)


def from_session(request: HttpRequest) -> Principal | None:
    membership = getattr(request, "membership", None)
    if not request.user.is_authenticated or membership is None:
        return None
    return Principal(organization_id=membership.organization_id,
                     tier=membership.organization.plan,
                     can_write=membership.role != Role.VIEWER,
                     user_id=request.user.pk, role=membership.role)


def presented_key(request: HttpRequest) -> str | None:
    """The key from `Authorization: Bearer …` or `X-API-Key`, if any was sent."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
    value = request.META.get("HTTP_X_API_KEY")
    return value.strip() if value is not None else None
