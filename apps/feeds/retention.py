"""Retention: raw observations older than OP_OBSERVATION_RETENTION_DAYS are deleted — whole
monthly partitions dropped on PostgreSQL, then a bounded, batched DELETE per feed for the rest.
Hourly and daily bars are kept forever; 1-minute bars older than OP_MINUTE_BAR_RETENTION_DAYS
are deleted (`prune_minute_bars`) — history of older spans is drawn from hourly bars.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import partitions
from .bars import CONSENSUS, FEED, align
from .fields import sqlite_datetime
from .models import Feed, Pair, PriceObservation, Resolution

logger = logging.getLogger(__name__)


def retention_cutoff(now: datetime | None = None) -> datetime | None:
    """Raw observations before this are deleted by retention (None: kept forever)."""
    days = settings.OP_OBSERVATION_RETENTION_DAYS
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def minute_bar_cutoff(now: datetime | None = None) -> datetime | None:
    """1-minute bars starting before this are deleted by retention (None: kept forever)."""
    days = settings.OP_MINUTE_BAR_RETENTION_DAYS
    if not days:
        return None
    return align((now or timezone.now()) - timedelta(days=days), int(Resolution.HOUR))


def prune_observations(
    now: datetime | None = None, *, batch: int | None = None, max_rows: int | None = None
) -> dict[str, Any]:
    """Delete raw observations older than the retention period; rollups are kept.

    PostgreSQL: monthly partitions whose whole month is older than the cutoff are dropped
    (never the DEFAULT partition), then the remaining older rows (the boundary month, the
    DEFAULT partition) go by batched DELETEs. SQLite: batched DELETEs only. Each batch is its
    own transaction, one feed at a time through the (feed, source_ts, …) index, and a run
    stops after `max_rows` deleted rows (the next run continues)."""
    cutoff = retention_cutoff(now)
    report: dict[str, Any] = {"cutoff": None, "dropped_partitions": [], "deleted_rows": 0}
    if cutoff is None:
        return report
    report["cutoff"] = cutoff.isoformat()
    batch = batch or settings.OP_OBSERVATION_PRUNE_BATCH
    max_rows = max_rows or settings.OP_OBSERVATION_PRUNE_MAX_ROWS
    if partitions.is_partitioned():
        report["dropped_partitions"] = _drop_old_partitions(cutoff)
    table = PriceObservation._meta.db_table
    moment = cutoff if connection.vendor == "postgresql" else sqlite_datetime(cutoff)
    sql = (
        f"DELETE FROM {table} WHERE (id, source_ts) IN ("  # noqa: S608 (fixed names)
        f"SELECT id, source_ts FROM {table} WHERE feed_id = %s AND source_ts < %s LIMIT %s)"
    )
    deleted = 0
    with connection.cursor() as cursor:
        for feed_id in Feed.objects.order_by("pk").values_list("pk", flat=True):
            while deleted < max_rows:
                with transaction.atomic():
                    cursor.execute(sql, [feed_id, moment, min(batch, max_rows - deleted)])
                    count = cursor.rowcount
                deleted += count
                if count < batch:
                    break
            if deleted >= max_rows:
                report["incomplete"] = True
                break
    report["deleted_rows"] = deleted
    return report


def prune_minute_bars(
    now: datetime | None = None, *, batch: int | None = None
) -> dict[str, Any]:
    """Delete 1-minute bars (feeds' and consensus) older than OP_MINUTE_BAR_RETENTION_DAYS.

    The cutoff is hour-aligned, so an hour keeps either all of its minutes or none and the
    hourly bar always covers what was removed. One series at a time through the
    (key, resolution, start) index, in batches of `batch` rows, each its own transaction."""
    cutoff = minute_bar_cutoff(now)
    report: dict[str, Any] = {"cutoff": None, "deleted_bars": 0}
    if cutoff is None:
        return report
    report["cutoff"] = cutoff.isoformat()
    batch = batch or settings.OP_OBSERVATION_PRUNE_BATCH
    for series, owners in ((FEED, Feed.objects), (CONSENSUS, Pair.objects)):
        for key in owners.order_by("pk").values_list("pk", flat=True):
            old = series.model.objects.filter(
                **{series.key: key}, resolution=Resolution.MINUTE, start__lt=cutoff)
            while True:
                with transaction.atomic():
                    ids = list(old.order_by("start").values_list("pk", flat=True)[:batch])
                    count, _ = series.model.objects.filter(pk__in=ids).delete()
                report["deleted_bars"] += count
                if count < batch:
                    break
    return report


def _drop_old_partitions(cutoff: datetime) -> list[str]:
    old = sorted(month for month in partitions.existing_partitions()
                 if partitions.month_start(partitions.next_month(month)) <= cutoff)
    dropped = []
    try:
        for month in old:
            name = partitions.partition_name(month)
            if name == partitions.DEFAULT_PARTITION:  # cannot be (months only), but never
                continue
            with transaction.atomic(), connection.cursor() as cursor:
                # Dropping a partition locks the parent: give up rather than stall writers.
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                # Inside a caller's transaction that inserted rows, their deferred foreign-key
                # checks would block the DROP ("pending trigger events"): run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
            dropped.append(name)
            logger.info("retention: dropped partition %s (older than %s)", name, cutoff)
    finally:
        if dropped:
            partitions.forget_known_partitions()
    return dropped
