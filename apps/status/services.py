"""Writes: recording each probe run (its rows and the daily rollup), pruning old probe rows, and
settling closed months — the month's availability and its SLA credits (pro-rated by the time
each organization was on Enterprise), applied to the organizations' Stripe balances."""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Organization
from apps.accounts.models import Plan as PlanSlug
from apps.billing import services as billing
from apps.billing.plans import INTERVALS, Interval, get_plan
from apps.billing.stripe_api import StripeError

from .availability import MINUTE, day_start, floor_minute
from .models import ComponentDay, ProbeResult, SlaCredit, SlaMonth, next_month
from .probe import Check, probe_api, probe_websocket
from .selectors import ingestion_checks, month_availability, organizations_on_plan

logger = logging.getLogger(__name__)

PROBE_LOCK = 0x57A7  # pg_advisory_xact_lock key: probe runs are counted one at a time
# The probe runs every 60 s and its schedule jitters: two runs can share a minute and leave the
# next without one. Runs closer than this did not miss a minute between them; an outage that
# stops the probe leaves a gap of two minutes or more.
JITTER_GAP = timedelta(seconds=90)
SETTLE = timedelta(hours=1)  # a month is settled once its last probe runs have surely been written
CENTS = Decimal("0.01")


def run_probe(now: datetime | None = None) -> list[Check]:
    """One probe run: each protocol's ingestion from the platform's records, then the API and
    the WebSocket API called from outside at OP_STATUS_PROBE_URL; recorded."""
    at = now or timezone.now()
    base, timeout = settings.OP_STATUS_PROBE_URL, settings.OP_STATUS_PROBE_TIMEOUT
    ingestion = ingestion_checks(at)
    checks = [probe_api(base, timeout), probe_websocket(base, timeout), *ingestion]
    record_probe(checks, at)
    return checks


def _counted_minutes(ok: bool, previous: bool | None, last_at: datetime | None, at: datetime
                     ) -> list[tuple[datetime, int, int]]:
    """(minute, minutes, available minutes) this run adds to a component's rollup, given its
    result in the previous run (None: it was not in it)."""
    minute = floor_minute(at)
    if previous is not None and last_at is not None:
        last_minute = floor_minute(last_at)
        if last_minute == minute:  # a second run in one minute: available if either succeeded
            return [(minute, 0, int(ok and not previous))]
        if last_minute == minute - 2 * MINUTE and at - last_at < JITTER_GAP:
            return [(minute - MINUTE, 1, int(ok)), (minute, 1, int(ok))]
    return [(minute, 1, int(ok))]


def record_probe(checks: Sequence[Check], at: datetime) -> None:
    """Store one run's results (all stamped `at`) and add them to the daily rollup."""
    with transaction.atomic():
        if connection.vendor == "postgresql":  # two overlapping runs would count a minute twice
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PROBE_LOCK])
        last_at = (ProbeResult.objects.filter(at__lt=at).order_by("-at")
                   .values_list("at", flat=True).first())
        previous = dict(ProbeResult.objects.filter(at=last_at).values_list("component", "ok")
                        ) if last_at else {}
        ProbeResult.objects.bulk_create([
            ProbeResult(component=c.component, at=at, ok=c.ok, state=c.state,
                        latency_ms=c.latency_ms, detail=c.detail) for c in checks])
        for check in checks:
            per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
            firsts: dict[date, datetime] = {}
            for minute, minutes, ok in _counted_minutes(check.ok, previous.get(check.component),
                                                        last_at, at):
                per_day[minute.date()][0] += minutes
                per_day[minute.date()][1] += ok
                firsts.setdefault(minute.date(), minute)
            for day, (minutes, ok) in per_day.items():
                if not (minutes or ok):
                    continue
                updated = ComponentDay.objects.filter(component=check.component, day=day).update(
                    minutes=F("minutes") + minutes, ok_minutes=F("ok_minutes") + ok)
                if not updated:
                    ComponentDay.objects.create(component=check.component, day=day,
                                                minutes=minutes, ok_minutes=ok, since=firsts[day])


