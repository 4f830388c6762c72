"""Reads: what the public probe endpoints check, each protocol's ingestion state, availability
over days and months (apps/status/availability.py does the arithmetic), the /status/ page's
data, organizations' plans over a month (from the audit log) and an organization's SLA
credits."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.accounts.models import Organization
from apps.audit.models import AuditEvent
from apps.feeds.models import Feed, Pair
from apps.feeds.pair_state import state_key
from apps.protocols.models import FeedReadState, Protocol
from apps.protocols.selectors import ingestion_delays

from .availability import (
    DAY,
    MINUTE,
    DayRow,
    Tally,
    as_percent,
    covered_until,
    daily_tallies,
    day_start,
    floor_minute,
    overall_ratio,
    totals,
)
from .models import (
    API,
    INGESTION,
    WEBSOCKET,
    ComponentDay,
    IncidentStatus,
    PlatformIncident,
    ProbeResult,
    SlaCredit,
    State,
    ingestion_component,
)
from .probe import DETAIL_LENGTH, Check

PAGE_DAYS = 90
STALE_PROBE = timedelta(minutes=3)  # older than this, the page says the probe is not running


def service_check() -> None:
    """What every API answer needs, touched once: a database query and a read of the
    pair-state cache (Redis in production). Raises what the database or the cache raised."""
    pair_id = Pair.objects.filter(feeds__enabled=True).values_list("pk", flat=True).first()
    cache.get(state_key(pair_id or 0))


def ingestion_checks(now: datetime) -> list[Check]:
    """Each enabled protocol's ingestion from the platform's own records: down when every
    source of it (the protocol on a chain, or its API) is delayed — no sync run for
    OP_INGESTION_DELAY_SECONDS or its circuit breaker open (apps.protocols.selectors) —,
    degraded when some are or some feeds' reads keep failing. It counts as available when no
    source is delayed: failing feeds are the source's fault, not the platform's."""
    sources: dict[str, list[tuple[int, int | None, str]]] = defaultdict(list)
    for protocol_id, slug, chain_id, chain in (
            Feed.objects.filter(enabled=True).order_by()
            .values_list("protocol_id", "protocol__slug", "chain_id", "chain__slug").distinct()):
        sources[slug].append((protocol_id, chain_id, chain or "its API"))
    delays = ingestion_delays(now)
    failing: dict[str, int] = defaultdict(int)
    for slug in FeedReadState.objects.filter(ok=False, feed__enabled=True).values_list(
            "feed__protocol__slug", flat=True):
        failing[slug] += 1
    checks = []
    for slug in sorted(sources):
        delayed = [f"{where}: {delays[(p, c)]}" for p, c, where in sorted(
            sources[slug], key=lambda s: s[2]) if (p, c) in delays]
        if len(delayed) == len(sources[slug]):
            state = State.DOWN
        elif delayed or failing[slug]:
            state = State.DEGRADED
        else:
            state = State.UP
        notes = delayed + ([f"{failing[slug]} feed(s) failing reads"] if failing[slug] else [])
        checks.append(Check(ingestion_component(slug), not delayed, state,
                            detail="; ".join(notes)[:DETAIL_LENGTH]))
    return checks


def last_probe_at() -> datetime | None:
    return ProbeResult.objects.order_by("-at").values_list("at", flat=True).first()


def firsts() -> dict[str, datetime]:
    """Each component's first recorded minute (its earliest day's `since`)."""
    earliest = ComponentDay.objects.filter(component=OuterRef("component")).order_by("day")
    return dict(ComponentDay.objects.filter(day=Subquery(earliest.values("day")[:1]))
                .values_list("component", "since"))


def _rows(start: date, end: date) -> list[DayRow]:
    return [DayRow(*values) for values in ComponentDay.objects.filter(day__gte=start, day__lt=end)
            .values_list("component", "day", "minutes", "ok_minutes")]


def month_availability(month: date) -> Decimal | None:
    """The SLA's figure for a closed month (docs/sla.md): the worst of the API, the WebSocket
    API and ingestion (the mean over protocols), in percent; None without any record."""
    end = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    days = [month + timedelta(days=n) for n in range((end - month).days)]
    tallies = daily_tallies(_rows(month, end), firsts=firsts(), days=days, until=day_start(end))
    return as_percent(overall_ratio(totals(tallies)))


# --- the /status/ page ---------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    day: date
    percent: Decimal | None

    @property
    def level(self) -> str:
        """The bar's colour: at or above the SLA target, above 99 %, above 95 %, below."""
        if self.percent is None:
            return "none"
        if self.percent >= Decimal(str(settings.OP_SLA_TARGET)):
            return "ok"
        return "minor" if self.percent >= 99 else "major" if self.percent >= 95 else "down"


@dataclass(frozen=True)
class ComponentStatus:
    component: str
    label: str
    current: ProbeResult | None
    bars: list[Bar]
    uptime: Decimal | None  # over the page's days


def _label(component: str, names: dict[str, str]) -> str:
    if component == API:
        return "API"
    if component == WEBSOCKET:
        return "WebSocket API"
    slug = component.removeprefix(INGESTION)
    return f"Ingestion: {names.get(slug, slug)}"


