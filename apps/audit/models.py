"""The audit log: one row per change a tenant would ask "who did this?" about. Rows are never
changed or deleted through the product (only with their organization); what must outlive the
user, the key or the object it names is copied into the row."""
from __future__ import annotations

import json
from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .actions import label


class ImmutableError(Exception):
    """An audit event was about to be changed or deleted."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    # Bulk writes would bypass the model's guards. Deleting an organization still removes its
    # events: the cascade goes through the base manager, not this queryset.
    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableError("Audit events cannot be changed.")

    def delete(self) -> NoReturn:
        raise ImmutableError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    class Via(models.TextChoices):
        SESSION = "session", "Session"
        API_KEY = "api_key", "API key"
        SYSTEM = "system", "System"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="audit_events"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=60, help_text="<group>.<verb>, apps/audit/actions.py")
    target_type = models.CharField(max_length=60, blank=True, help_text="app_label.model")
    target_id = models.CharField(max_length=40, blank=True)
    target_repr = models.CharField(max_length=200, blank=True,
                                   help_text="What the target was called, kept after deletion")
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    actor_email = models.EmailField(blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    api_key = models.ForeignKey(
        "api_keys.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
    )
    api_key_prefix = models.CharField(max_length=16, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects: ClassVar[models.Manager[AuditEvent]] = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableError("Audit events cannot be deleted.")

    @property
    def action_label(self) -> str:
        return label(self.action)

    @property
    def actor_display(self) -> str:
        """The user's email, else the key's prefix, else "system"."""
        if self.actor_email:
            return self.actor_email
        if self.api_key_prefix:
            return f"{self.api_key_prefix}…"
        return "system"

    @property
    def changes(self) -> list[tuple[str, str, str]]:
        """(field, before, after) for the pages, values as text ("" where a side has none)."""
        before, after = self.before or {}, self.after or {}
        return [(field, _as_text(before.get(field)), _as_text(after.get(field)))
                for field in {**before, **after}]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, cls=DjangoJSONEncoder)
