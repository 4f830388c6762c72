"""Holding notifications back and escalating: a rule's mute, the organization's maintenance
windows, a rule's escalation settings — and `suppression`, whether a rule's notifications are
held back now (apps/alerts/services/incidents.py asks before queueing any)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Organization
from apps.alerts.models import Channel, MaintenanceWindow, Rule
from apps.audit.services import diff, record

MAX_ESCALATE_MINUTES = 7 * 24 * 60
MAX_MUTE = timedelta(days=90)
MAX_WINDOW = timedelta(days=30)


def suppression(rule: Rule, now: datetime, windows: dict | None = None) -> str | None:
    """Why the rule's notifications are held back now, if they are (`windows`: a cache of the
    organizations' current maintenance windows, shared by the calls of one evaluation)."""
    if rule.muted_until and rule.muted_until > now:
        return f"rule muted until {rule.muted_until:%Y-%m-%d %H:%M} UTC"
    windows = {} if windows is None else windows
    if rule.organization_id not in windows:
        windows[rule.organization_id] = MaintenanceWindow.objects.filter(
            organization_id=rule.organization_id, starts_at__lte=now, ends_at__gt=now).first()
    window = windows[rule.organization_id]
    return f"maintenance window: {window.reason or 'planned work'}" if window else None


def _escalation(rule: Rule) -> dict:
    return {"after_minutes": rule.escalate_after_minutes,
            "channels": sorted(rule.escalation_channels.values_list("name", flat=True))}


def _window(window: MaintenanceWindow) -> dict:
    return {"starts_at": window.starts_at, "ends_at": window.ends_at, "reason": window.reason}


@transaction.atomic
def set_escalation(rule: Rule, *, channels: Iterable[int], after_minutes: int) -> Rule:
    """Who is told when an incident stays unacknowledged for `after_minutes` (0: nobody)."""
    channel_ids = list(channels)
    errors = {}
    if not isinstance(after_minutes, int) or not 0 <= after_minutes <= MAX_ESCALATE_MINUTES:
        errors["after_minutes"] = "Whole minutes from 0 (never) to 10080 (a week)."
    owned = set(Channel.objects.filter(organization_id=rule.organization_id,
                                       pk__in=channel_ids).values_list("pk", flat=True))
    if set(channel_ids) - owned:
        errors["channels"] = "Unknown channels."
    if after_minutes and not channel_ids:
        errors["channels"] = "Escalating needs at least one channel."
    if errors:
        raise ValidationError(errors)
    audited = _escalation(rule)
    rule.escalate_after_minutes = after_minutes
    rule.save(update_fields=["escalate_after_minutes"])
    rule.escalation_channels.set(owned)
    old, new = diff(audited, _escalation(rule))
    if new:
        record(rule.organization_id, "alert_rules.escalation_changed", target=rule,
               before=old, after=new)
    return rule


@transaction.atomic
def mute_rule(rule: Rule, *, until: datetime | None, now: datetime | None = None) -> Rule:
    """Hold the rule's notifications back until `until` (None: unmute). Incidents still open
    and resolve, and their timelines say what was held back."""
    now = now or timezone.now()
    if until is not None and (until.utcoffset() is None or until <= now
                              or until - now > MAX_MUTE):
        raise ValidationError({"until": "A time with a zone, in the next 90 days."})
    before, rule.muted_until = rule.muted_until, until
    rule.save(update_fields=["muted_until"])
    if before != until:
        record(rule.organization_id, "alert_rules.muted" if until else "alert_rules.unmuted",
               target=rule, before={"muted_until": before}, after={"muted_until": until})
    return rule


@transaction.atomic
def create_maintenance_window(organization: Organization, *, starts_at: datetime,
                              ends_at: datetime, reason: str = "",
                              now: datetime | None = None) -> MaintenanceWindow:
    now = now or timezone.now()
    errors = {}
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.utcoffset() is None:
            errors[name] = "A time with a zone."
    if not errors and ends_at <= starts_at:
        errors["ends_at"] = "Must be after starts_at."
    if not errors and ends_at <= now:
        errors["ends_at"] = "Must be in the future."
    if not errors and ends_at - starts_at > MAX_WINDOW:
        errors["ends_at"] = "A window lasts at most 30 days."
    if errors:
        raise ValidationError(errors)
    window = MaintenanceWindow.objects.create(organization=organization, starts_at=starts_at,
                                              ends_at=ends_at, reason=reason.strip()[:200])
    record(organization.pk, "maintenance_windows.created", target=window, after=_window(window))
    return window


def delete_maintenance_window(window: MaintenanceWindow) -> None:
    """Notifications are no longer held back for it."""
    with transaction.atomic():
        record(window.organization_id, "maintenance_windows.deleted", target=window,
               before=_window(window))
        window.delete()
