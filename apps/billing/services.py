"""Writes of billing: an organization's Stripe customer, checkout, the portal, plan changes, the
mirror of its subscription, dunning, operator-assigned plans and balance credits.

Stripe is the source of truth. Whatever an event says, `refresh_account` re-reads the customer's
subscriptions from Stripe and derives the plan from what it finds, so events may arrive twice
or in any order. The plan an organization gets (`Organization.plan`) changes only through
`apply_plan`, which records it and tells the apps above (pausing, resuming, the throttle).
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.accounts.models import Organization, Role, User
from apps.audit.services import record

from . import stripe_api
from .models import PAYING, BillingAccount, SubscriptionStatus
from .plans import PLAN_SLUGS, Interval, get_plan, overage_price_id, plan_for_price, price_id
from .signals import plan_changed

logger = logging.getLogger(__name__)

# Statuses of a subscription that is still the organization's (not ended).
LIVE = frozenset({"trialing", "active", "past_due", "unpaid", "incomplete", "paused"})


class BillingError(Exception):
    """A billing action that cannot be done as asked (shown to the user as it is)."""


# --- plans ---------------------------------------------------------------------------------------

def apply_plan(organization: Organization, plan: str, *, reason: str) -> bool:
    """Give the organization this plan's limits, on every instance; returns whether it changed.
    Nothing is deleted when going down: the apps pause what the plan no longer allows."""
    with transaction.atomic():
        # NO KEY: rows referencing the organization (an alert evaluation inserting incidents)
        # take KEY SHARE on it; a plain FOR UPDATE would block them while the receivers below
        # wait for that evaluation to finish: a deadlock.
        locked = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        old = locked.plan
        if old == plan:
            return False
        locked.plan = plan
        locked.save(update_fields=["plan"])
        organization.plan = plan
        record(organization.pk, "billing.plan_changed", target=locked,
               before={"plan": old}, after={"plan": plan, "reason": reason})
        plan_changed.send(sender=Organization, organization=locked, old_plan=old, new_plan=plan)
    logger.info("organization %s: plan %s -> %s (%s)", organization.pk, old, plan, reason)
    return True


def set_plan(organization: Organization, plan: str) -> bool:
    """The operator assigns a plan (self-hosted without Stripe, or a contract outside it)."""
    if plan not in PLAN_SLUGS:
        raise BillingError(f"Unknown plan {plan!r}; one of {', '.join(PLAN_SLUGS)}.")
    return apply_plan(organization, plan, reason="assigned by the operator")


def effective_plan(account: BillingAccount, now: datetime | None = None) -> str:
    """The plan the subscription gives: its own while trialing or active, and while past due
    for OP_BILLING_GRACE_DAYS; otherwise Free."""
    now = now or timezone.now()
    if not account.subscribed_plan:
        return "free"
    if account.status in PAYING:
        return account.subscribed_plan
    grace_end = account.grace_ends_at(settings.OP_BILLING_GRACE_DAYS)
    if grace_end is not None and now < grace_end:
        return account.subscribed_plan
    return "free"


# --- the customer, checkout and the portal ------------------------------------------------------

def account_for(organization: Organization) -> BillingAccount:
    account, _ = BillingAccount.objects.get_or_create(organization=organization)
    return account


def ensure_customer(organization: Organization, user: User) -> str:
    """The organization's one Stripe customer, created the first time (idempotently: two
    concurrent first clicks create one customer)."""
    account = account_for(organization)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().get(pk=account.pk)
        if not account.stripe_customer_id:
            customer = stripe_api.client().v1.customers.create(
                params={"name": organization.name, "email": user.email,
                        "metadata": {"organization_id": str(organization.pk),
                                     "organization_slug": organization.slug}},
                options={"idempotency_key":
                         f"op-customer-{organization.pk}-{account.customer_generation}"})
            account.stripe_customer_id = customer.id
            account.save(update_fields=["stripe_customer_id"])
            record(organization.pk, "billing.customer_created", target=organization,
                   after={"stripe_customer_id": customer.id})
    return str(account.stripe_customer_id)


def start_checkout(organization: Organization, user: User, plan: str, interval: Interval, *,
                   success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout Session for subscribing to a paid plan; returns its URL. A plan with a
    trial offers it to an organization that never had one."""
    chosen = get_plan(plan)
    price = price_id(chosen.slug, interval)
    if not chosen.is_paid or chosen.slug != plan:
        raise BillingError("Choose a paid plan.")
    if not price:
        raise BillingError(f"The {chosen.name} plan is not for sale {interval} here "
                           "(no Stripe price is configured).")
    account = account_for(organization)
    if account.status in LIVE:
        raise BillingError("This organization already has a subscription: change its plan "
                           "from the billing page.")
    customer = ensure_customer(organization, user)
    line_items: list[dict[str, Any]] = [{"price": price, "quantity": 1}]
    if overage_price_id(chosen.slug):
        # Metered (no quantity), billed monthly in arrears on either interval: with a yearly
        # fee that is a mixed-interval subscription, which needs flexible billing mode.
        line_items.append({"price": overage_price_id(chosen.slug)})
    subscription_data: dict[str, Any] = {
        "metadata": {"organization_id": str(organization.pk), "plan": chosen.slug},
        # Stripe's default on current API versions; said anyway, as mixed intervals need it.
        "billing_mode": {"type": "flexible"}}
    if chosen.trial_days and not account.had_trial:
        subscription_data["trial_period_days"] = chosen.trial_days
    params: dict[str, Any] = {
        "mode": "subscription", "customer": customer,
        "client_reference_id": str(organization.pk), "line_items": line_items,
        "success_url": success_url, "cancel_url": cancel_url,
        "subscription_data": subscription_data, "allow_promotion_codes": True,
        "metadata": {"organization_id": str(organization.pk), "plan": chosen.slug},
    }
    if settings.OP_STRIPE_TAX:
        params["automatic_tax"] = {"enabled": True}
        params["customer_update"] = {"address": "auto", "name": "auto"}
    session = stripe_api.client().v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]  # built as a dict
    record(organization.pk, "billing.checkout_started", target=organization,
           after={"plan": chosen.slug, "interval": interval, "session": session.id})
    return str(session.url)


