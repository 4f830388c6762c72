"""Alerts and webhooks: notification channels (one transport class per kind, in
`transports/`), rules (one kind per module, in `rule_kinds/`) and their incidents, webhook
endpoints and the two outboxes — every event is a WebhookMessage, every notification a Notice,
written in the same transaction as its cause and delivered at least once by
`services/delivery.py` with every attempt recorded.

`Channel.Kind` and `Rule.Kind` stay here for the migrations; they are the transports' and the
rule kinds' registries' kinds and labels (a test checks that they agree)."""
from datetime import datetime

from django.db import models
from django.utils import timezone

from .crypto import EncryptedTextField


class Event(models.TextChoices):
    PRICE_UPDATED = "price.updated", "A pair's consensus price changed"
    ALERT_OPENED = "alert.opened", "An alert incident opened"
    ALERT_RESOLVED = "alert.resolved", "An alert incident resolved"
    FEED_STATUS_CHANGED = "feed.status_changed", "A feed's status changed"
    TEST = "webhook.test", "A test event sent on request"


class Channel(models.Model):
    """Where an organization's alerts go. `config` holds the kind's settings and credentials
    (an address, a bot token and chat id, a Slack or generic URL, a PagerDuty routing key: each
    kind's `config_fields`, apps/alerts/transports/<kind>.py), encrypted at rest as JSON."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        TELEGRAM = "telegram", "Telegram"
        SLACK = "slack", "Slack"
        PAGERDUTY = "pagerduty", "PagerDuty"
        WEBHOOK = "webhook", "Generic webhook"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="alert_channels"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100)
    config = EncryptedTextField(help_text="JSON, encrypted at rest")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    paused_reason = models.CharField(
        max_length=200, blank=True,
        help_text="Set while the plan does not allow it: kept, not run, until the plan allows it")
    created_at = models.DateTimeField(default=timezone.now)

    summary: list[tuple[str, str]]  # not a column: set by the channels pages (channel_summary)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types sent here")
    pairs = models.JSONField(default=list, blank=True,
                             help_text="Pair slugs for price.updated (empty: none)")
    secret = EncryptedTextField(help_text="whsec_…, encrypted at rest")
    previous_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_until = models.DateTimeField(
        null=True, blank=True, help_text="Until then messages are signed with both secrets")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    paused_reason = models.CharField(
        max_length=200, blank=True,
        help_text="Set while the plan does not allow it: kept, not run, until the plan allows it")
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success")
    created_at = models.DateTimeField(default=timezone.now)

    # not a column: set by the webhooks pages, (event, its label) for each of `events`
    event_rows: list[tuple[str, str]]

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "enabled"])]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while a rotation's overlap lasts."""
        if self.previous_secret and self.previous_secret_until \
                and self.previous_secret_until > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookMessage(models.Model):
    """One event for one endpoint: the body exactly as signed, and where its delivery stands."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="messages")
    msg_id = models.CharField(max_length=64, unique=True, help_text="webhook-id")
    event_type = models.CharField(max_length=40, choices=Event.choices)
    body = models.TextField(help_text="The JSON body, byte for byte as signed and sent")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    # not a column: set by the endpoint's page, the message's latest attempts
    latest_attempts: "list[DeliveryAttempt]"

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due"),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.msg_id} {self.event_type} ({self.status})"


class DeliveryAttempt(models.Model):
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE,
                                related_name="delivery_attempts")
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    response_snippet = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.status_code or self.error}"


# --- rules and incidents -----------------------------------------------------------------------

class Rule(models.Model):
    """A condition an organization wants to be told about, over a scope of subjects.

    Subjects are feeds (price, deviation, status and quarantine rules on feeds) or pairs
    (consensus rules). `params` are the kind's (apps/alerts/rule_kinds/<kind>.py declares them;
    docs/alerts.md lists them).
    """

    class Kind(models.TextChoices):
        PRICE_ABOVE = "price_above", "Price above"
        PRICE_BELOW = "price_below", "Price below"
        DEVIATION = "deviation", "Deviation from consensus"
        STATUS = "status", "Feed status"
        CONSENSUS_UNAVAILABLE = "consensus_unavailable", "Consensus unavailable"
        PRICE_MOVE = "price_move", "Price moved by a percentage within a window"
        QUARANTINE = "quarantine", "Reads quarantined (garbage, bad signature)"
        HEALTH_BELOW = "health_below", "Health score below"

    class Scope(models.TextChoices):
        FEED = "feed", "One feed"
        PAIR = "pair", "A pair (its consensus, or each of its feeds)"
        PROTOCOL = "protocol", "A protocol's feeds"
        ALL = "all", "Everything"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="alert_rules"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    target = models.CharField(max_length=120, blank=True,
                              help_text="Feed key, pair slug or protocol slug; empty for all")
    params = models.JSONField(default=dict, blank=True)
    for_seconds = models.PositiveIntegerField(
        default=0, help_text="The condition must hold this long before an incident opens")
    resolve_after_seconds = models.PositiveIntegerField(
        default=60, help_text="…and be clear this long before it resolves (no flapping)")
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    escalation_channels = models.ManyToManyField(
        Channel, blank=True, related_name="escalation_rules",
        help_text="Told when an incident is still unacknowledged after escalate_after_minutes")
    escalate_after_minutes = models.PositiveIntegerField(default=0, help_text="0: never")
    muted_until = models.DateTimeField(
        null=True, blank=True, help_text="Incidents still open and resolve; nobody is told")
    severity = models.CharField(max_length=10, default="warning",
                                choices=[(s, s) for s in ("critical", "warning", "info")])
    enabled = models.BooleanField(default=True)
    paused_reason = models.CharField(
        max_length=200, blank=True,
        help_text="Set while the plan does not allow it: kept, not run, until the plan allows it")
    created_at = models.DateTimeField(default=timezone.now)

    params_summary: str  # not a column: set by the rules pages (its kind's `summary`)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["organization", "enabled"])]

    def __str__(self) -> str:
        return self.name


class Condition(models.Model):
    """Where a (rule, subject) stands between evaluations: since when it breaches or is clear.
    What makes `for_seconds` and `resolve_after_seconds` work across evaluations."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="conditions")
    subject = models.CharField(max_length=120)
    breaching_since = models.DateTimeField(null=True, blank=True)
    clear_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "subject"],
                                               name="condition_rule_subject")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.subject}"


