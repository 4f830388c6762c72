"""`ingest` (run by `make bench`, see benchmarks/harness.py).

`ingest`: observations stored through `store_observations` — the production write path —
next to a raw text COPY of the same rows into the same partitioned table in the same run.
Everything happens in a scratch database that is created, migrated and dropped here.
"""
from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from apps.feeds import partitions
from apps.feeds.models import Asset, Chain, Feed, Pair, PriceObservation
from apps.feeds.services import forget_session_state, store_observations
from apps.feeds.signals import observations_stored
from apps.protocols.models import Protocol
from benchmarks.harness import Context, Result, benchmark, database_label, scratch_database

FEEDS = 200
POINTS_PER_FEED = 5_000  # one a minute: 200 × 5,000 = 1,000,000 rows
BATCH_SIZE = 10_000  # rows per store_observations call (and per COPY in the baseline)
DUPLICATES = 100_000  # rows re-stored to measure the all-conflicts path
SPAN_DAYS = 120  # feeds start staggered over ~4 months, so several partitions are hit
SQLITE_SHARE = 0.1  # SQLite (the laptop path) gets a tenth of the rows
TARGET = "ratio >= 0.5"  # store_observations at least half as fast as raw text COPY
SEED = 20261126
COLUMNS = (
    "feed_id", "raw_answer", "decimals", "price", "source_ts", "fetched_at",
    "round_id", "confidence", "block_number", "verified",
)

# (protocol slug, decimals, has round ids, has confidences, has block numbers, verified flag)
PROFILES = (
    ("chainlink", 8, True, False, True, None),
    ("pyth", 8, False, True, False, True),
    ("api3", 18, False, False, True, None),
    ("redstone", 18, False, False, False, True),
)


