"""What the platform knows of each organization's Stripe customer and subscription, the Stripe
events it received, and the overage it reported. Stripe is the source of truth: these rows are
a mirror, re-read from Stripe whenever an event says something changed."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses, plus "none" (never subscribed, or the customer is gone)."""

    NONE = "none", "No subscription"
    TRIALING = "trialing", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Payment failed"
    UNPAID = "unpaid", "Unpaid"
    CANCELED = "canceled", "Canceled"
    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
    PAUSED = "paused", "Paused"


# Statuses under which the subscription's plan applies (past_due: only during the grace period).
PAYING = frozenset({SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE})


class BillingAccount(models.Model):
    """One per organization that ever opened billing: its Stripe customer (created once) and a
    mirror of its current subscription."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE,
                                        related_name="billing_account")
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # Bumped when the customer is deleted in Stripe, so the next one is a new idempotent create.
    customer_generation = models.PositiveIntegerField(default=0)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=SubscriptionStatus.choices,
                              default=SubscriptionStatus.NONE)
    subscribed_plan = models.CharField(max_length=12, blank=True,
                                       help_text="The plan the subscription's price stands for")
    interval = models.CharField(max_length=8, blank=True)  # monthly / yearly
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    had_trial = models.BooleanField(default=False, help_text="A trial is offered once")
    past_due_since = models.DateTimeField(null=True, blank=True)
    dunning_notified_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id"]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.subscribed_plan or 'free'} ({self.status})"

    def grace_ends_at(self, grace_days: int) -> datetime | None:
        if self.status != SubscriptionStatus.PAST_DUE or self.past_due_since is None:
            return None
        return self.past_due_since + timedelta(days=grace_days)


class StripeEvent(models.Model):
    """A verified Stripe event, stored once (its id is unique), processed by a task."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event")
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["processed_at", "received_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class MeterReport(models.Model):
    """One closed UTC hour of one organization's API calls, and the overage reported to
    Stripe's Billing Meter for it (0 when within the included volume). A row exists once per
    (organization, hour): the report is sent with `identifier`, so a retry after a crash is
    deduplicated by Stripe and the row is never written twice."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE,
                                     related_name="meter_reports")
    hour = models.DateTimeField()
    calls = models.BigIntegerField()
    overage = models.BigIntegerField()
    identifier = models.CharField(max_length=100, unique=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    # Stripe refused the event (not a connection failure): kept unsent, retried every run, and
    # shown to the operator; the hours after it are reported meanwhile.
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-hour"]
        constraints = [models.UniqueConstraint(fields=["organization", "hour"],
                                               name="meter_report_org_hour")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.hour:%Y-%m-%d %H}h: {self.overage} over"
