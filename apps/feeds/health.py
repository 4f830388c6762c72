"""Health score, 0–100, per feed and per protocol, over the last OP_HEALTH_WINDOW_SECONDS:

    health = 100 × (0.4 × uptime + 0.2 × (1 − error rate) + 0.2 × deviation + 0.2 × status)

- uptime: the share of the window's slots (one per heartbeat, at least a minute) in which the
  feed published at least one value;
- error rate: quarantined reads / (values + quarantined reads) in the window;
- deviation: 1 − |deviation from consensus| / limit, floored at 0, where limit is twice the
  feed's deviation threshold (100 bps for continuous publishers);
- status: fresh 1, late 0.5, stale or down 0. An `unknown` feed (no value, or our ingestion
  delayed) gets no score rather than a bad one.
"""
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count

from .models import Feed, FeedBar, QuarantinedRead
from .status import FeedStatus

STATUS_SCORE = {FeedStatus.FRESH: 1.0, FeedStatus.LATE: 0.5, FeedStatus.STALE: 0.0,
                FeedStatus.DOWN: 0.0}


@dataclass(frozen=True)
class Health:
    score: int | None
    uptime: float
    error_rate: float
    deviation: float
    status: float | None

    @property
    def explanation(self) -> str:
        if self.score is None:
            return "no score while the status is unknown"
        return (f"uptime {self.uptime:.0%} (×0.4), errors {self.error_rate:.0%} (×0.2), "
                f"deviation score {self.deviation:.2f} (×0.2), status score {self.status:.1f}"
                " (×0.2)")


def score(*, uptime: float, error_rate: float, deviation_bps: Decimal | None,
          limit_bps: Decimal, status: str) -> Health:
    deviation = 1.0 if deviation_bps is None else max(
        0.0, 1 - float(abs(deviation_bps) / limit_bps))
    status_score = STATUS_SCORE.get(FeedStatus(status))
    if status_score is None:
        return Health(None, uptime, error_rate, deviation, None)
    value = 100 * (0.4 * uptime + 0.2 * (1 - error_rate) + 0.2 * deviation + 0.2 * status_score)
    return Health(round(value), uptime, error_rate, deviation, status_score)


def feed_health(feeds: list[Feed], rows: dict[int, dict], now: datetime) -> dict[int, Health]:
    """Health of each feed, `rows` being its latest-state rows (status, deviation)."""
    window = settings.OP_HEALTH_WINDOW_SECONDS
    start = now - timedelta(seconds=window)
    ids = [f.pk for f in feeds]
    minutes: dict[int, list[datetime]] = defaultdict(list)
    values: dict[int, int] = defaultdict(int)
    for feed_id, bucket, count in FeedBar.objects.filter(
            feed_id__in=ids, resolution=60, start__gte=start).values_list("feed_id", "start",
                                                                          "count"):
        minutes[feed_id].append(bucket)
        values[feed_id] += count
    rejected = dict(QuarantinedRead.objects.filter(feed_id__in=ids, created_at__gte=start)
                    .values("feed_id").annotate(n=Count("id")).values_list("feed_id", "n"))
    result = {}
    for feed in feeds:
        slot = max(60, feed.heartbeat_seconds)
        slots = max(1, math.ceil(window / slot))
        covered = len({int((m - start).total_seconds()) // slot for m in minutes[feed.pk]})
        uptime = min(1.0, covered / slots)
        bad = rejected.get(feed.pk, 0)
        error_rate = bad / (values[feed.pk] + bad) if values[feed.pk] + bad else 0.0
        row = rows.get(feed.pk) or {"status": FeedStatus.UNKNOWN, "deviation_bps": None}
        limit = 2 * feed.deviation_threshold_bps if feed.deviation_threshold_bps else Decimal(100)
        deviation = Decimal(row["deviation_bps"]) if row.get("deviation_bps") else None
        result[feed.pk] = score(uptime=uptime, error_rate=error_rate, deviation_bps=deviation,
                                limit_bps=limit, status=row["status"])
    return result


def protocol_health(health: dict[int, Health]) -> int | None:
    scores = [h.score for h in health.values() if h.score is not None]
    return round(sum(scores) / len(scores)) if scores else None