def portal_url(organization: Organization, return_url: str) -> str:
    """A Customer Portal session (payment methods, invoices, cancelling) for the customer."""
    account = account_for(organization)
    if not account.stripe_customer_id:
        raise BillingError("This organization has no billing account yet.")
    session = stripe_api.client().v1.billing_portal.sessions.create(
        params={"customer": account.stripe_customer_id, "return_url": return_url})
    return str(session.url)


def change_plan(organization: Organization, plan: str, interval: Interval) -> BillingAccount:
    """Move a live subscription to another paid plan or interval, prorated by Stripe."""
    account = account_for(organization)
    chosen = get_plan(plan)
    price = price_id(chosen.slug, interval)
    if not account.stripe_subscription_id or account.status not in LIVE:
        raise BillingError("There is no subscription to change; subscribe through checkout.")
    if not chosen.is_paid or not price:
        raise BillingError("Choose a paid plan that is for sale; to go back to Free, cancel "
                           "the subscription at the end of its period.")
    client = stripe_api.client()
    subscription = client.v1.subscriptions.retrieve(account.stripe_subscription_id).to_dict()
    # The metered overage item stays on either interval (monthly, in arrears): moved to the
    # new plan's overage Price, added when missing, deleted only when the new plan has none.
    overage = overage_price_id(chosen.slug)
    items: list[dict[str, Any]] = []
    kept_overage = False
    for item in subscription["items"]["data"]:
        if not _is_metered(item):
            items.append({"id": item["id"], "price": price})
        elif overage and not kept_overage:
            items.append({"id": item["id"], "price": overage})
            kept_overage = True
        else:  # no overage on the new plan, or a second metered item (one Price per item)
            items.append({"id": item["id"], "deleted": True})
    if overage and not kept_overage:
        items.append({"price": overage})
    mode = (subscription.get("billing_mode") or {}).get("type", "classic")
    if mode == "classic" and overage and interval != "monthly":
        # A yearly fee with the monthly metered Price mixes intervals, which classic billing
        # mode refuses: the subscription moves to flexible first (one way, as Stripe allows).
        client.v1.subscriptions.migrate(account.stripe_subscription_id,
                                        params={"billing_mode": {"type": "flexible"}})
        logger.info("subscription %s migrated to flexible billing mode for mixed intervals",
                    account.stripe_subscription_id)
    updated = client.v1.subscriptions.update(account.stripe_subscription_id, params={  # type: ignore[arg-type]  # built as a dict
        "items": items, "proration_behavior": "create_prorations", **_uncancel(subscription),
        "metadata": {"organization_id": str(organization.pk), "plan": chosen.slug}}).to_dict()
    record(organization.pk, "billing.subscription_changed", target=organization,
           before={"plan": account.subscribed_plan, "interval": account.interval},
           after={"plan": chosen.slug, "interval": interval})
    sync_subscription(account, updated)
    return account