def status_page(now: datetime | None = None) -> dict:
    """Everything /status/ shows, in a fixed handful of queries: the current state of every
    component, PAGE_DAYS daily bars each, the overall uptime and the incidents."""
    now = now or timezone.now()
    today = now.date()
    days = [today - timedelta(days=n) for n in range(PAGE_DAYS - 1, -1, -1)]
    last_at = last_probe_at()
    current = {r.component: r for r in ProbeResult.objects.filter(at=last_at)} if last_at else {}
    tallies = daily_tallies(_rows(days[0], today + DAY), firsts=firsts(), days=days,
                            until=covered_until(now, last_at))
    shown = [API, WEBSOCKET, *sorted(c for c in current if c.startswith(INGESTION))]
    incidents = list(PlatformIncident.objects.filter(
        ~Q(status=IncidentStatus.RESOLVED) | Q(resolved_at__gte=now - timedelta(days=PAGE_DAYS)))
        .prefetch_related("updates"))
    mentioned = {*shown, *(c for i in incidents for c in i.components)}
    names = dict(Protocol.objects.filter(
        slug__in=[c.removeprefix(INGESTION) for c in mentioned]).values_list("slug", "name"))
    components = []
    for component in shown:
        per_day = tallies.get(component, {})
        components.append(ComponentStatus(
            component, _label(component, names), current.get(component),
            [Bar(day, per_day[day].percent if day in per_day else None) for day in days],
            sum(per_day.values(), Tally()).percent))
    listed = [(i, [_label(c, names) for c in i.components]) for i in incidents]
    return {
        "components": components,
        "overall": as_percent(overall_ratio(
            {c: t for c, t in totals(tallies).items() if c in shown})),
        "checked_at": last_at,
        "probe_stale": last_at is None or now - last_at > STALE_PROBE,
        "current_incidents": [(i, labels) for i, labels in listed
                              if i.status != IncidentStatus.RESOLVED],
        "past_incidents": [(i, labels) for i, labels in listed
                           if i.status == IncidentStatus.RESOLVED],
        "days": PAGE_DAYS,
        "first_day": days[0],
    }


# --- plans over time, from the audit log ----------------------------------------------------

# What apps.billing.services.apply_plan records on every plan change, with before {"plan": old}
# and after {"plan": new, "reason": ...}: the one place an organization's plan changes.
PLAN_CHANGED = "billing.plan_changed"


@dataclass(frozen=True)
class PlanChange:
    at: datetime
    before: str
    after: str


@dataclass(frozen=True)
class PlanInterval:
    """[start, end): the organization was on `plan`."""

    plan: str
    start: datetime
    end: datetime

    @property
    def minutes(self) -> int:
        """Whole UTC minutes, each boundary counted down to its minute (as availability is)."""
        return (floor_minute(self.end) - floor_minute(self.start)) // MINUTE


def plan_intervals(current_plan: str, changes: Sequence[PlanChange], start: datetime,
                   end: datetime, *, created_at: datetime | None = None) -> list[PlanInterval]:
    """An organization's plans over [start, end), in order, from its plan changes at or after
    `start` (oldest first) and its plan now: the plan at `start` is the `before` of the first
    change (the current plan when none was made since), each change in the period starts its
    `after`. Nothing before the organization was created."""
    begin = max(start, created_at) if created_at is not None else start
    if begin >= end:
        return []
    later = [change for change in changes if change.at >= start]
    plan = later[0].before if later else current_plan
    intervals: list[PlanInterval] = []
    for change in later:
        if change.at >= end:
            break
        if change.at > begin:
            intervals.append(PlanInterval(plan, begin, change.at))
            begin = change.at
        plan = change.after
    intervals.append(PlanInterval(plan, begin, end))
    return intervals


def _plan(values: dict | None) -> str | None:
    plan = (values or {}).get("plan")
    return plan if isinstance(plan, str) else None


def organizations_on_plan(plan: str, start: datetime, end: datetime
                          ) -> dict[int, list[PlanInterval]]:
    """Every organization that was on `plan` at some time in [start, end) (by id), with its
    intervals on that plan: reconstructed from the plan-change audit events (at or after
    `start`) and the organizations' current plans — two queries."""
    changes: dict[int, list[PlanChange]] = defaultdict(list)
    for organization_id, at, before, after in (
            AuditEvent.objects.filter(action=PLAN_CHANGED, created_at__gte=start)
            .order_by("organization_id", "created_at", "pk")
            .values_list("organization_id", "created_at", "before", "after")):
        old, new = _plan(before), _plan(after)
        if old is not None and new is not None:
            changes[organization_id].append(PlanChange(at, old, new))
    mentioned = [organization_id for organization_id, made in changes.items()
                 if any(plan in (change.before, change.after) for change in made)]
    found: dict[int, list[PlanInterval]] = {}
    for organization_id, current, created_at in (
            Organization.objects.filter(Q(plan=plan) | Q(pk__in=mentioned), created_at__lt=end)
            .order_by("pk").values_list("pk", "plan", "created_at")):
        on_plan = [interval for interval in plan_intervals(
            current, changes.get(organization_id, []), start, end, created_at=created_at)
            if interval.plan == plan and interval.minutes]
        if on_plan:
            found[organization_id] = on_plan
    return found


def was_ever_on_plan(organization: Organization, plan: str) -> bool:
    """On `plan` now or at any time the audit log recorded."""
    return organization.plan == plan or AuditEvent.objects.filter(
        Q(before__plan=plan) | Q(after__plan=plan), organization=organization,
        action=PLAN_CHANGED).exists()


def credits_for(organization: Organization) -> QuerySet[SlaCredit]:
    """An organization's SLA credits, newest month first (the billing page shows them)."""
    return SlaCredit.objects.filter(organization=organization).order_by("-month")
