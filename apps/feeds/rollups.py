"""OHLC rollups (1 minute, 1 hour, 1 day) of feeds and of consensus prices: the writers.

Two series kinds, one code path: a `Series` (bars.py) names the bar model and its key column —
`FEED` (FeedBar, keyed by feed) and `CONSENSUS` (ConsensusBar, keyed by pair). Prices enter as
`(key, source time, price)` points, are grouped into buckets (bars.rollup), and each batch is
written with one upsert (PostgreSQL: `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE`
merging with GREATEST/LEAST; SQLite, whose exact numbers are TEXT: the existing buckets are
read in one query, merged in Python and written back, inside one IMMEDIATE transaction).

Observations arrive through `observations_stored` (receivers.py calls `apply_observations`);
rows with `verified=False` never enter a rollup. The receiver runs after the batch committed:
if it fails (it is logged) or the process dies in between, `rebuild_feed_rollups` repairs the
range. Consensus points arrive through `record_consensus_point(s)`. Retention of raw rows and
of 1-minute bars is retention.py's.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from .bars import (
    CONSENSUS,
    FEED,
    NAIVE_EPOCH,
    Acc,
    BucketKey,
    Series,
    align,
    from_us,
    merge,
    rollup,
    to_us,
)
from .models import Feed, FeedBar, Pair, PriceObservation, Resolution
from .retention import retention_cutoff

logger = logging.getLogger(__name__)

_BAR_COLUMNS = ("resolution", "start", "open", "high", "low", "close", "count",
                "first_ts", "last_ts")
_PG_CHUNK = 20_000  # bars per upsert statement on PostgreSQL
_SQLITE_CHUNK = 500  # bars per INSERT on SQLite (10 values each, well under its limit)
_REBUILD_WINDOW = timedelta(days=7)  # raw rows re-aggregated per step of a rebuild (day-aligned)
_DAY = timedelta(days=1)


def upsert(series: Series, bars: dict[BucketKey, Acc]) -> int:
    """Merge `bars` (computed from rows stored after those already rolled up) into the table."""
    if not bars:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _upsert_postgresql(series, bars)
        elif connection.vendor == "sqlite":
            _upsert_sqlite(series, bars)
        else:
            raise NotImplementedError(f"{connection.vendor} is not supported")
    return len(bars)


def _upsert_postgresql(series: Series, bars: dict[BucketKey, Acc]) -> None:
    # Sorted, so concurrent writers lock rows in the same order (no deadlocks). Each column
    # travels as one comma-joined text parameter (times as integer microseconds, prices as
    # their exact text): adapting 10,000 datetimes, Decimals or even ints one by one cost
    # psycopg more than the upsert itself (measured: ~95 ms vs ~20 ms for 10,000 bars).
    keys = sorted(bars)
    arrays = ", ".join(f"string_to_array(%s, ',')::{kind}[]" for kind in (
        "bigint", "integer", "bigint", "numeric", "numeric", "numeric", "numeric", "integer",
        "bigint", "bigint"))
    sql = (
        f"INSERT INTO {series.table} AS t ({series.key}, {', '.join(_BAR_COLUMNS)}) "  # noqa: S608
        "SELECT k, r, 'epoch'::timestamptz + s * interval '1 microsecond', o, h, l, c, n, "
        "'epoch'::timestamptz + f * interval '1 microsecond', "
        "'epoch'::timestamptz + z * interval '1 microsecond' "
        f"FROM unnest({arrays}) AS u(k, r, s, o, h, l, c, n, f, z) "
        f"ON CONFLICT ({series.key}, resolution, start) DO UPDATE SET "
        "open = CASE WHEN EXCLUDED.first_ts < t.first_ts THEN EXCLUDED.open ELSE t.open END, "
        "first_ts = LEAST(t.first_ts, EXCLUDED.first_ts), "
        "close = CASE WHEN EXCLUDED.last_ts >= t.last_ts THEN EXCLUDED.close ELSE t.close END, "
        "last_ts = GREATEST(t.last_ts, EXCLUDED.last_ts), "
        "high = GREATEST(t.high, EXCLUDED.high), low = LEAST(t.low, EXCLUDED.low), "
        "count = t.count + EXCLUDED.count"
    )
    with connection.cursor() as cursor:
        for begin in range(0, len(keys), _PG_CHUNK):
            chunk = keys[begin:begin + _PG_CHUNK]
            accs = [bars[key] for key in chunk]
            cursor.execute(sql, [
                *(",".join([str(k[i]) for k in chunk]) for i in range(3)),
                *(",".join([str(a[i]) for a in accs]) for i in range(7)),
            ])


def _sqlite_us(us: int) -> str:
    # What Django's SQLite backend stores for an aware datetime: naive UTC, str() format.
    return str(NAIVE_EPOCH + timedelta(microseconds=us))



def _upsert_sqlite(series: Series, bars: dict[BucketKey, Acc]) -> None:
    # The transaction is IMMEDIATE (settings): nobody writes between this read and the write.
    ranges: dict[int, list[int]] = {}
    for _, resolution, start in bars:
        span = ranges.setdefault(resolution, [start, start])
        if start < span[0]:
            span[0] = start
        elif start > span[1]:
            span[1] = start
    condition = Q()
    for resolution, (low, high) in ranges.items():
        condition |= Q(resolution=resolution, start__range=(from_us(low), from_us(high)))
    series_keys = {key for key, _, _ in bars}
    existing = series.model.objects.filter(
        condition, **{f"{series.key}__in": series_keys}
    ).values_list(series.key, *_BAR_COLUMNS)
    merged = dict(bars)
    for key, resolution, start, o, h, lo, c, n, first, last in existing.iterator(
        chunk_size=5000
    ):
        bucket = (key, resolution, to_us(start))
        later = bars.get(bucket)
        if later is not None:  # the range may hold buckets this batch does not touch
            merged[bucket] = merge([o, h, lo, c, n, to_us(first), to_us(last)], later)
    columns = (series.key, *_BAR_COLUMNS)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    update = ", ".join(f"{c} = excluded.{c}" for c in _BAR_COLUMNS[2:])
    items = sorted(merged.items())
    texts: dict[int, str] = {}  # bucket starts and first/last times repeat across resolutions

    def text(us: int) -> str:
        found = texts.get(us)
        if found is None:
            found = texts[us] = _sqlite_us(us)
        return found

    with connection.cursor() as cursor:
        for begin in range(0, len(items), _SQLITE_CHUNK):
            chunk = items[begin:begin + _SQLITE_CHUNK]
            params: list[Any] = []
            for (key, resolution, start), (o, h, lo, c, n, first, last) in chunk:
                params += (key, resolution, text(start), str(o), str(h), str(lo), str(c), n,
                           text(first), text(last))
            cursor.execute(
                f"INSERT INTO {series.table} ({', '.join(columns)}) VALUES "  # noqa: S608
                + ", ".join([placeholders] * len(chunk))
                + f" ON CONFLICT ({series.key}, resolution, start) DO UPDATE SET {update}",
                params,
            )


# --- feeds: maintained as observations arrive -------------------------------------------------

def apply_observations(observations: Iterable[PriceObservation]) -> int:
    """Roll newly stored observations into their feeds' buckets; returns buckets written.

    Only call it with rows that were newly inserted (what store_observations returns), once."""
    # Straight from each instance's __dict__: `feed_id` is a data descriptor on the class,
    # and going through it for every row of a 10,000-row batch showed in the profile.
    points = [(row["feed_id"], row["source_ts"], row["price"])
              for row in map(vars, observations) if row["verified"] is not False]
    return upsert(FEED, rollup(points))


# --- consensus --------------------------------------------------------------------------------

def record_consensus_point(pair: Pair | int, price: Decimal, at: datetime) -> None:
    """Roll one consensus price of `pair` at source time `at` into the consensus buckets.

    Not idempotent: each call counts one more price (call it once per computed consensus)."""
    record_consensus_points([(pair, price, at)])


def record_consensus_points(points: Iterable[tuple[Pair | int, Decimal, datetime]]) -> int:
    """Many consensus prices at once (one upsert); returns buckets written."""
    prepared = []
    for pair, price, at in points:
        if isinstance(price, bool) or not isinstance(price, (Decimal, int)):
            raise TypeError(f"consensus price must be a Decimal, not {type(price).__name__}")
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise ValueError("consensus time must be a timezone-aware datetime")
        pair_id = pair.pk if isinstance(pair, Pair) else int(pair)
        prepared.append((pair_id, at.astimezone(UTC), Decimal(price)))
    return upsert(CONSENSUS, rollup(prepared))


# --- rebuilding from raw observations ---------------------------------------------------------

def _floor_day(moment: datetime) -> datetime:
    return align(moment, int(Resolution.DAY))


def rebuild_feed_rollups(
    feeds: Iterable[Feed | int] | None = None, since: datetime | None = None,
    *, now: datetime | None = None,
) -> dict[str, Any]:
    """Recompute feeds' buckets from raw observations, from `since` (floored to its UTC day;
    default: each feed's oldest raw row). Idempotent: the range's buckets are deleted and
    rebuilt, one transaction per feed.

    Never reaches before the retention cutoff (ceiled to a day): raw rows there may already be
    gone, and rebuilding would shrink buckets that were complete. Rows arriving for a feed
    while it is being rebuilt may be counted twice; rebuild ranges nobody writes to."""
    if since is not None and since.utcoffset() is None:
        raise ValueError("since must be timezone-aware")
    cutoff = retention_cutoff(now)
    floor = None if cutoff is None else _floor_day(cutoff) + (
        _DAY if cutoff != _floor_day(cutoff) else timedelta(0))
    feed_ids = (list(Feed.objects.values_list("pk", flat=True)) if feeds is None
                else [f.pk if isinstance(f, Feed) else int(f) for f in feeds])
    report: dict[str, Any] = {"feeds": 0, "observations": 0, "bars": 0,
                              "from": None if floor is None else floor.isoformat()}
    for feed_id in feed_ids:
        rows = PriceObservation.objects.filter(feed_id=feed_id).exclude(verified=False)
        start = since
        if start is None:
            start = rows.order_by("source_ts").values_list("source_ts", flat=True).first()
            if start is None:
                continue
        start = _floor_day(start)
        if floor is not None and start < floor:
            start = floor
        with transaction.atomic():
            FeedBar.objects.filter(feed_id=feed_id, start__gte=start).delete()
            newest = rows.order_by("-source_ts").values_list("source_ts", flat=True).first()
            window = start
            while newest is not None and window <= newest:
                # Day-aligned windows: no bucket spans two of them.
                upto = window + _REBUILD_WINDOW
                chunk = (rows.filter(source_ts__gte=window, source_ts__lt=upto)
                         .order_by("source_ts", "id").values_list("source_ts", "price"))
                points = [(feed_id, ts, price) for ts, price in chunk.iterator(chunk_size=10_000)]
                report["observations"] += len(points)
                report["bars"] += upsert(FEED, rollup(points))
                window = upto
        report["feeds"] += 1
    return report