class Incident(models.Model):
    """One per (rule, subject) while its condition holds."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="incidents")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="incidents"
    )
    subject = models.CharField(max_length=120)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    summary = models.CharField(max_length=300)
    value = models.CharField(max_length=80, blank=True, help_text="What breached, as a string")
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [models.UniqueConstraint(
            fields=["rule", "subject"], condition=~models.Q(state="resolved"),
            name="incident_one_unresolved_per_subject")]
        indexes = [models.Index(fields=["organization", "-opened_at"])]

    def __str__(self) -> str:
        return f"{self.rule} · {self.subject} ({self.state})"


class IncidentEvent(models.Model):
    """The incident's timeline: opened, notified via X, acknowledged by Y, resolved."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.kind} {self.detail}"


class MaintenanceWindow(models.Model):
    """Planned work: the organization's notifications are held back (incidents still open)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F(
            "starts_at")), name="maintenance_window_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M} {self.reason}"


class Notice(models.Model):
    """A notification for one channel, written with its cause and sent at least once (the
    channels' outbox, as WebhookMessage is the webhooks')."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notices")
    incidents = models.ManyToManyField(Incident, related_name="notices")
    notification = models.JSONField(help_text="The Notification's fields")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notice_due")]

    def __str__(self) -> str:
        return f"{self.channel} {self.notification.get('kind')} ({self.status})"


class PublishedState(models.Model):
    """The last consensus price or feed status announced to webhooks, so that `price.updated`
    and `feed.status_changed` are derived by comparing stored rows: an evaluation lost before it
    committed is made up by the next one, which still sees the difference."""

    class Kind(models.TextChoices):
        PAIR_PRICE = "pair_price", "A pair's consensus price"
        FEED_STATUS = "feed_status", "A feed's status"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=120, help_text="Pair slug or feed key")
    value = models.CharField(max_length=80, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"],
                                               name="published_state_kind_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} = {self.value}"
