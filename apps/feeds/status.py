"""Feed status: fresh, late, stale, down or unknown — defined once here and used verbatim by
the dashboard, the API, alerts and webhooks.

A feed is only as fresh as its source's own timestamp. With `grace` = max(10 % of the
heartbeat, OP_STATUS_MIN_GRACE_SECONDS):
- fresh: the last value is at most heartbeat + grace old;
- late: at most 2 × heartbeat + grace old (a round is overdue);
- stale: older;
- down: the source has been failing (errors or quarantined reads) for longer than grace;
- unknown: no value yet, or our own ingestion is delayed — users are never told an oracle is
  stale because we are.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models


class FeedStatus(models.TextChoices):
    FRESH = "fresh", "Fresh"
    LATE = "late", "Late"
    STALE = "stale", "Stale"
    DOWN = "down", "Down"
    UNKNOWN = "unknown", "Unknown"


@dataclass(frozen=True)
class StatusVerdict:
    status: FeedStatus
    reason: str  # e.g. "ingestion delayed", "no value yet", "12 s past its heartbeat"
    age_seconds: float | None = None


def grace(heartbeat_seconds: float) -> timedelta:
    return timedelta(seconds=max(heartbeat_seconds * 0.1, settings.OP_STATUS_MIN_GRACE_SECONDS))


def feed_status(
    *, source_ts: datetime | None, heartbeat_seconds: float, now: datetime,
    failing_since: datetime | None = None, failure: str = "", ingestion_delayed: bool = False,
) -> StatusVerdict:
    if ingestion_delayed:
        return StatusVerdict(FeedStatus.UNKNOWN, "ingestion delayed")
    allowance = grace(heartbeat_seconds)
    if failing_since is not None and now - failing_since > allowance:
        return StatusVerdict(FeedStatus.DOWN, failure or "the source is failing")
    if source_ts is None:
        return StatusVerdict(FeedStatus.UNKNOWN, "no value yet")
    age = now - source_ts
    heartbeat = timedelta(seconds=heartbeat_seconds)
    seconds = age.total_seconds()
    if age <= heartbeat + allowance:
        return StatusVerdict(FeedStatus.FRESH, "within its heartbeat", seconds)
    if age <= 2 * heartbeat + allowance:
        overdue = (age - heartbeat).total_seconds()
        return StatusVerdict(FeedStatus.LATE, f"{overdue:.0f} s past its heartbeat", seconds)
    return StatusVerdict(FeedStatus.STALE,
                         f"{seconds:.0f} s old, heartbeat {heartbeat_seconds:g} s", seconds)
