"""Metered overage: API calls past the plan's included monthly volume are reported to Stripe's
Billing Meter, one closed UTC hour at a time, exactly once per organization and hour.

A MeterReport row is written before the meter event is sent, under a unique (organization,
hour) and with the event's `identifier`; a run that dies after sending leaves the row unsent,
and the next run sends the same identifier again, which Stripe deduplicates. Counting lives
in api_keys (above billing), which plugs in its hourly usage with `set_usage_source`.
"""
from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import stripe_api
from .models import BillingAccount, MeterReport
from .plans import get_plan

logger = logging.getLogger(__name__)

# organization id, [start, end) -> calls per hour (the hour's start, aware UTC)
UsageSource = Callable[[int, datetime, datetime], dict[datetime, int]]
_usage_source: UsageSource | None = None
# An hour is reported once it ended this long ago, so that every instance's counters for it
# have been flushed into the database (api_keys.flush_usage runs every 60 s).
SETTLE = timedelta(minutes=3)


def set_usage_source(source: UsageSource) -> None:
    global _usage_source
    _usage_source = source


def hourly_calls(organization_id: int, start: datetime, end: datetime) -> dict[datetime, int]:
    if _usage_source is None:
        return {}
    return _usage_source(organization_id, start, end)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def usage_month_start(anchor: datetime, moment: datetime) -> datetime:
    """The start of the included volume's month that `moment` falls in: the billing period's
    start for monthly plans; its latest monthly anniversary for yearly ones (the volume is per
    month whatever the interval)."""
    months = (moment.year - anchor.year) * 12 + moment.month - anchor.month
    start = _add_months(anchor, months)
    return start if start <= moment else _add_months(anchor, months - 1)


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def identifier(organization_id: int, hour: datetime) -> str:
    return f"op-overage-{organization_id}-{hour:%Y%m%dT%H}"


def report_overage(now: datetime | None = None) -> int:
    """Report every closed hour not yet reported for organizations on a metered plan; returns
    how many meter events were sent."""
    if not stripe_api.enabled():
        return 0
    now = now or timezone.now()
    closed_until = floor_hour(now - SETTLE)  # hours starting before this have closed
    sent = 0
    accounts = (BillingAccount.objects.select_related("organization")
                .filter(stripe_customer_id__isnull=False, current_period_start__isnull=False)
                .exclude(organization__plan="free"))
    for account in accounts:
        try:
            sent += _report_account(account, closed_until, now)
        except stripe.StripeError:
            logger.exception("overage report for organization %s failed; retried next run",
                             account.organization_id)
    return sent


def _report_account(account: BillingAccount, closed_until: datetime, now: datetime) -> int:
    plan = get_plan(account.organization.plan)
    included = plan.limits.included_requests_per_month
    if not plan.metered or included is None or account.current_period_start is None:
        return 0
    if account.current_period_end is not None:  # a renewal not yet mirrored: wait for it
        closed_until = min(closed_until, floor_hour(account.current_period_end))
    last_hour = closed_until - timedelta(hours=1)
    if last_hour < account.current_period_start:
        return 0
    start = floor_hour(usage_month_start(account.current_period_start, last_hour))
    calls = hourly_calls(account.organization_id, start, closed_until)
    with transaction.atomic():
        # One run at a time per organization: each hour's overage depends on what the hours
        # before it billed, so a second run working from an older list would bill them again.
        BillingAccount.objects.select_for_update().filter(pk=account.pk).first()
        reports = _record_hours(account.organization_id, calls, start, closed_until, included,
                                now)
    sent = 0
    for report in reports:  # outside the lock: a repeat send is deduplicated by its identifier
        if report.reported_at is not None:
            continue
        try:
            _send(account, report)
        except stripe.InvalidRequestError as error:
            # Refused, not lost: this hour stays unsent and is retried next run; the
            # hours after it are reported meanwhile (one bad event never blocks the rest).
            logger.error("meter event %s refused by Stripe: %s", report.identifier, error)
            MeterReport.objects.filter(pk=report.pk).update(
                last_error=str(error.user_message or error)[:500])
            continue
        MeterReport.objects.filter(pk=report.pk).update(reported_at=timezone.now(),
                                                        last_error="")
        sent += 1
    return sent


def _record_hours(organization_id: int, calls: dict[datetime, int], start: datetime,
                  closed_until: datetime, included: int, now: datetime) -> list[MeterReport]:
    """A report row for every closed hour of the period (each hour's once), in hour order."""
    known = {r.hour: r for r in MeterReport.objects.filter(organization_id=organization_id,
                                                          hour__gte=start, hour__lt=closed_until)}
    cumulative = billed = 0
    reports = []
    for hour in sorted(calls):
        cumulative += calls[hour]
        report = known.get(hour)
        if report is None:
            # past the included volume, less what was billed already: calls that reached an
            # already reported hour late are billed with this one
            overage = max(0, max(0, cumulative - included) - billed)
            report = MeterReport.objects.create(
                organization_id=organization_id, hour=hour, calls=calls[hour], overage=overage,
                identifier=identifier(organization_id, hour), reported_at=None if overage else now)
        billed += report.overage
        reports.append(report)
    return reports


def _send(account: BillingAccount, report: MeterReport) -> None:
    try:
        stripe_api.client().v1.billing.meter_events.create(params={
            "event_name": settings.OP_STRIPE_METER_EVENT,
            "payload": {"stripe_customer_id": str(account.stripe_customer_id),
                        "value": str(report.overage)},
            "identifier": report.identifier,
            "timestamp": int((report.hour + timedelta(hours=1)).timestamp()) - 1,
        })
    except stripe.InvalidRequestError as error:
        if not _is_duplicate(error):
            raise
        logger.info("meter event %s was already reported", report.identifier)


def _is_duplicate(error: stripe.InvalidRequestError) -> bool:
    """Stripe refuses an identifier it has seen (within its dedup window): the event counted."""
    return "duplicate" in (error.code or "") or "already exists" in str(error.user_message or "")
