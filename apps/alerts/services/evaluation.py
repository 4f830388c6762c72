"""Rule evaluation: the pairs' latest states (what refresh_pairs computes) against every
enabled rule, turning conditions into incidents.

Each rule's kind reads its subjects (apps/alerts/rule_kinds). Per (rule, subject) a Condition
remembers since when it breaches or is clear, so an incident opens only once the condition has
held for `for_seconds`, and resolves only once it has been clear for `resolve_after_seconds`.
Incidents, their `alert.opened` / `alert.resolved` webhook messages and the notices for the
rule's channels are written in one transaction — one notification per rule for all the subjects
that opened together: a whole protocol going stale is one message, not forty — and delivered
right after it commits by the delivery task `alerts.deliver_now` (apps/alerts/tasks/delivery.py,
queued by name; the periodic delivery retries).

`evaluate_pairs` is what runs after the pairs' states are refreshed: one evaluation at a time,
the rules and the state-derived webhook events (`price.updated`, `feed.status_changed`) in one
transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.models import Condition, Event, Incident, IncidentEvent, Rule
from apps.alerts.rule_kinds import rule_kind
from apps.alerts.rule_kinds.base import Context, Reading
from apps.feeds.models import Pair
from apps.feeds.pair_state import pair_states

from .incidents import deliver_soon, queue_transitions
from .state_events import publish_changes
from .webhooks import publish_many

EVALUATION_LOCK = 0x0A1E7  # pg_advisory_xact_lock key of the rule evaluation


def evaluate_pairs(pair_ids: list[int]) -> None:
    """Evaluate the rules against these pairs' latest states, and derive their webhook events;
    once that commits, what it wrote is sent by the delivery task."""
    with transaction.atomic():
        # One evaluation at a time, each reading the states only once it holds the lock: two
        # workers racing on one subject would collide on its incident (rolling a whole batch
        # back), and an older state evaluated after a newer one would reopen what it resolved.
        hold_evaluation_lock()
        states = list(pair_states(list(Pair.objects.filter(pk__in=pair_ids))).values())
        changed = evaluate(states)  # queues the delivery after the commit if incidents changed
        messages = publish_changes(states)
        if messages and not (changed["opened"] or changed["resolved"]):
            transaction.on_commit(lambda: deliver_soon([]), robust=True)


def hold_evaluation_lock() -> None:
    """Wait for a running evaluation to commit, and keep the next one out until this transaction
    ends. What pauses, disables or deletes a rule holds it too: otherwise an evaluation that read
    the rule before the change could open an incident for it just after its incidents were
    closed (or fail on its deleted row, rolling back the whole batch)."""
    if connection.vendor == "postgresql":  # SQLite: one writer at a time anyway
        assert connection.in_atomic_block, "the lock lasts as long as a transaction"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVALUATION_LOCK])


def readings(rule: Rule, states: Iterable[dict], context: Context | None = None
             ) -> list[Reading]:
    """The rule's subjects among these pair states, each breaching or not."""
    return rule_kind(rule.kind).readings(rule, list(states), context or Context(timezone.now()))


def evaluate(states: Iterable[dict], *, now: datetime | None = None,
             rules: Iterable[Rule] | None = None) -> dict[str, list[Incident]]:
    """Evaluate every enabled rule (or `rules`) against these pair states; returns the incidents
    opened and resolved."""
    now = now or timezone.now()
    states = list(states)
    rules = list(rules if rules is not None else
                 Rule.objects.filter(enabled=True, paused_reason="").select_related("organization")
                 .prefetch_related("channels"))
    context = Context(now)
    by_rule = {rule: readings(rule, states, context) for rule in rules}
    by_rule = {rule: found for rule, found in by_rule.items() if found}
    if not by_rule:
        return {"opened": [], "resolved": []}
    with transaction.atomic():
        opened, resolved = _apply(by_rule, now)
        queue_transitions(opened, resolved, now)
        if opened or resolved:
            # Deliver now rather than at the next periodic tick (which remains the safety net),
            # in the delivery task: a slow receiver must not hold up the next evaluation.
            ids = [incident.pk for incident in (*opened, *resolved)]
            transaction.on_commit(lambda: deliver_soon(ids), robust=True)
    return {"opened": opened, "resolved": resolved}


