"""The alerts' per-organization reads, shared by the pages (views.py) and the API (api.py):
each takes the organization's id, so one tenant's objects are never found through another's.
Callers turn a missing object into a 404 (`get_object_or_404(channels_of(org_id), pk=…)`)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import (
    Channel,
    DeliveryAttempt,
    Incident,
    MaintenanceWindow,
    Rule,
    WebhookEndpoint,
    WebhookMessage,
)

UNRESOLVED = (Incident.State.OPEN, Incident.State.ACKNOWLEDGED)


# --- webhooks -----------------------------------------------------------------------------------

def endpoints_of(organization_id: int) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization_id=organization_id)


def messages_with_attempts(endpoint: WebhookEndpoint) -> QuerySet[WebhookMessage]:
    """The endpoint's messages, each with its delivery attempts newest first."""
    return endpoint.messages.prefetch_related(Prefetch(
        "delivery_attempts", queryset=DeliveryAttempt.objects.order_by("-started_at", "-pk")))


# --- channels -----------------------------------------------------------------------------------

def channels_of(organization_id: int) -> QuerySet[Channel]:
    return Channel.objects.filter(organization_id=organization_id)


def channels_with_rule_counts(organization_id: int) -> QuerySet[Channel]:
    return channels_of(organization_id).annotate(rule_count=Count("rules"))


# --- rules --------------------------------------------------------------------------------------

def rules_of(organization_id: int) -> QuerySet[Rule]:
    return Rule.objects.filter(organization_id=organization_id)


def rules_with_channel_ids(organization_id: int) -> QuerySet[Rule]:
    """Rules with their channels' and escalation channels' ids prefetched (nothing else of
    them)."""
    return rules_of(organization_id).prefetch_related(
        Prefetch("channels", queryset=Channel.objects.only("pk")),
        Prefetch("escalation_channels", queryset=Channel.objects.only("pk")))


def rules_with_open_incidents(organization_id: int) -> QuerySet[Rule]:
    """Rules with their channels and how many of their incidents are unresolved
    (`open_incidents`)."""
    return (rules_of(organization_id).prefetch_related("channels")
            .annotate(open_incidents=Count("incidents",
                                           filter=Q(incidents__state__in=UNRESOLVED))))


# --- maintenance windows ------------------------------------------------------------------------

def windows_of(organization_id: int) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(organization_id=organization_id)


def current_windows(organization_id: int, now: datetime) -> QuerySet[MaintenanceWindow]:
    return windows_of(organization_id).filter(starts_at__lte=now, ends_at__gt=now)


def upcoming_windows(organization_id: int, now: datetime) -> QuerySet[MaintenanceWindow]:
    return windows_of(organization_id).filter(starts_at__gt=now)


def past_windows(organization_id: int, now: datetime) -> QuerySet[MaintenanceWindow]:
    return windows_of(organization_id).filter(ends_at__lte=now)


# --- incidents ----------------------------------------------------------------------------------

def incidents_of(organization_id: int, *, state: str | None = None, unresolved: bool = False,
                 rule_id: int | None = None) -> QuerySet[Incident]:
    """The organization's incidents with their rules; only those in `state`, or `unresolved`
    (open or acknowledged), or of `rule_id`, if asked."""
    incidents = Incident.objects.filter(organization_id=organization_id).select_related("rule")
    if unresolved:
        incidents = incidents.filter(state__in=UNRESOLVED)
    if state is not None:
        incidents = incidents.filter(state=state)
    if rule_id is not None:
        incidents = incidents.filter(rule_id=rule_id)
    return incidents
