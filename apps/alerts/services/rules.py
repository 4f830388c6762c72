"""Alert rules: created, changed, deleted — the kind's params checked by the kind itself
(apps/alerts/rule_kinds), the target checked to exist, the channels checked to be the
organization's own. A rule that no longer means what it did closes what it opened — also when
the plan pauses it (`enforce_rules`)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Organization
from apps.alerts.models import Channel, Event, Incident, IncidentEvent, Rule
from apps.alerts.notifications import SEVERITIES
from apps.alerts.rule_kinds import RULE_KINDS, rule_kind
from apps.audit.services import diff, record
from apps.billing.limits import LimitReached, check_room, enforce_count
from apps.feeds.models import Feed, Pair
from apps.protocols.models import Protocol

from .evaluation import hold_evaluation_lock
from .plan_limits import record_fit
from .webhooks import publish_many

MAX_SECONDS = 7 * 86400
_AUDITED = ("name", "kind", "scope", "target", "params", "for_seconds", "resolve_after_seconds",
            "severity", "enabled")


def _snapshot(rule: Rule) -> dict:
    """What the audit log shows of a rule (its channels by name)."""
    return {**{name: getattr(rule, name) for name in _AUDITED},
            "channels": sorted(rule.channels.values_list("name", flat=True))}


def _clean_rule(organization: Organization, *, kind: str, scope: str, target: str,
                params: dict, for_seconds: int, resolve_after_seconds: int, severity: str,
                channels: Iterable[int]) -> dict:
    errors: dict[str, str] = {}
    definition = rule_kind(kind) if kind in RULE_KINDS else None
    if definition is None:
        errors["kind"] = f"One of: {', '.join(RULE_KINDS)}."
    if scope not in Rule.Scope.values:
        errors["scope"] = f"One of: {', '.join(Rule.Scope.values)}."
    elif definition is not None and scope not in definition.scopes:
        errors["scope"] = definition.scope_error
    lookups: dict[str, QuerySet] = {Rule.Scope.FEED: Feed.objects.filter(key=target),
                                    Rule.Scope.PAIR: Pair.objects.filter(slug=target),
                                    Rule.Scope.PROTOCOL: Protocol.objects.filter(slug=target)}
    if scope in lookups and not lookups[scope].exists():
        errors["target"] = f"No {scope} {target!r}."
    target = "" if scope == Rule.Scope.ALL else target
    params = params if isinstance(params, dict) else {}
    cleaned = definition.clean_params(params, errors) if definition is not None else {}
    for name, value in (("for_seconds", for_seconds),
                        ("resolve_after_seconds", resolve_after_seconds)):
        if not isinstance(value, int) or not 0 <= value <= MAX_SECONDS:
            errors[name] = f"Whole seconds from 0 to {MAX_SECONDS}."
    if severity not in SEVERITIES:
        errors["severity"] = f"One of: {', '.join(SEVERITIES)}."
    channel_ids = list(channels)
    owned = set(Channel.objects.filter(organization=organization, pk__in=channel_ids)
                .values_list("pk", flat=True))
    if set(channel_ids) - owned:
        errors["channels"] = "Unknown channels."
    if errors:
        raise ValidationError(errors)
    return {"kind": kind, "scope": scope, "target": target, "params": cleaned,
            "for_seconds": for_seconds, "resolve_after_seconds": resolve_after_seconds,
            "severity": severity, "channels": sorted(owned)}


@transaction.atomic
def create_rule(organization: Organization, *, name: str, kind: str, scope: str,
                target: str = "", params: dict | None = None, for_seconds: int = 0,
                resolve_after_seconds: int = 60, severity: str = "warning",
                channels: Iterable[int] = (), enabled: bool = True) -> Rule:
    if not name.strip():
        raise ValidationError({"name": "A rule needs a name."})
    try:
        check_room(organization, "alert_rules", organization.alert_rules.count())
    except LimitReached as error:
        raise ValidationError({"name": str(error)}) from error
    fields = _clean_rule(organization, kind=kind, scope=scope, target=target,
                         params=params or {}, for_seconds=for_seconds,
                         resolve_after_seconds=resolve_after_seconds, severity=severity,
                         channels=channels)
    channel_ids = fields.pop("channels")
    rule = Rule.objects.create(organization=organization, name=name.strip()[:100],
                               enabled=enabled, **fields)
    rule.channels.set(channel_ids)
    record(organization.pk, "alert_rules.created", target=rule, after=_snapshot(rule))
    return rule


def update_rule(rule: Rule, *, name: str, kind: str, scope: str, target: str = "",
                params: dict | None = None, for_seconds: int = 0,
                resolve_after_seconds: int = 60, severity: str = "warning",
                channels: Iterable[int] = (), enabled: bool = True) -> Rule:
    if not name.strip():
        raise ValidationError({"name": "A rule needs a name."})
    fields = _clean_rule(rule.organization, kind=kind, scope=scope, target=target,
                         params=params or {}, for_seconds=for_seconds,
                         resolve_after_seconds=resolve_after_seconds, severity=severity,
                         channels=channels)
    channel_ids = fields.pop("channels")
    changed = [what for what, before, after in (
        ("kind", rule.kind, fields["kind"]), ("scope", rule.scope, fields["scope"]),
        ("target", rule.target, fields["target"]), ("params", rule.params, fields["params"]),
    ) if before != after]
    reason = "rule disabled" if rule.enabled and not enabled else \
        f"rule changed ({', '.join(changed)})" if changed else None
    action = "alert_rules.paused" if rule.enabled and not enabled else \
        "alert_rules.resumed" if enabled and not rule.enabled else "alert_rules.updated"
    audited = _snapshot(rule)
    for field_name, value in fields.items():
        setattr(rule, field_name, value)
    rule.name, rule.enabled = name.strip()[:100], enabled
    with transaction.atomic():
        if reason:
            hold_evaluation_lock()
        rule.save()
        rule.channels.set(channel_ids)
        if reason:
            _close_incidents(rule, reason)
        old, new = diff(audited, _snapshot(rule))
        if new:
            record(rule.organization_id, action, target=rule, before=old, after=new)
    return rule


def delete_rule(rule: Rule) -> None:
    """The rule and its incidents."""
    with transaction.atomic():
        hold_evaluation_lock()
        record(rule.organization_id, "alert_rules.deleted", target=rule,
               before=_snapshot(rule))
        rule.delete()
        enforce_rules(rule.organization)  # room freed: the oldest paused rule resumes


@transaction.atomic
def enforce_rules(organization: Organization) -> list[Rule]:
    """Pause the newest rules past the plan's count and resume those that fit again (nothing is
    deleted); returns the rules whose paused state changed. A paused rule is not evaluated, so
    like a disabled one it closes what it opened; when it resumes it starts afresh."""
    hold_evaluation_lock()
    rules = enforce_count(organization, "alert_rules", Rule.objects.filter(
        organization=organization).order_by("created_at", "pk"))
    for rule in rules:
        record_fit(organization, "alert_rules", rule)
        if rule.paused_reason:
            _close_incidents(rule, paused_by_plan(rule.paused_reason))
    return rules


def paused_by_plan(paused_reason: str) -> str:
    """What an incident closed by the plan's pause says, e.g. "rule paused by the plan (the Free
    plan allows 5 alert rules)"."""
    return f"rule paused by the plan ({paused_reason.removeprefix('Paused: ').rstrip('.')})"


def _close_incidents(rule: Rule, reason: str, now: datetime | None = None) -> None:
    """A rule that no longer means what it did (or no longer runs) closes what it opened —
    otherwise those incidents would stay open forever — and starts its conditions afresh."""
    now = now or timezone.now()
    unresolved = list(rule.incidents.exclude(state=Incident.State.RESOLVED))
    for incident in unresolved:
        incident.state, incident.resolved_at = Incident.State.RESOLVED, now
    Incident.objects.bulk_update(unresolved, ["state", "resolved_at"])
    IncidentEvent.objects.bulk_create([IncidentEvent(incident=i, at=now, kind="resolved",
                                                     detail=reason) for i in unresolved])
    publish_many([(rule.organization_id, Event.ALERT_RESOLVED,
                   {"incident": i.pk, "state": i.state, "subject": i.subject,
                    "summary": f"{i.summary} — closed: {reason}", "value": i.value,
                    "severity": rule.severity,
                    "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind},
                    "opened_at": i.opened_at.isoformat(), "resolved_at": now.isoformat()},
                   None) for i in unresolved], now=now)
    rule.conditions.all().delete()