@benchmark("ingest")
def ingest(context: Context) -> Iterator[Result]:
    """Rows/s through store_observations vs a raw text COPY, plus the all-duplicates path."""
    postgres = connection.vendor == "postgresql"
    total = context.scaled(FEEDS * POINTS_PER_FEED * (1 if postgres else SQLITE_SHARE))
    feeds_count = min(FEEDS, total)
    points = max(1, total // feeds_count)
    total = feeds_count * points
    duplicates = min(total, context.scaled(DUPLICATES * (1 if postgres else SQLITE_SHARE)))
    batch_size = min(BATCH_SIZE, total)

    with scratch_database("bench"):
        forget_session_state()  # partitions remembered from an earlier scratch database
        try:
            yield from _ingest(context, postgres, feeds_count, points, duplicates, batch_size)
        finally:
            forget_session_state()


def _ingest(
    context: Context, postgres: bool, feeds_count: int, points: int, duplicates: int,
    batch_size: int,
) -> Iterator[Result]:
    total = feeds_count * points
    start = _first_month()
    feeds = create_feeds(feeds_count)
    config: dict[str, Any] = {
        "database": database_label(),
        "server": "none (store_observations called in-process)",
        "workers": 1,
        "rows": total,
        "feeds": feeds_count,
        "points_per_feed": points,
        "batch_size": batch_size,
        "order": "feed by feed, as a history backfill writes",
        "observations_stored_receivers": len(observations_stored.receivers),
    }

    context.log(f"ingest: building {total:,} unsaved PriceObservation objects")
    build_seconds, observations = _timed(lambda: _build(feeds, points, start))
    months = sorted({partitions.month_of(obs.source_ts) for obs in observations})
    config["months"] = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m} ({len(months)} months)"
    batches = _batches(observations, batch_size)
    # A million long-lived objects would make every full collection rescan them; a process
    # storing one batch at a time would not hold them, so take them out of the collector's view.
    gc.collect()
    gc.freeze()
    try:
        yield Result(
            "ingest", "object_build_seconds", build_seconds, "s",
            config={**config, "what": "constructing the unsaved PriceObservation objects "
                                      "(not part of rows_per_second)"},
        )
        copy_rate = None
        if postgres:
            config["autovacuum"] = _prepare_partitions(observations)
            copy_rate, copy_config = _raw_copy(context, observations, batch_size)
            yield Result(
                "ingest", "raw_copy_rows_per_second", copy_rate, "rows/s",
                config={**config, **copy_config},
            )
            _reset_table()

        context.log(f"ingest: store_observations, {len(batches)} batches of {batch_size:,}")
        checkpoint()
        seconds, stored = _timed(lambda: _store(batches))
        expect(stored, total, "new rows stored")
        expect(_count(), total, "rows in the table")
        yield Result(
            "ingest", "rows_per_second", total / seconds, "rows/s",
            baseline=copy_rate, target=TARGET if postgres else None,
            config={
                **config, "seconds": round(seconds, 6),
                "baseline_is": "raw text COPY of the same rows, same batches, same table"
                if postgres else "none on SQLite (no COPY)",
            },
        )

        context.log(f"ingest: re-storing {duplicates:,} already stored rows")
        # The same generator from the same seed: the first feeds' rows again, as new objects.
        first_feeds = feeds[:-(-duplicates // points)]
        again = _batches(_build(first_feeds, points, start, len(feeds))[:duplicates], batch_size)
        seconds, stored = _timed(lambda: _store(again))
        expect(stored, 0, "new rows from duplicates")
        yield Result(
            "ingest", "rows_per_second_all_duplicates", duplicates / seconds, "rows/s",
            config={**config, "rows": duplicates, "seconds": round(seconds, 6),
                    "what": "store_observations of rows already stored: every row a conflict"},
        )
    finally:
        gc.unfreeze()


def _raw_copy(
    context: Context, observations: Sequence[PriceObservation], batch_size: int
) -> tuple[float, dict[str, Any]]:
    """The baseline: text COPY of the same rows, one COPY and commit per batch, into the
    partitioned table whose partitions already exist."""
    text_seconds, blocks = _timed(lambda: [
        _copy_text(observations[i:i + batch_size])
        for i in range(0, len(observations), batch_size)
    ])
    table = PriceObservation._meta.db_table
    statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
    context.log(f"ingest: raw text COPY, {len(blocks)} batches")
    checkpoint()

    def copy_all() -> None:
        with connection.cursor() as cursor:
            for block in blocks:
                with transaction.atomic(), cursor.cursor.copy(statement) as copy:
                    copy.write(block)

    seconds, _ = _timed(copy_all)
    expect(_count(), len(observations), "rows in the table after COPY")
    return len(observations) / seconds, {
        "seconds": round(seconds, 6),
        "text_build_seconds": round(text_seconds, 6),
        "what": "COPY FROM STDIN (text) of precomputed lines, same batches, same table",
    }


def _prepare_partitions(observations: Sequence[PriceObservation]) -> str:
    """Create the months' partitions up front (the baseline COPY cannot) and keep autovacuum
    off them: on a small machine an autovacuum worker starting during one phase and not the
    other decided the ratio more than the code did."""
    partitions.ensure_partitions(obs.source_ts for obs in observations)
    names = [partitions.partition_name(m) for m in sorted(partitions.existing_partitions())]
    with connection.cursor() as cursor:
        for name in [*names, partitions.DEFAULT_PARTITION]:
            cursor.execute(f"ALTER TABLE {name} SET (autovacuum_enabled = off)")
    return "off on the scratch partitions during the run (noise; production vacuums)"


def _first_month() -> datetime:
    # The 4th month back, so every timestamp is in the past and inside partitionable months.
    now = datetime.now(UTC)
    year, month = now.year, now.month - 4
    if month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


def create_feeds(count: int) -> list[Feed]:
    protocols = {
        slug: Protocol.objects.create(slug=slug, name=slug.title()) for slug, *_ in PROFILES
    }
    chain = Chain.objects.create(slug="ethereum", name="Ethereum", chain_id=1)
    usd = Asset.objects.create(symbol="USD", name="US Dollar", kind=Asset.Kind.FIAT)
    pair_count = -(-count // len(PROFILES))
    bases = Asset.objects.bulk_create(
        Asset(symbol=f"B{i:03d}", name=f"Bench asset {i}") for i in range(pair_count)
    )
    pairs = Pair.objects.bulk_create(
        Pair(base=base, quote=usd, slug=f"{base.symbol}-USD") for base in bases
    )
    feeds = []
    for i in range(count):
        slug, decimals, *_ = PROFILES[i % len(PROFILES)]
        pair = pairs[i // len(PROFILES)]
        feeds.append(Feed(
            key=f"{slug}-ethereum-{pair.slug.lower()}", protocol=protocols[slug], pair=pair,
            chain=chain, source_kind=Feed.SourceKind.EVM, decimals=decimals,
            heartbeat_seconds=3600, deviation_threshold_bps=Decimal("50"),
        ))
    return Feed.objects.bulk_create(feeds)


def _build(
    feeds: Sequence[Feed], points: int, start: datetime, stagger_over: int | None = None
) -> list[PriceObservation]:
    """Unsaved observations as adapters hand them over: a random walk per feed, one a minute,
    8- and 18-decimal answers (the latter with more digits than a float holds), uint80 round
    ids, Pyth-style confidences, block numbers and verified flags where the protocol has them."""
    rng = random.Random(SEED)
    minute = timedelta(minutes=1)
    stagger_over = stagger_over or len(feeds)
    stagger = (timedelta(days=SPAN_DAYS) - minute * points) / max(1, stagger_over - 1)
    observations = []
    for index, feed in enumerate(feeds):
        _, decimals, rounds, confidences, blocks, verified = PROFILES[index % len(PROFILES)]
        price = rng.uniform(0.05, 70_000)
        moment = start + stagger * index
        round_id = (rng.randint(1, 6) << 64) | rng.randint(1, 50_000)
        block = 20_000_000 + rng.randint(0, 1_000_000)
        for _ in range(points):
            price *= 1 + rng.gauss(0, 0.0005)
            raw = int(price * 1e8)
            if decimals == 18:
                raw = raw * 10**10 + rng.randrange(10**10)
            confidence = None
            if confidences:
                confidence = Decimal(max(1, raw // 2000)).scaleb(-decimals)
            observations.append(PriceObservation(
                feed_id=feed.pk, raw_answer=raw, decimals=decimals, source_ts=moment,
                fetched_at=moment + timedelta(seconds=rng.random() * 20),
                round_id=round_id if rounds else None, confidence=confidence,
                block_number=block if blocks else None,
                verified=verified and rng.random() > 0.01 if verified is not None else None,
            ))
            moment += minute
            round_id += 1
            block += 5
    return observations


def _copy_text(observations: Sequence[PriceObservation]) -> bytes:
    """COPY text lines of exactly what store_observations writes (price derived the same way)."""
    lines = []
    for obs in observations:
        values = (
            obs.feed_id, obs.raw_answer, obs.decimals,
            PriceObservation.scale(obs.raw_answer, obs.decimals),
            obs.source_ts.isoformat(), obs.fetched_at.isoformat(), obs.round_id,
            obs.confidence, obs.block_number,
            None if obs.verified is None else ("t" if obs.verified else "f"),
        )
        lines.append("\t".join("\\N" if v is None else str(v) for v in values))
    return ("\n".join(lines) + "\n").encode()


def _batches(observations: list[PriceObservation], size: int) -> list[list[PriceObservation]]:
    return [observations[i:i + size] for i in range(0, len(observations), size)]


def _store(batches: Sequence[Sequence[PriceObservation]]) -> int:
    return sum(len(store_observations(batch)) for batch in batches)


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def _count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PriceObservation._meta.db_table}")  # noqa: S608
        return cursor.fetchone()[0]


def _reset_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {PriceObservation._meta.db_table}")


def checkpoint() -> None:
    # Start each timed phase without the previous phase's dirty pages still being flushed.
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except Exception:  # noqa: S110 (needs superuser; the run is still valid without)
        pass


def expect(actual: int, expected: int, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"ingest: {what}: {actual:,}, expected {expected:,}")
