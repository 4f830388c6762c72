"""The platform's own availability records (probe results and their daily rollup), the incidents
operators post on /status/, and the SLA credits granted to enterprise organizations."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

# Components: the API, the WebSocket API, and the ingestion of each protocol ("ingestion:<slug>").
API = "api"
WEBSOCKET = "websocket"
INGESTION = "ingestion:"


def ingestion_component(protocol_slug: str) -> str:
    return f"{INGESTION}{protocol_slug}"


class State(models.TextChoices):
    UP = "up", "Operational"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"


class ProbeResult(models.Model):
    """One component's answer to one probe run (every run stamps all its rows with the same
    `at`). Pruned after OP_STATUS_PROBE_RETENTION_DAYS; the rollup below is kept."""

    component = models.CharField(max_length=60)
    at = models.DateTimeField(help_text="when the probe run started")
    ok = models.BooleanField(help_text="counts as available")
    state = models.CharField(max_length=10, choices=State.choices)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "component"]
        indexes = [models.Index(fields=["at"], name="probe_at"),
                   models.Index(fields=["component", "at"], name="probe_component_at")]

    def __str__(self) -> str:
        return f"{self.component} at {self.at:%Y-%m-%d %H:%M:%S}: {self.state}"


class ComponentDay(models.Model):
    """A component's UTC day: minutes with a probe and minutes available (each counted once),
    updated by every probe run, so the 90-day page and the SLA read ~15 rows a day."""

    component = models.CharField(max_length=60)
    day = models.DateField()
    minutes = models.PositiveIntegerField(default=0)
    ok_minutes = models.PositiveIntegerField(default=0)
    since = models.DateTimeField(help_text="the first minute recorded that day")

    class Meta:
        ordering = ["component", "day"]
        constraints = [models.UniqueConstraint(fields=["component", "day"],
                                               name="component_day_unique")]
        indexes = [models.Index(fields=["day"], name="component_day_day")]

    def __str__(self) -> str:
        return f"{self.component} {self.day}: {self.ok_minutes}/{self.minutes}"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class PlatformIncident(models.Model):
    """A platform incident as operators announce it on /status/ (posted in the admin)."""

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=15, choices=IncidentStatus.choices,
                              default=IncidentStatus.INVESTIGATING)
    components = models.JSONField(default=list, blank=True,
                                  help_text="affected: api, websocket, ingestion:<protocol>")
    started_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "started_at"], name="platform_incident_open")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.status == IncidentStatus.RESOLVED and self.resolved_at is None:
            self.resolved_at = timezone.now()
        if self.status != IncidentStatus.RESOLVED and self.resolved_at is not None:
            raise ValidationError({"resolved_at": "Only a resolved incident has a resolution "
                                                  "time."})
        if self.resolved_at is not None and self.resolved_at < self.started_at:
            raise ValidationError({"resolved_at": "An incident cannot end before it started."})


class IncidentUpdate(models.Model):
    """One update posted on an incident (what is known, what is being done)."""

    incident = models.ForeignKey(PlatformIncident, on_delete=models.CASCADE,
                                 related_name="updates")
    status = models.CharField(max_length=15, choices=IncidentStatus.choices)
    body = models.TextField()
    posted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-posted_at"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status} at {self.posted_at:%Y-%m-%d %H:%M}"


class SlaMonth(models.Model):
    """A closed month's availability, computed once (docs/sla.md); the credits of that month
    were granted in the same transaction. Null: no records that month."""

    month = models.DateField(unique=True, help_text="its first day")
    availability = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.availability} %"


def next_month(month: date) -> date:
    """The first day of the month after the one `month` is in."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


class SlaCredit(models.Model):
    """An enterprise organization's credit for a month below the SLA, pro-rated by the minutes
    of the month it was on Enterprise, applied to its Stripe customer balance (applied_at null:
    not yet — retried by the next run)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE,
                                     related_name="sla_credits")
    month = models.DateField(help_text="its first day")
    availability = models.DecimalField(max_digits=6, decimal_places=3)
    credit_percent = models.DecimalField(max_digits=5, decimal_places=2)
    enterprise_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="minutes of the month on Enterprise (the credit's share of the fee); "
                  "empty: the whole month")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="usd")
    stripe_balance_transaction_id = models.CharField(max_length=255, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "organization_id"]
        constraints = [models.UniqueConstraint(fields=["organization", "month"],
                                               name="sla_credit_org_month")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.month:%Y-%m}: {self.amount} {self.currency}"

    @property
    def month_minutes(self) -> int:
        return (next_month(self.month) - self.month).days * 24 * 60

    @property
    def prorated(self) -> bool:
        """Credited for part of the month only (on Enterprise for part of it)."""
        return self.enterprise_minutes is not None and \
            self.enterprise_minutes < self.month_minutes

    @property
    def enterprise_days(self) -> Decimal:
        """The days of the month on Enterprise, to a tenth, rounded down."""
        minutes = self.month_minutes if self.enterprise_minutes is None \
            else self.enterprise_minutes
        return (Decimal(minutes) / 1440).quantize(Decimal("0.1"), rounding=ROUND_DOWN)

    @property
    def month_days(self) -> int:
        return self.month_minutes // 1440

    @property
    def idempotency_key(self) -> str:
        """Stripe's idempotency key: a retry after a crash is the same balance transaction."""
        return f"sla-credit-{self.organization_id}-{self.month:%Y-%m}"
