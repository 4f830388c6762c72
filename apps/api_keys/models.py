from datetime import UTC, datetime, time
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    """A key for the public API. Only its display prefix and an HMAC of it are stored."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        READ_WRITE = "read_write", "Read and write"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="op_live_ + lookup id")
    digest = models.CharField(max_length=64, unique=True, help_text="HMAC-SHA256 of the key")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by",
        help_text="The key this one rotated; it stays valid until its grace period ends",
    )
    created_by_key = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="created_keys",
        help_text="The API key that created this one (revoking it revokes this one too)",
    )
    paused_reason = models.CharField(
        max_length=200, blank=True,
        help_text="Set while the plan allows fewer keys: the key is refused until it fits again")
    # Copied from Redis by the usage flush, never written per request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    # Not columns: set on instances for one response only.
    status: str  # the keys page's "active" / "expiring" / "expired" / "revoked"
    key: str  # the plaintext of a key just created or rotated, shown this once

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def usable(self, now: datetime | None = None) -> bool:
        """Not revoked, not expired (a paused key is usable again once the plan allows it)."""
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE


class ApiUsage(models.Model):
    """Calls and response bytes of one key in one UTC hour (flushed in bulk from the counters);
    `day` is the hour's date, for the per-day pages."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="usage")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="api_usage"
    )
    hour: datetime = models.DateTimeField()  # type: ignore[assignment]  # None until save() fills it
    day = models.DateField()
    calls = models.BigIntegerField(default=0)
    response_bytes = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "key_id"]
        constraints = [models.UniqueConstraint(fields=["key", "hour"], name="api_usage_key_hour")]
        indexes = [models.Index(fields=["organization", "-day"]),
                   models.Index(fields=["organization", "hour"],
                                name="api_keys_ap_organiz_hour_idx")]

    def __str__(self) -> str:
        return f"{self.key_id} {self.hour:%Y-%m-%d %H}h: {self.calls} calls"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """`day` is always the hour's date (a row given only a day is that day's first hour)."""
        if self.hour is None and self.day is not None:
            self.hour = datetime.combine(self.day, time(0), tzinfo=UTC)
        self.day = self.hour.astimezone(UTC).date()
        super().save(*args, **kwargs)