def _apply(by_rule: dict[Rule, list[Reading]], now: datetime
           ) -> tuple[list[Incident], list[Incident]]:
    """Move each (rule, subject)'s condition on, then open and resolve incidents in bulk: an
    evaluation that opens a hundred incidents is a handful of statements, not hundreds."""
    pairs = [(rule.pk, r.subject) for rule, found in by_rule.items() for r in found]
    rule_ids, subjects = {p[0] for p in pairs}, {p[1] for p in pairs}
    conditions = {(c.rule_id, c.subject): c for c in Condition.objects.select_for_update()
                  .filter(rule_id__in=rule_ids, subject__in=subjects)}
    rules = {rule.pk: rule for rule in by_rule}
    incidents = {(i.rule_id, i.subject): i for i in Incident.objects.select_for_update()
                 .filter(rule_id__in=rule_ids, subject__in=subjects)
                 .exclude(state=Incident.State.RESOLVED)}
    for incident in incidents.values():
        incident.rule = rules[incident.rule_id]  # already loaded, with its organization
    to_open: list[tuple[Rule, Reading]] = []
    to_resolve: list[tuple[Incident, Reading]] = []
    created, changed = [], []
    for rule, found in by_rule.items():
        for reading in found:
            key = (rule.pk, reading.subject)
            condition = conditions.get(key)
            if condition is None:
                condition = Condition(rule=rule, subject=reading.subject)
                created.append(condition)
            before = (condition.breaching_since, condition.clear_since)
            current = incidents.get(key)
            if reading.breaching is None and current is None:
                continue  # unknown (or inside a band) with nothing open: the clocks hold
            if reading.breaching or (reading.breaching is None and current is not None):
                condition.clear_since = None
                if reading.breaching:
                    condition.breaching_since = condition.breaching_since or now
                if current is None and condition.breaching_since is not None and \
                        now - condition.breaching_since >= timedelta(seconds=rule.for_seconds):
                    to_open.append((rule, reading))
            else:
                condition.breaching_since = None
                if current is not None:
                    condition.clear_since = condition.clear_since or now
                    if now - condition.clear_since >= timedelta(
                            seconds=rule.resolve_after_seconds):
                        to_resolve.append((current, reading))
                        condition.clear_since = None
            if condition.pk and (condition.breaching_since, condition.clear_since) != before:
                changed.append(condition)
    Condition.objects.bulk_create(created)
    Condition.objects.bulk_update(changed, ["breaching_since", "clear_since"])
    return _open(to_open, now), _resolve(to_resolve, now)


def _open(to_open: list[tuple[Rule, Reading]], now: datetime) -> list[Incident]:
    opened = Incident.objects.bulk_create([
        Incident(rule=rule, organization_id=rule.organization_id, subject=reading.subject,
                 summary=reading.summary[:300], value=reading.value[:80], opened_at=now)
        for rule, reading in to_open])
    _record(opened, "opened", [reading for _, reading in to_open], now)
    publish_many([(i.organization_id, Event.ALERT_OPENED, _payload(i), None) for i in opened],
                 now=now)
    return opened


def _resolve(to_resolve: list[tuple[Incident, Reading]], now: datetime) -> list[Incident]:
    resolved = [incident for incident, _ in to_resolve]
    for incident in resolved:
        incident.state, incident.resolved_at = Incident.State.RESOLVED, now
    Incident.objects.bulk_update(resolved, ["state", "resolved_at"])
    _record(resolved, "resolved", [reading for _, reading in to_resolve], now)
    publish_many([(i.organization_id, Event.ALERT_RESOLVED, _payload(i), None)
                  for i in resolved], now=now)
    return resolved


def _record(incidents: list[Incident], kind: str, readings_: list[Reading],
            now: datetime) -> None:
    IncidentEvent.objects.bulk_create([
        IncidentEvent(incident=incident, at=now, kind=kind, detail=reading.summary[:300])
        for incident, reading in zip(incidents, readings_, strict=True)])


def _payload(incident: Incident) -> dict:
    rule = incident.rule
    return {"incident": incident.pk, "state": incident.state, "subject": incident.subject,
            "summary": incident.summary, "value": incident.value, "severity": rule.severity,
            "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind},
            "opened_at": incident.opened_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None}