def cancel_at_period_end(organization: Organization, cancel: bool = True) -> BillingAccount:
    """Go back to Free when the paid period ends (or undo that). On mixed intervals (a yearly
    fee, the monthly metered item) Stripe's cancel_at_period_end would end the subscription
    at the earliest item's period end, a month into the paid year: `cancel_at=max_period_end`
    ends it with the period paid for instead (`cancel_at=""` undoes that)."""
    account = account_for(organization)
    if not account.stripe_subscription_id or account.status not in LIVE:
        raise BillingError("There is no subscription to cancel.")
    client = stripe_api.client()
    subscription = client.v1.subscriptions.retrieve(account.stripe_subscription_id).to_dict()
    params: dict[str, Any] = _uncancel(subscription) if not cancel else (
        {"cancel_at": "max_period_end"} if _mixed_periods(subscription)
        else {"cancel_at_period_end": True})
    updated = client.v1.subscriptions.update(
        account.stripe_subscription_id, params=params).to_dict()  # type: ignore[arg-type]  # built as a dict
    record(organization.pk, "billing.cancel_at_period_end" if cancel else "billing.cancel_undone",
           target=organization, before={"cancel_at_period_end": account.cancel_at_period_end},
           after={"cancel_at_period_end": cancel})
    sync_subscription(account, updated)
    return account


def _uncancel(subscription: dict[str, Any]) -> dict[str, Any]:
    """The update undoing a scheduled cancellation the way it was set: a `cancel_at` on its own
    (ours on mixed intervals) is unset, otherwise `cancel_at_period_end` is turned off."""
    if subscription.get("cancel_at") and not subscription.get("cancel_at_period_end"):
        return {"cancel_at": ""}
    return {"cancel_at_period_end": False}


# --- the subscription's mirror ------------------------------------------------------------------

def _is_metered(item: dict[str, Any]) -> bool:
    recurring = item["price"].get("recurring") or {}
    return recurring.get("usage_type") == "metered"


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def refresh_account(account: BillingAccount, now: datetime | None = None) -> BillingAccount:
    """Re-read the customer and its subscriptions from Stripe and mirror the current one."""
    if not account.stripe_customer_id:
        return account
    with transaction.atomic():
        # One refresh of an account at a time: two workers reading Stripe moments apart would
        # otherwise save in either order, an older read (past_due) over a newer one (paid).
        account.refresh_from_db(from_queryset=BillingAccount.objects.select_for_update())
        customer_id = account.stripe_customer_id
        if not customer_id:  # forgotten (customer.deleted) while this waited
            return account
        return _refresh_locked(account, customer_id, now)


def _refresh_locked(account: BillingAccount, customer_id: str, now: datetime | None
                    ) -> BillingAccount:
    client = stripe_api.client()
    customer = client.v1.customers.retrieve(customer_id).to_dict()
    if customer.get("deleted"):
        return forget_customer(account, now=now)
    subscriptions = [s.to_dict() for s in client.v1.subscriptions.list(
        params={"customer": customer_id, "status": "all", "limit": 20}).data]
    current = max(subscriptions, key=_standing, default=None)
    live = [s["id"] for s in subscriptions if s["status"] in PAYING]
    if len(live) > 1:  # e.g. two checkouts completed in two tabs: both charge the customer
        logger.error("customer %s has %d paying subscriptions (%s); mirroring %s — cancel the "
                     "others in Stripe", customer_id, len(live), ", ".join(live),
                     current["id"] if current else "none")
    if current is not None and current["status"] in LIVE and current.get("cancel_at_period_end") \
            and _mixed_periods(current):
        # Cancelled "at period end" elsewhere (the Customer Portal): on mixed intervals that
        # would end a paid year at the metered item's month end; end it with the year instead.
        # A refused fix-up must not keep Stripe's state out of the mirror: it is mirrored as
        # it is, and the next refresh (or the reconcile) tries the fix-up again.
        try:
            current = client.v1.subscriptions.update(
                current["id"], params={"cancel_at": "max_period_end"}).to_dict()
            logger.info("subscription %s: cancel at period end moved to the paid period's end",
                        current["id"])
        except stripe.StripeError:
            logger.exception("subscription %s: could not move its cancellation to the paid "
                             "period's end; it ends at the metered item's period end",
                             current["id"])
    sync_subscription(account, current, now=now)
    return account


