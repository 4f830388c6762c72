"""Telling the channels, at least once.

An incident's transitions (opened, acknowledged, resolved, escalated) are turned into Notices —
one per channel, with the Notification to send — inside the transaction that changes the
incident, so a crash between commit and send loses nothing. `deliver_due` claims due notices
under a lease (as webhook delivery does), sends them through the channel's transport, and
retries transient failures with backoff (a vendor's `retry_after` is honoured). Notifications are
held back — and the timeline says so — while the rule is muted or the organization is in a
maintenance window. `escalate_due` tells a rule's escalation channels about incidents still
unacknowledged after `escalate_after_minutes`.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .models import Channel, Incident, IncidentEvent, MaintenanceWindow, Notice, Rule
from .notifications import Notification, notify_channel
from .services import lease_for

RETRY_SCHEDULE = (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1),
                  timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


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


def queue(incidents: list[Incident], kind: str, *, channels: Iterable[Channel] | None = None,
          now: datetime | None = None, windows: dict | None = None) -> list[Notice]:
    """Notices for one transition of these incidents (one rule's): one notification for all of
    them, to each of the rule's channels (or `channels`). Call inside the transaction."""
    if not incidents:
        return []
    now = now or timezone.now()
    rule = incidents[0].rule
    reason = suppression(rule, now, windows)
    if reason:
        IncidentEvent.objects.bulk_create([IncidentEvent(incident=i, at=now, kind="suppressed",
                                                         detail=f"{kind}: {reason}"[:300])
                                           for i in incidents])
        return []
    targets = list(channels) if channels is not None else \
        [c for c in rule.channels.all() if c.enabled]  # prefetched by the evaluation
    # PagerDuty groups by dedup key itself, and its trigger, acknowledge and resolve must share
    # one: it gets an event per incident. Every other channel gets one message for the group.
    batches = [(target, [incident]) for target in targets if target.kind == Channel.Kind.PAGERDUTY
               for incident in incidents]
    batches += [(target, incidents) for target in targets
                if target.kind != Channel.Kind.PAGERDUTY]
    notifications: dict[tuple[int, ...], dict] = {}
    for _, group in batches:
        key = tuple(i.pk for i in group)
        if key not in notifications:
            notifications[key] = _as_json(_notification(group, kind, now))
    notices = Notice.objects.bulk_create([
        Notice(channel=target, notification=notifications[tuple(i.pk for i in group)],
               created_at=now, next_attempt_at=now) for target, group in batches])
    Notice.incidents.through.objects.bulk_create([
        Notice.incidents.through(notice_id=notice.pk, incident_id=incident.pk)
        for notice, (_, group) in zip(notices, batches, strict=True) for incident in group])
    return notices


def queue_transitions(opened: list[Incident], resolved: list[Incident],
                      now: datetime) -> None:
    """Group by rule: one notice per rule, transition and channel."""
    windows: dict = {}
    for kind, incidents in (("opened", opened), ("resolved", resolved)):
        by_rule: dict[int, list[Incident]] = defaultdict(list)
        for incident in incidents:
            by_rule[incident.rule_id].append(incident)
        for group in by_rule.values():
            queue(group, kind, now=now, windows=windows)


def _notification(incidents: list[Incident], kind: str, now: datetime) -> Notification:
    rule, first = incidents[0].rule, incidents[0]
    single = len(incidents) == 1
    summary = first.summary if single else "; ".join(
        i.summary for i in incidents[:20]) + (" …" if len(incidents) > 20 else "")
    site = settings.OP_SITE_URL.rstrip("/")
    from .services import ack_token

    return Notification(
        kind=kind, title=(f"{rule.name}: {first.subject}" if single
                          else f"{rule.name}: {len(incidents)} subjects")[:200],
        summary=summary, severity=rule.severity, organization=rule.organization.name,
        subject=", ".join(i.subject for i in incidents)[:200],
        dedup_key=f"incident-{first.pk}" if single else f"rule-{rule.pk}-incidents-{first.pk}",
        occurred_at=now, details={"rule": rule.name, "subjects": str(len(incidents)),
                                  "value": first.value},
        incident_url=site + reverse("incident", args=[rule.organization.slug, first.pk]),
        ack_url=(site + reverse("incident_ack", args=[ack_token(first)])
                 if kind == "opened" and single else None))


def _as_json(notification: Notification) -> dict:
    return {**asdict(notification), "occurred_at": notification.occurred_at.isoformat()}


def _from_json(data: dict) -> Notification:
    return Notification(**{**data, "occurred_at": datetime.fromisoformat(data["occurred_at"])})


# --- delivery -----------------------------------------------------------------------------------

def deliver_due(*, now: datetime | None = None, limit: int = 10) -> int:
    claimed = _claim(now or timezone.now(), limit)
    for notice in claimed:
        delivery = notify_channel(notice.channel, _from_json(notice.notification))
        _record(notice, delivery)
    return len(claimed)


@transaction.atomic
def _claim(now: datetime, limit: int) -> list[Notice]:
    due = (Notice.objects.select_related("channel")
           .filter(status=Notice.Status.PENDING, next_attempt_at__lte=now,
                   channel__enabled=True).order_by("next_attempt_at"))
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    claimed = list(due[:limit])
    lease = now + lease_for(len(claimed), 1)  # sent one after another
    Notice.objects.filter(pk__in=[n.pk for n in claimed]).update(next_attempt_at=lease)
    for notice in claimed:
        notice.next_attempt_at = lease  # the claim's token: see _record
    return claimed


@transaction.atomic
def _record(notice: Notice, delivery) -> None:
    now = timezone.now()
    claimed_until = notice.next_attempt_at
    notice.attempts += 1
    notice.detail = delivery.detail[:300]
    channel = notice.channel
    if delivery.ok:
        notice.status, kind = Notice.Status.SENT, "notified"
    elif delivery.permanent or notice.attempts > len(RETRY_SCHEDULE):
        notice.status, kind = Notice.Status.FAILED, "notify_failed"
    else:
        step = RETRY_SCHEDULE[notice.attempts - 1] * random.uniform(0.9, 1.1)
        wait = max(step, timedelta(seconds=delivery.retry_after or 0))
        notice.next_attempt_at, kind = now + wait, None
    # Only while our claim holds (a stale outcome must not overwrite a later attempt's).
    if not Notice.objects.filter(pk=notice.pk, status=Notice.Status.PENDING,
                                 next_attempt_at=claimed_until).update(
            status=notice.status, attempts=F("attempts") + 1,
            next_attempt_at=notice.next_attempt_at, detail=notice.detail):
        return
    if kind:
        what = notice.notification["kind"]
        IncidentEvent.objects.bulk_create([
            IncidentEvent(incident=incident, at=now, kind=kind,
                          detail=f"{what} via {channel.name} ({channel.kind}): "
                                 f"{delivery.detail}"[:300])
            for incident in notice.incidents.all()])


# --- escalation ---------------------------------------------------------------------------------

def escalate_due(*, now: datetime | None = None) -> int:
    """Incidents still open (not acknowledged) past their rule's escalate_after_minutes: tell
    its escalation channels, once, one notice per rule for those escalating together. Held
    back — and not used up — while the rule is muted or the organization in maintenance.
    Returns how many incidents escalated."""
    now = now or timezone.now()
    candidates = (Incident.objects.select_related("rule__organization")
                  .filter(state=Incident.State.OPEN, rule__enabled=True,
                          rule__escalate_after_minutes__gt=0)
                  .exclude(events__kind="escalated"))
    by_rule: dict[int, list[Incident]] = defaultdict(list)
    for incident in candidates:
        if now - incident.opened_at >= timedelta(minutes=incident.rule.escalate_after_minutes):
            by_rule[incident.rule_id].append(incident)
    escalated = 0
    with transaction.atomic():
        for group in by_rule.values():
            rule = group[0].rule
            if suppression(rule, now):
                continue  # escalates when the mute or the maintenance window ends
            IncidentEvent.objects.bulk_create([IncidentEvent(
                incident=incident, at=now, kind="escalated",
                detail=f"unacknowledged after {rule.escalate_after_minutes} min")
                for incident in group])
            queue(group, "opened", now=now,
                  channels=rule.escalation_channels.filter(enabled=True))
            escalated += len(group)
    return escalated
