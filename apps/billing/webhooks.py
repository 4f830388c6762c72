"""Stripe's events: verified on the raw body, stored once by id, processed by a task.

Processing never trusts the event's copy of an object or the order events arrive in: it finds
the organization the event is about and re-reads the customer's subscriptions from Stripe.
"""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import services, stripe_api
from .models import BillingAccount, StripeEvent

logger = logging.getLogger(__name__)

# The events that can change what an organization pays for; others are stored and ignored.
HANDLED = frozenset({
    "checkout.session.completed", "customer.subscription.created",
    "customer.subscription.updated", "customer.subscription.deleted",
    "customer.subscription.paused", "customer.subscription.resumed",
    "customer.subscription.trial_will_end", "invoice.paid", "invoice.payment_failed",
    "invoice.payment_succeeded", "customer.deleted",
})
MAX_ATTEMPTS = 12
PROCESS_TASK = "billing.process_event"  # queued by name by the webhook view


def receive(payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify and store an event; returns it and whether it is new. Raises ValueError or
    stripe.SignatureVerificationError (nothing is stored then)."""
    event = stripe_api.construct_event(payload, signature)
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                event_id=event.id, type=event.type,
                created=datetime.fromtimestamp(event.created, tz=UTC),
                payload=json.loads(payload))  # as sent: Stripe's object may hold Decimals
    except IntegrityError:  # a redelivery: already stored (and processed, or queued)
        return StripeEvent.objects.get(event_id=event.id), False
    return stored, True


def process(event: StripeEvent) -> None:
    """Bring the organization the event concerns up to date with Stripe; marks it processed
    (or counts the failed attempt and re-raises, for a retry)."""
    if event.processed_at is not None:
        return
    try:
        if event.type in HANDLED:
            account = _account_for(event.payload["data"]["object"], event.type)
            if account is None:
                logger.warning("stripe event %s (%s) is about no organization here",
                               event.event_id, event.type)
            else:  # customer.deleted too: the re-read finds the customer deleted
                services.refresh_account(account)
    except Exception as error:
        StripeEvent.objects.filter(pk=event.pk).update(
            attempts=event.attempts + 1, last_error=f"{type(error).__name__}: {error}"[:2000])
        raise
    StripeEvent.objects.filter(pk=event.pk).update(
        processed_at=timezone.now(), attempts=event.attempts + 1, last_error="")


def pending(limit: int = 100) -> list[StripeEvent]:
    """Events not yet processed that still have attempts left, oldest first; the last minute's
    are left to the task their arrival queued."""
    return list(StripeEvent.objects.filter(
        processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS,
        received_at__lt=timezone.now() - timedelta(minutes=1)).order_by("received_at")[:limit])


def process_pending() -> tuple[int, list[tuple[StripeEvent, Exception]]]:
    """Process what `pending` finds; returns how many went through and the failures (each also
    recorded on its event, for the next sweep)."""
    done, failed = 0, []
    for event in pending():
        try:
            process(event)
            done += 1
        except Exception as error:
            failed.append((event, error))
    return done, failed


def _account_for(obj: dict[str, Any], event_type: str) -> BillingAccount | None:
    """The account of the customer the object belongs to. A completed checkout also links the
    customer to the organization it was started for (client_reference_id)."""
    customer = obj["id"] if event_type.startswith("customer.") and obj.get("object") == "customer" \
        else obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    account = BillingAccount.objects.select_related("organization").filter(
        stripe_customer_id=customer).first() if customer else None
    if account is None and event_type == "checkout.session.completed":
        reference = obj.get("client_reference_id") or ""
        account = BillingAccount.objects.select_related("organization").filter(
            organization_id=int(reference) if reference.isdigit() else -1).first()
        if account is not None and not account.stripe_customer_id and customer:
            account.stripe_customer_id = customer
            account.save(update_fields=["stripe_customer_id"])
    return account
