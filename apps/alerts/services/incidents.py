"""Incidents after they open: who is told about each transition, acknowledging, escalating.

An incident's transitions (opened, acknowledged, resolved, escalated) are turned into Notices —
one per channel, with the Notification to send — inside the transaction that changes the
incident, so a crash between commit and send loses nothing (apps/alerts/services/delivery.py
sends them). Notifications are held back — and the timeline says so — while the rule is muted or
the organization is in a maintenance window (apps/alerts/services/maintenance.py).

Acknowledging (from the incident's page, the API, or the signed one-click link of a
notification) is recorded on the timeline, tells the channels (PagerDuty stops paging) and stops
escalation: `escalate_due` tells a rule's escalation channels, once, about incidents still
unacknowledged after `escalate_after_minutes`.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from celery import current_app
from django.conf import settings
from django.core import signing as signing_tokens
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import Channel, Incident, IncidentEvent, Notice
from apps.alerts.notifications import Kind, Notification, Severity
from apps.alerts.transports import transport_class
from apps.common.enqueue import enqueue

from .maintenance import suppression

ACK_SALT = "alerts.acknowledge"
ACK_MAX_AGE = timedelta(days=7)
DELIVER_NOW = "alerts.deliver_now"  # the task that sends what is due, by name (see deliver_soon)


# --- acknowledge links --------------------------------------------------------------------------

def ack_token(incident: Incident) -> str:
    """A token for the one-click acknowledge link in notifications (signed, expires)."""
    return signing_tokens.dumps({"incident": incident.pk}, salt=ACK_SALT, compress=True)


def incident_for_ack_token(token: str) -> Incident | None:
    try:
        data = signing_tokens.loads(token, salt=ACK_SALT,
                                    max_age=ACK_MAX_AGE)
    except signing_tokens.BadSignature:
        return None
    return Incident.objects.select_related("rule").filter(pk=data.get("incident")).first()


# --- notices ------------------------------------------------------------------------------------

def queue(incidents: list[Incident], kind: Kind, *, channels: Iterable[Channel] | None = None,
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
        [c for c in rule.channels.all() if c.enabled and not c.paused_reason]  # prefetched
    # A channel that groups by dedup key itself (PagerDuty: its trigger, acknowledge and resolve
    # must share one) gets a message per incident; every other one a message for the group.
    per_incident = [transport_class(target.kind).per_incident for target in targets]
    batches = [(target, [incident]) for target, each in zip(targets, per_incident, strict=True)
               if each for incident in incidents]
    batches += [(target, incidents) for target, each in zip(targets, per_incident, strict=True)
                if not each]
    notifications: dict[tuple[int, ...], dict] = {}
    for _, group in batches:
        key = tuple(i.pk for i in group)
        if key not in notifications:
            notifications[key] = _notification(group, kind, now).as_json()
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
    transitions: tuple[tuple[Kind, list[Incident]], ...] = (("opened", opened),
                                                            ("resolved", resolved))
    for kind, incidents in transitions:
        by_rule: dict[int, list[Incident]] = defaultdict(list)
        for incident in incidents:
            by_rule[incident.rule_id].append(incident)
        for group in by_rule.values():
            queue(group, kind, now=now, windows=windows)


def _notification(incidents: list[Incident], kind: Kind, now: datetime) -> Notification:
    rule, first = incidents[0].rule, incidents[0]
    single = len(incidents) == 1
    summary = first.summary if single else "; ".join(
        i.summary for i in incidents[:20]) + (" …" if len(incidents) > 20 else "")
    site = settings.OP_SITE_URL.rstrip("/")
    return Notification(
        kind=kind, title=(f"{rule.name}: {first.subject}" if single
                          else f"{rule.name}: {len(incidents)} subjects")[:200],
        # Rule.severity's choices are SEVERITIES (and Notification checks it again).
        summary=summary, severity=cast(Severity, rule.severity),
        organization=rule.organization.name,
        subject=", ".join(i.subject for i in incidents)[:200],
        dedup_key=f"incident-{first.pk}" if single else f"rule-{rule.pk}-incidents-{first.pk}",
        occurred_at=now, details={"rule": rule.name, "subjects": str(len(incidents)),
                                  "value": first.value},
        incident_url=site + reverse("incident", args=[rule.organization.slug, first.pk]),
        ack_url=(site + reverse("incident_ack", args=[ack_token(first)])
                 if kind == "opened" and single else None))


# --- acknowledging ------------------------------------------------------------------------------

def acknowledge(incident: Incident, *, by: str, now: datetime | None = None) -> Incident:
    """Someone is on it: recorded on the timeline (escalation stops there)."""
    if incident.state != Incident.State.OPEN:
        return incident
    now = now or timezone.now()
    with transaction.atomic():
        # Conditional: an evaluation may have resolved it since this copy was read.
        if not Incident.objects.filter(pk=incident.pk, state=Incident.State.OPEN).update(
                state=Incident.State.ACKNOWLEDGED, acknowledged_at=now):
            incident.refresh_from_db()
            return incident
        incident.state, incident.acknowledged_at = Incident.State.ACKNOWLEDGED, now
        IncidentEvent.objects.create(incident=incident, at=now, kind="acknowledged",
                                     detail=f"by {by}"[:300])
        queue([incident], "acknowledged", now=now)  # PagerDuty stops paging
        transaction.on_commit(lambda: deliver_soon([incident.pk]), robust=True)
    return incident


def deliver_soon(trigger_ids: list[int]) -> None:
    """Send what is due now, in the delivery task (off the request, off the evaluation), found
    by its name: the services never import the tasks, which import them."""
    enqueue(current_app.tasks[DELIVER_NOW], trigger_ids)


# --- escalation ---------------------------------------------------------------------------------

def escalate_due(*, now: datetime | None = None) -> int:
    """Incidents still open (not acknowledged) past their rule's escalate_after_minutes: tell
    its escalation channels, once, one notice per rule for those escalating together. Held
    back — and not used up — while the rule is muted or the organization in maintenance.
    Returns how many incidents escalated."""
    now = now or timezone.now()
    candidates = (Incident.objects.select_related("rule__organization")
                  .filter(state=Incident.State.OPEN, rule__enabled=True, rule__paused_reason="",
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
                  channels=rule.escalation_channels.filter(enabled=True, paused_reason=""))
            escalated += len(group)
    return escalated
