"""`history` (run by `make bench`, see benchmarks/harness.py): `history(feed, now - 1 year,
now)` from a year of one-minute rows, cold and warm, and what the rollup receiver costs the
ingest path. Runs in a scratch database created, migrated and dropped here.
"""
from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from apps.feeds import partitions, receivers
from apps.feeds.models import Feed, FeedBar, PriceObservation, Resolution
from apps.feeds.selectors import history as history_selector
from apps.feeds.services import forget_session_state, store_observations
from apps.feeds.signals import observations_stored
from benchmarks.harness import Context, Result, benchmark, database_label, scratch_database
from benchmarks.ingest import SEED, checkpoint, create_feeds, expect

HISTORY_MINUTES = 365 * 24 * 60  # one year of one-minute observations: 525,600 rows
HISTORY_BATCH = 10_000
HISTORY_CALLS = 20
HISTORY_TARGET = "value < 50"  # ms, p50 of a cold history(feed, now - 1 year, now)
ROLLUP_RECEIVER = "feeds.rollups"  # dispatch_uid of the rollup receiver (apps.feeds.apps)


@benchmark("history")
def history(context: Context) -> Iterator[Result]:
    """history(feed, now-1y, now) from a year of 1-minute rows, cold; rollups' ingest cost."""
    postgres = connection.vendor == "postgresql"
    rows = context.scaled(HISTORY_MINUTES if postgres else HISTORY_MINUTES // 10, minimum=60)
    with scratch_database("bench_history"):
        forget_session_state()
        try:
            yield from _history(context, postgres, rows)
        finally:
            forget_session_state()


def _history(context: Context, postgres: bool, rows: int) -> Iterator[Result]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first = now - timedelta(minutes=rows - 1)
    with_rollups, without = create_feeds(2)
    partitions.ensure_partitions(
        partitions.month_start(m) for m in {partitions.month_of(first), partitions.month_of(now)}
        | {partitions.month_of(first + timedelta(days=d)) for d in range(0, rows // 1440 + 31, 28)}
    )
    config: dict[str, Any] = {
        "database": database_label(),
        "server": "none (store_observations and history called in-process)",
        "workers": 1,
        "rows": rows,
        "feeds": 1,
        "points_per_feed": rows,
        "batch_size": HISTORY_BATCH,
        "span": f"{first:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC, one row a minute",
        "observations_stored_receivers": "only the rollup receiver (others off: they enqueue "
                                         "consensus work that is not this benchmark's)",
    }

    # The same rows (prices, order, batch size) into two feeds: one with the rollup receiver
    # connected, one without. Only store_observations is timed, not building the objects.
    seconds = {}
    for feed, receiver_on in ((without, False), (with_rollups, True)):
        context.log(f"history: storing {rows:,} rows, rollup receiver "
                    f"{'on' if receiver_on else 'off'}")
        checkpoint()
        with _receivers(only_rollups=receiver_on) as receivers:
            seconds[receiver_on] = _store_minutes(feed, first, rows)
    expect(FeedBar.objects.filter(feed=with_rollups, resolution=Resolution.MINUTE).count(),
            rows, "1-minute buckets")
    expect(FeedBar.objects.filter(feed=without).count(), 0, "buckets of the feed without")
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    added = seconds[True] - seconds[False]
    ingest_config = {**config, "seconds_without_rollups": round(seconds[False], 3),
                     "seconds_with_rollups": round(seconds[True], 3),
                     "seconds_inside_rollup_receiver": round(receivers.seconds, 3),
                     "what": "store_observations of the same rows with the rollup receiver "
                             "(1m/1h/1d upserts after each commit) minus without"}
    yield Result("history", "rollup_ingest_overhead_seconds", added, "s",
                 config=ingest_config)
    yield Result("history", "rollup_receiver_seconds", receivers.seconds, "s",
                 config={**ingest_config, "what": "time spent inside the rollup receiver, "
                                                  "measured around each call"})
    yield Result("history", "ingest_rows_per_second_with_rollups", rows / seconds[True],
                 "rows/s", baseline=rows / seconds[False], config=ingest_config)

    spans = {"1y": timedelta(days=365), "30d": timedelta(days=30), "7d": timedelta(days=7),
             "1d": timedelta(days=1), "6h": timedelta(hours=6)}
    cold_config = {
        **config,
        "calls": HISTORY_CALLS,
        "cold": "the connection is closed before each call, so each call opens a new "
                "connection (new server backend: empty catalog and plan caches) — connecting "
                "is inside the timing; the server's shared buffers and the OS page cache stay "
                "warm (dropping them needs root)",
    }
    for label, span in spans.items():
        timings, bars = [], []
        for _ in range(HISTORY_CALLS):
            connection.close()
            started = time.perf_counter()
            bars = history_selector(with_rollups, now - span, now, points=500, now=now)
            timings.append((time.perf_counter() - started) * 1000)
        warm = []
        for _ in range(HISTORY_CALLS):
            started = time.perf_counter()
            history_selector(with_rollups, now - span, now, points=500, now=now)
            warm.append((time.perf_counter() - started) * 1000)
        timings.sort()
        warm.sort()
        details = {
            **cold_config, "span": label, "bars_returned": len(bars),
            "bar_seconds": bars[0].seconds if bars else None,
            "p99_ms": round(_percentile(timings, 0.99), 3),
            "warm_p50_ms": round(_percentile(warm, 0.5), 3),
        }
        context.log(f"history {label}: {len(bars)} bars, cold p50 "
                    f"{_percentile(timings, 0.5):.2f} ms")
        if label == "1y":
            yield Result("history", "cold_p50_ms", _percentile(timings, 0.5), "ms",
                         target=HISTORY_TARGET, config=details)
            yield Result("history", "cold_p99_ms", _percentile(timings, 0.99), "ms",
                         target=HISTORY_TARGET, config=details)
        else:
            yield Result("history", f"cold_p50_ms_{label}", _percentile(timings, 0.5), "ms",
                         config=details)


def _store_minutes(feed: Feed, first: datetime, rows: int) -> float:
    """Store one a minute from `first`, in batches; returns the seconds spent storing."""
    rng = random.Random(SEED)
    price = 3000.0
    minute = timedelta(minutes=1)
    spent = 0.0
    for begin in range(0, rows, HISTORY_BATCH):
        batch = []
        for i in range(begin, min(rows, begin + HISTORY_BATCH)):
            price *= 1 + rng.gauss(0, 0.0005)
            moment = first + minute * i
            batch.append(PriceObservation(
                feed_id=feed.pk, raw_answer=int(price * 1e8), decimals=8, source_ts=moment,
                fetched_at=moment + timedelta(seconds=3),
            ))
        started = time.perf_counter()
        stored = store_observations(batch)
        spent += time.perf_counter() - started
        expect(len(stored), len(batch), "new rows in a history batch")
    return spent


class _receivers:
    """Connect only the rollup receiver (or none) to observations_stored for a while."""

    def __init__(self, *, only_rollups: bool) -> None:
        self.only_rollups = only_rollups
        self.seconds = 0.0  # spent inside the rollup receiver

    def __enter__(self) -> _receivers:
        self.saved = list(observations_stored.receivers)
        connected = any(r[0][0] == ROLLUP_RECEIVER for r in self.saved)
        if self.only_rollups and not connected:
            raise AssertionError("history: the rollup receiver is not connected")
        observations_stored.receivers[:] = []
        observations_stored.sender_receivers_cache.clear()
        if self.only_rollups:
            def timed(sender: Any, **kwargs: Any) -> None:
                started = time.perf_counter()
                try:
                    receivers.roll_up_new_observations(sender, **kwargs)
                finally:
                    self.seconds += time.perf_counter() - started

            self.receiver = timed  # signals hold receivers weakly
            observations_stored.connect(timed, dispatch_uid=ROLLUP_RECEIVER)
        return self

    def __exit__(self, *exc: object) -> None:
        observations_stored.receivers[:] = self.saved
        observations_stored.sender_receivers_cache.clear()


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]