def _mixed_periods(subscription: dict[str, Any]) -> bool:
    """Items renewing at different times (a yearly fee and the monthly metered item)."""
    return len({i.get("current_period_end") for i in subscription["items"]["data"]}) > 1


# How much a subscription's status stands for the organization's plan, best first: paid for,
# then owed (dunning), then not yet paid (an abandoned checkout's `incomplete`), then ended.
_STATUS_STANDING = {"active": 4, "trialing": 4, "past_due": 3, "unpaid": 2, "paused": 2,
                    "incomplete": 1}


def _standing(subscription: dict[str, Any]) -> tuple[int, int, int]:
    """Which of a customer's subscriptions is the organization's: the best status, then the
    dearest plan (two paying ones: the customer gets what they pay most for), then the newest."""
    found = next((plan_for_price(i["price"]["id"]) for i in subscription["items"]["data"]
                  if not _is_metered(i)), None)
    price = found[0].monthly_price if found else Decimal(0)
    return (_STATUS_STANDING.get(subscription["status"], 0), int(price * 100),
            subscription["created"])


def sync_subscription(account: BillingAccount, subscription: dict[str, Any] | None,
                      now: datetime | None = None) -> BillingAccount:
    """Mirror one subscription (Stripe's JSON, as a dict), then apply the plan it gives."""
    now = now or timezone.now()
    organization = account.organization
    was_past_due = account.status == SubscriptionStatus.PAST_DUE
    never_subscribed = subscription is None and not account.stripe_subscription_id
    if subscription is None:
        account.stripe_subscription_id, account.status = "", SubscriptionStatus.NONE
        account.subscribed_plan = account.interval = ""
        account.current_period_start = account.current_period_end = None
        account.cancel_at_period_end, account.trial_end = False, None
    else:
        base = [i for i in subscription["items"]["data"] if not _is_metered(i)]
        found = plan_for_price(base[0]["price"]["id"]) if base else None
        period_from = base[0] if base and base[0].get("current_period_end") else subscription
        account.stripe_subscription_id = subscription["id"]
        account.status = subscription["status"]
        account.subscribed_plan = found[0].slug if found else ""
        account.interval = found[1] if found else ""
        account.current_period_start = _timestamp(period_from.get("current_period_start"))
        account.current_period_end = _timestamp(period_from.get("current_period_end"))
        # "will cancel": at the period end, or at a set time (cancel_at, as mixed intervals
        # use; the billing page's period end stays the plan's item's)
        account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end")
                                            or subscription.get("cancel_at"))
        account.trial_end = _timestamp(subscription.get("trial_end"))
        account.had_trial = account.had_trial or bool(subscription.get("trial_end"))
        if found is None and base:
            logger.error("subscription %s has price %s, which no plan stands for "
                         "(OP_STRIPE_PRICE_*)", subscription["id"], base[0]["price"]["id"])
    if account.status == SubscriptionStatus.PAST_DUE:
        account.past_due_since = account.past_due_since or _unpaid_since(subscription, now)
    else:
        account.past_due_since = account.dunning_notified_at = None
    account.synced_at = now
    account.save()
    if not never_subscribed:  # an operator-assigned plan stays until a subscription decides
        apply_plan(organization, effective_plan(account, now),
                   reason=f"subscription {account.status}")
    if account.status == SubscriptionStatus.PAST_DUE and account.dunning_notified_at is None:
        _tell_owners(account, "billing/email/payment_failed.txt",
                     f"Payment failed for {organization.name} on Oracle Platform")
        account.dunning_notified_at = now
        account.save(update_fields=["dunning_notified_at"])
    elif was_past_due and account.status in PAYING:
        _tell_owners(account, "billing/email/payment_restored.txt",
                     f"Payment received for {organization.name}: your plan is back")
    return account


