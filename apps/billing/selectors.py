"""Reads of billing: what an organization pays for and uses, and what Stripe says of it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import Organization

from . import limits, metering, stripe_api
from .models import BillingAccount, SubscriptionStatus
from .plans import COUNTED_LIMITS, LIMIT_LABELS, get_plan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    limit: str
    label: str
    used: int | None  # None: nothing counts it yet
    allowed: int | None  # None: unlimited

    @property
    def percent(self) -> int:
        if not self.allowed or self.used is None:
            return 0
        return min(100, round(100 * self.used / self.allowed))

    @property
    def over(self) -> bool:
        return self.allowed is not None and self.used is not None and self.used > self.allowed

    @property
    def over_note(self) -> str:
        """What happens to what is over the limit (nothing is deleted either way)."""
        if self.limit == "members":
            return "over the plan: nobody was removed; no one can be invited until it fits"
        return "over the plan: the newest are paused"


def account_of(organization: Organization) -> BillingAccount | None:
    return BillingAccount.objects.filter(organization=organization).first()


def usage_against_limits(organization: Organization) -> list[Usage]:
    """Every counted limit with what the organization uses of it (the billing page's bars)."""
    plan = get_plan(organization.plan)
    return [Usage(name, LIMIT_LABELS[name], limits.count(organization.pk, name),
                  getattr(plan.limits, name)) for name in COUNTED_LIMITS]


@dataclass(frozen=True)
class Volume:
    included: int | None
    used: int
    overage: int | None
    period_start: datetime
    metered: bool

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.included)) if self.included else 0


def request_volume(organization: Organization, account: BillingAccount | None) -> Volume:
    """API calls this billing period (the calendar month without a subscription) against the
    included volume, and the overage so far."""
    plan = get_plan(organization.plan)
    now = timezone.now()
    start = (metering.usage_month_start(account.current_period_start, now)
             if account and account.current_period_start and organization.plan != "free"
             else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    used = sum(metering.hourly_calls(organization.pk, metering.floor_hour(start),
                                     now + timedelta(hours=1)).values())
    included = plan.limits.included_requests_per_month
    overage = max(0, used - included) if included is not None and plan.metered else None
    return Volume(included, used, overage, start, plan.metered)


def invoices(account: BillingAccount | None, limit: int = 12) -> list[dict[str, Any]] | None:
    """The customer's latest invoices from Stripe; None when Stripe could not be asked."""
    if account is None or not account.stripe_customer_id or not stripe_api.enabled():
        return []
    try:
        found = [i.to_dict() for i in stripe_api.client().v1.invoices.list(
            params={"customer": account.stripe_customer_id, "limit": limit}).data]
    except stripe_api.StripeError:
        logger.exception("could not list invoices of %s", account.stripe_customer_id)
        return None
    return [{"number": i.get("number") or i["id"], "status": i["status"],
             "total": _money(i["total"], i["currency"]),
             "created": datetime.fromtimestamp(i["created"], tz=UTC),
             "url": i.get("hosted_invoice_url") or ""} for i in found]


def payment_method(account: BillingAccount | None) -> str | None:
    """"Visa ending 4242, expires 12/2030", or None (none on file, or Stripe not reachable)."""
    if account is None or not account.stripe_customer_id or not stripe_api.enabled():
        return None
    try:
        customer = stripe_api.client().v1.customers.retrieve(
            account.stripe_customer_id,
            params={"expand": ["invoice_settings.default_payment_method"]}).to_dict()
    except stripe_api.StripeError:
        logger.exception("could not read customer %s", account.stripe_customer_id)
        return None
    method = (customer.get("invoice_settings") or {}).get("default_payment_method")
    card = method.get("card") if isinstance(method, dict) else None
    if not card:
        return None
    return (f"{str(card['brand']).title()} ending {card['last4']}, expires "
            f"{card['exp_month']:02d}/{card['exp_year']}")


def _money(cents: int, currency: str) -> str:
    return f"{(Decimal(cents) / 100).quantize(Decimal('0.01')):,} {currency.upper()}"


def dunning_notice(organization: Organization) -> str | None:
    """The banner over every page while a payment is failing."""
    account = account_of(organization)
    if account is None or account.status != SubscriptionStatus.PAST_DUE:
        return None
    grace_end = account.grace_ends_at(settings.OP_BILLING_GRACE_DAYS)
    plan = get_plan(account.subscribed_plan)
    if grace_end is not None and grace_end > timezone.now():
        return (f"The last payment for {organization.name} failed. Update the payment method "
                f"before {grace_end:%Y-%m-%d %H:%M} UTC to keep the {plan.name} plan.")
    return (f"The last payment for {organization.name} failed and the grace period is over: "
            "the organization is on the Free plan until it is paid.")
