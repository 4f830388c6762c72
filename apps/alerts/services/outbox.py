"""The one lease both outboxes are claimed under: webhook messages (`WebhookMessage`) and
channel notices (`Notice`), each pending with a `next_attempt_at`, each sent by
apps/alerts/services/delivery.py.

A claim moves the due rows' next attempt past the longest the batch can take to send — its
sends, `concurrency` at a time, each within the outbound timeout — and commits that before
anything is sent. So a worker that dies mid-delivery leaves its rows to be retried when the lease
runs out, and no other worker takes a row while this one may still send it. The lease is also
the claim's token: an attempt's outcome is written (`settle`) only while the row is still
pending with the lease it was claimed with — if the lease ran out (another worker took it) or
someone asked for a redelivery, the row is another attempt's now, and this stale outcome must not
overwrite it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from apps.alerts.models import Notice, WebhookMessage

# The outbox tables: each has `Status.PENDING`, `attempts` and `next_attempt_at`.
Row = TypeVar("Row", WebhookMessage, Notice)


def lease_for(batch: int, concurrency: int) -> timedelta:
    """Longer than a batch can take: its sends, `concurrency` at a time, each within the
    outbound timeout — so no other worker takes a row while this one may still send it."""
    rounds = -(-batch // concurrency)
    return timedelta(seconds=settings.OP_OUTBOUND_TIMEOUT * rounds + 30)


@dataclass(frozen=True)
class Outbox(Generic[Row]):
    """An outbox table: `model` has `status` (PENDING while due), `attempts` and
    `next_attempt_at`, and is sent only while its `target` (a foreign key with `enabled` and
    `paused_reason`) is enabled and not paused by the plan; `concurrency` sends go out at once."""

    model: type[Row]
    target: str
    concurrency: int

    def claim(self, now: datetime, limit: int) -> list[Row]:
        """Up to `limit` due rows (with their target), leased: see the module's docstring."""
        with transaction.atomic():
            due = (self.model.objects.select_related(self.target)
                   .filter(status=self.model.Status.PENDING, next_attempt_at__lte=now,
                           **{f"{self.target}__enabled": True,
                              f"{self.target}__paused_reason": ""})
                   .order_by("next_attempt_at"))
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            claimed = list(due[:limit])
            lease = now + lease_for(len(claimed), self.concurrency)
            self.model.objects.filter(pk__in=[row.pk for row in claimed]).update(
                next_attempt_at=lease)
        for row in claimed:
            row.next_attempt_at = lease  # the claim's token: see settle
        return claimed

    def settle(self, row: Row, claimed_until: datetime, **outcome: Any) -> bool:
        """Record one attempt (`attempts` + 1) and its `outcome` fields, only while the claim
        made at `claimed_until` holds; returns whether it did."""
        return bool(self.model.objects.filter(
            pk=row.pk, status=self.model.Status.PENDING, next_attempt_at=claimed_until,
        ).update(attempts=F("attempts") + 1, **outcome))