def _unpaid_since(subscription: dict[str, Any] | None, now: datetime) -> datetime:
    """When the unpaid invoice was finalized (its first charge failed soon after): the grace
    period counts from then, even when the webhook saying so came late or never (a
    reconcile found it). `now` when Stripe cannot tell."""
    latest = (subscription or {}).get("latest_invoice")
    if isinstance(latest, str) and latest:
        try:
            latest = stripe_api.client().v1.invoices.retrieve(latest).to_dict()
        except stripe.StripeError:
            logger.warning("could not read invoice %s; the grace period starts now", latest)
            return now
    if not isinstance(latest, dict) or latest.get("status") != "open":
        return now
    finalized = (latest.get("status_transitions") or {}).get("finalized_at")
    return min(now, _timestamp(finalized or latest.get("created")) or now)


def forget_customer(account: BillingAccount, now: datetime | None = None) -> BillingAccount:
    """The customer was deleted in Stripe: no subscription, Free; the next checkout creates a
    new customer."""
    account.stripe_customer_id = None
    account.customer_generation += 1
    account.save(update_fields=["stripe_customer_id", "customer_generation"])
    return sync_subscription(account, None, now=now)


def expire_grace(now: datetime | None = None) -> int:
    """Organizations past due beyond the grace period fall back to Free (nothing deleted);
    paying again restores their plan. Returns how many fell back."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OP_BILLING_GRACE_DAYS)
    fallen = 0
    due = BillingAccount.objects.filter(status=SubscriptionStatus.PAST_DUE,
                                        past_due_since__lte=cutoff).exclude(organization__plan="free")
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            # Checked again under the account's lock: a payment mirrored since the list was
            # read keeps the plan (refresh_account holds the same lock while it mirrors).
            account = due.select_for_update(of=("self",)).select_related("organization").filter(
                pk=pk).first()
            if account is None:
                continue
            apply_plan(account.organization, "free", reason="payment past due beyond the grace "
                       "period")
        _tell_owners(account, "billing/email/downgraded.txt",
                     f"{account.organization.name} is now on the Free plan")
        fallen += 1
    return fallen


def _tell_owners(account: BillingAccount, template: str, subject: str) -> None:
    organization = account.organization
    owners = list(organization.memberships.filter(role=Role.OWNER)
                  .values_list("user__email", flat=True))
    if not owners:
        return
    context = {"organization": organization, "account": account,
               "grace_end": account.grace_ends_at(settings.OP_BILLING_GRACE_DAYS),
               "billing_url": f"{settings.OP_SITE_URL}/orgs/{organization.slug}/billing/"}
    body = render_to_string(template, context)
    transaction.on_commit(lambda: send_mail(subject=subject, message=body, from_email=None,
                                            recipient_list=owners), robust=True)


# --- credits -------------------------------------------------------------------------------------

def credit_balance(organization: Organization, amount: Decimal, *, description: str,
                   idempotency_key: str) -> str | None:
    """Credit the customer's Stripe balance (taken off their next invoices); returns the balance
    transaction id, or None when billing is off or the organization has no Stripe customer."""
    if not stripe_api.enabled():
        return None
    account = BillingAccount.objects.filter(organization=organization).first()
    if account is None or not account.stripe_customer_id:
        return None
    cents = int((amount * 100).quantize(Decimal("1")))
    transaction_ = stripe_api.client().v1.customers.balance_transactions.create(
        account.stripe_customer_id,
        params={"amount": -cents, "currency": "usd", "description": description,
                "metadata": {"organization_id": str(organization.pk)}},
        options={"idempotency_key": idempotency_key})
    record(organization.pk, "billing.credit_applied", target=organization,
           after={"amount": str(amount), "description": description,
                  "balance_transaction": transaction_.id})
    return str(transaction_.id)
