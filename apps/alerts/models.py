"""Alerts and webhooks: notification channels (one transport class per kind, in
`transports/`), webhook endpoints and their outbox — every event is a WebhookMessage written in
the same transaction as its cause, delivered at least once by `services.deliver_due` with every
attempt recorded."""
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
    (an address, a bot token and chat id, a Slack or generic URL, a PagerDuty routing key),
    encrypted at rest as JSON."""

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
    created_at = models.DateTimeField(default=timezone.now)

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
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success")
    created_at = models.DateTimeField(default=timezone.now)

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
