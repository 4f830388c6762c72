"""Reads of the audit log, always within one organization (the page and the API share them)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from .models import AuditEvent


def events_for(organization_id: int, *, action_prefix: str | None = None,
               actor: str | None = None, since: datetime | None = None,
               until: datetime | None = None) -> QuerySet[AuditEvent]:
    """Newest first. `action_prefix`: a group ("api_keys") or one action ("api_keys.created");
    `actor`: a user's email or an API key's prefix; `since` inclusive, `until` exclusive."""
    events = AuditEvent.objects.filter(organization_id=organization_id)
    if action_prefix:
        events = events.filter(Q(action=action_prefix)
                               | Q(action__startswith=f"{action_prefix.rstrip('.')}."))
    if actor:
        events = events.filter(Q(actor_email__iexact=actor) | Q(api_key_prefix=actor))
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events.order_by("-created_at", "-id")


def actors_of(organization_id: int) -> list[str]:
    """Everyone who appears in the organization's log: emails, then key prefixes."""
    events = AuditEvent.objects.filter(organization_id=organization_id).order_by()
    emails = events.exclude(actor_email="").values_list("actor_email", flat=True).distinct()
    prefixes = events.filter(actor_email="").exclude(api_key_prefix="") \
        .values_list("api_key_prefix", flat=True).distinct()
    return sorted(emails) + sorted(prefixes)