def prune_probe_results(now: datetime | None = None) -> int:
    """Delete probe rows older than OP_STATUS_PROBE_RETENTION_DAYS (the rollup is kept)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OP_STATUS_PROBE_RETENTION_DAYS)
    deleted, _ = ProbeResult.objects.filter(at__lt=cutoff).delete()
    return deleted


# --- SLA credits -------------------------------------------------------------------------------

def credit_percent(availability: Decimal) -> Decimal:
    """The share of the month's fee credited (OP_SLA_CREDIT_TIERS: [below %, credit %], the
    strictest matching tier); nothing when OP_SLA_TARGET was met."""
    if availability >= Decimal(str(settings.OP_SLA_TARGET)):
        return Decimal(0)
    tiers = sorted((Decimal(below), Decimal(credit))
                   for below, credit in settings.OP_SLA_CREDIT_TIERS)
    return next((credit for below, credit in tiers if availability < below), Decimal(0))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def unsettled_months(now: datetime) -> list[date]:
    """Closed months since records began that have not been settled yet."""
    first = ComponentDay.objects.order_by("day").values_list("day", flat=True).first()
    if first is None:
        return []
    current = _month_start((now - SETTLE).date())
    settled = set(SlaMonth.objects.values_list("month", flat=True))
    months, month = [], _month_start(first)
    while month < current:
        if month not in settled:
            months.append(month)
        month = next_month(month)
    return months


def _interval(organization: Organization) -> Interval:
    account = getattr(organization, "billing_account", None)  # none: never opened billing
    interval = account.interval if account is not None else ""
    return interval if interval in INTERVALS else "monthly"


def credit_amount(fee: Decimal, percent: Decimal, enterprise_minutes: int, month_minutes: int
                  ) -> Decimal:
    """`percent` of the month's fee, pro-rated by the minutes on Enterprise, to the cent."""
    return (fee * percent / 100 * enterprise_minutes / month_minutes).quantize(
        CENTS, rounding=ROUND_HALF_UP)


@transaction.atomic
def settle_month(month: date) -> list[SlaCredit]:
    """Compute a closed month's availability once and, in the same transaction, record the
    credit of every organization that was on Enterprise during it when it fell below the
    target: the tier's share of the month's fee, pro-rated by the minutes it was on Enterprise
    (its plan history from the audit log). Settling a month again does nothing."""
    record, created = SlaMonth.objects.get_or_create(
        month=month, defaults={"availability": month_availability(month)})
    if not created or record.availability is None:
        return []
    availability = Decimal(record.availability)
    percent = credit_percent(availability)
    if not percent:
        return []
    start, end = day_start(month), day_start(next_month(month))
    month_minutes = (end - start) // MINUTE
    on_enterprise = {organization_id: sum(interval.minutes for interval in intervals)
                     for organization_id, intervals
                     in organizations_on_plan(PlanSlug.ENTERPRISE, start, end).items()}
    plan = get_plan(PlanSlug.ENTERPRISE)
    return SlaCredit.objects.bulk_create([
        SlaCredit(organization=org, month=month, availability=availability,
                  credit_percent=percent, enterprise_minutes=on_enterprise[org.pk],
                  amount=credit_amount(plan.monthly_fee(_interval(org)), percent,
                                       on_enterprise[org.pk], month_minutes))
        for org in Organization.objects.filter(pk__in=on_enterprise)
        .select_related("billing_account").order_by("pk")])


def apply_credit(credit: SlaCredit, now: datetime | None = None) -> bool:
    """Credit the organization's Stripe balance; False when it could not be applied yet (billing
    off, no Stripe customer, Stripe failing), and the next run tries again. The idempotency
    key makes a retry after a crash between Stripe and this write the same transaction."""
    description = (f"SLA credit for {credit.month:%B %Y}: availability {credit.availability} % "
                   f"(target {settings.OP_SLA_TARGET} %)")
    if credit.prorated:
        description += (f", pro-rated for {credit.enterprise_days} of {credit.month_days} days "
                        "on Enterprise")
    try:
        transaction_id = billing.credit_balance(credit.organization, credit.amount,
                                                description=description,
                                                idempotency_key=credit.idempotency_key)
    except StripeError:
        logger.exception("SLA credit %s (organization %s) not applied; retried on the next run",
                         credit.pk, credit.organization_id)
        return False
    if transaction_id is None:
        return False
    credit.stripe_balance_transaction_id = transaction_id
    credit.applied_at = now or timezone.now()
    SlaCredit.objects.filter(pk=credit.pk, applied_at__isnull=True).update(
        stripe_balance_transaction_id=credit.stripe_balance_transaction_id,
        applied_at=credit.applied_at)
    return True


def grant_sla_credits(now: datetime | None = None) -> list[SlaCredit]:
    """Settle every closed month not settled yet, then apply every credit not applied yet
    (this month's and earlier ones'); returns the credits applied."""
    now = now or timezone.now()
    for month in unsettled_months(now):
        settle_month(month)
    return [credit for credit in SlaCredit.objects.filter(applied_at__isnull=True)
            .select_related("organization").order_by("month", "pk")
            if apply_credit(credit, now)]
