from datetime import datetime

from celery import shared_task

from . import pair_state, partitions, retention, rollups
from .models import Feed


@shared_task(name="feeds.ensure_partitions")
def ensure_partitions() -> list[str]:
    """Create this month's and the coming months' partitions ahead of the first write."""
    months = partitions.current_and_upcoming_months()
    created = partitions.ensure_partitions(map(partitions.month_start, months))
    return [partitions.partition_name(month) for month in created]


@shared_task(name="feeds.refresh_pairs", ignore_result=True)
def refresh_pairs(pair_ids: list[int]) -> None:
    """Recompute status and consensus of these pairs (after new observations)."""
    pair_state.refresh_pairs(pair_ids)


@shared_task(name="feeds.refresh_aged_states", ignore_result=True)
def refresh_aged_states() -> int:
    """Recompute pairs whose state has not been recomputed for OP_STATE_MAX_AGE_SECONDS."""
    return pair_state.refresh_aged_states()


@shared_task(name="feeds.prune_observations")
def prune_observations() -> dict:
    """Delete raw observations older than OP_OBSERVATION_RETENTION_DAYS and 1-minute bars
    older than OP_MINUTE_BAR_RETENTION_DAYS (hourly and daily bars are kept)."""
    return {"observations": retention.prune_observations(),
            "minute_bars": retention.prune_minute_bars()}


@shared_task(name="feeds.rebuild_rollups")
def rebuild_rollups(feed_keys: list[str] | None = None, since: str | None = None) -> dict:
    """Recompute feeds' OHLC buckets from raw observations (idempotent); `since` is ISO-8601."""
    feeds = None if feed_keys is None else Feed.objects.filter(key__in=feed_keys)
    start = None if since is None else datetime.fromisoformat(since)
    return rollups.rebuild_feed_rollups(feeds, start)
