"""Reads for feeds. Views, the API, consumers and the sync engine call these."""
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery

from . import retention
from .bars import CONSENSUS, FEED, Bar, Series, align
from .fields import ExactDecimalField
from .models import Feed, FeedBar, Pair, PriceObservation


def latest_prices() -> dict[int, Decimal]:
    """Each feed's most recent stored price (by source time), in one query: the unique
    (feed, source_ts, round_id) index answers each feed's subquery with a backward scan."""
    newest = (PriceObservation.objects.filter(feed=OuterRef("pk"))
              .order_by("-source_ts").values("price")[:1])
    rows = Feed.objects.annotate(
        last_price=Subquery(newest, output_field=ExactDecimalField())
    ).values_list("pk", "last_price")
    return {pk: price for pk, price in rows if price is not None}


def latest_observations(feed_ids: list[int]) -> dict[int, PriceObservation]:
    """Each feed's most recent observation (by source time), in two queries: a backward index
    scan per feed for its newest id, then the rows."""
    newest = (PriceObservation.objects.filter(feed=OuterRef("pk"))
              .order_by("-source_ts").values("pk")[:1])
    ids = Feed.objects.filter(pk__in=feed_ids).annotate(last=Subquery(newest))
    found = [pk for pk in ids.values_list("last", flat=True) if pk is not None]
    return {obs.feed_id: obs for obs in PriceObservation.objects.filter(pk__in=found)}


def feeds_by_pair() -> dict[int, set[int]]:
    """Enabled feed ids per pair id."""
    pairs: dict[int, set[int]] = {}
    for pk, pair_id in Feed.objects.filter(enabled=True).values_list("pk", "pair_id"):
        pairs.setdefault(pair_id, set()).add(pk)
    return pairs


# --- price history (OHLC) ---------------------------------------------------------------------

# Bar widths history() may return, in seconds: "nice" steps, each a multiple of a stored
# resolution (1m, 1h, 1d) so that a bar is an exact merge of stored buckets.
HISTORY_STEPS = (
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200,
    86400, 2 * 86400, 3 * 86400, 7 * 86400, 14 * 86400, 28 * 86400,
)
RAW_HISTORY_MAX_STEP = 3600  # raw rows are tried only for spans up to points hours


def history(feed_or_pair: Feed | Pair, start: datetime, end: datetime, *, points: int = 500,
            now: datetime | None = None, raw: bool = True, step: int | None = None
            ) -> list[Bar]:
    """OHLC bars of a feed (Feed) or of a pair's consensus (Pair) over [start, end).

    At most `points` bars: the bar width is the smallest step of HISTORY_STEPS that fits the
    span into `points` epoch-aligned bars. For a feed, when that step is at most an hour and
    the raw observations in the span number at most `points` (and retention has not removed
    any), they are returned as they are (one bar each, `seconds=0`); otherwise the coarsest
    stored rollup dividing the step (1d, 1h or 1m) is read and adjacent buckets are merged (first
    open, max high, min low, last close); spans reaching before the 1-minute bars' retention
    get hourly bars. The first bar may start before `start` (aligned). `raw=False` always
    returns bars of the chosen width (the API, where the caller asked for an interval);
    `step` (one of HISTORY_STEPS) imposes the width instead of choosing it from `points`.
    Exact Decimals, aware UTC datetimes; unverified observations are never included.
    """
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        return []
    if points < 1:
        raise ValueError("points must be at least 1")
    is_feed = isinstance(feed_or_pair, Feed)
    if not is_feed and not isinstance(feed_or_pair, Pair):
        raise TypeError("history takes a Feed or a Pair")
    series = FEED if is_feed else CONSENSUS
    if step is not None and step not in HISTORY_STEPS:
        raise ValueError(f"step must be one of {HISTORY_STEPS}")
    step = step or _history_step(start, end, points)
    if raw and is_feed and step <= RAW_HISTORY_MAX_STEP:
        cutoff = retention.retention_cutoff(now)
        if cutoff is None or start >= cutoff:
            raw_bars = _raw_history(feed_or_pair.pk, start, end, points)
            if raw_bars is not None:
                return raw_bars
    resolution = next(r for r in (86400, 3600, 60) if step % r == 0)
    if resolution == 60:
        minute_cutoff = retention.minute_bar_cutoff(now)
        if minute_cutoff is not None and start < minute_cutoff:
            step = resolution = 3600  # minute bars expired there: hourly, fewer than `points`
    first = align(start, step)
    if connection.vendor == "postgresql" and step != resolution:
        return _merged_history_postgresql(series, feed_or_pair.pk, resolution, step, first, end)
    rows = (series.model.objects
            .filter(**{series.key: feed_or_pair.pk}, resolution=resolution,
                    start__gte=first, start__lt=end)
            .order_by("start")
            .values_list("start", "open", "high", "low", "close", "count"))
    bars: list[Bar] = []
    current: list[Any] | None = None  # [start, open, high, low, close, count] of the open bar
    for bucket, open_, high, low, close, count in rows:
        bar_start = bucket if step == resolution else align(bucket, step)
        if current is not None and current[0] == bar_start:
            if high > current[2]:
                current[2] = high
            if low < current[3]:
                current[3] = low
            current[4] = close
            current[5] += count
            continue
        if current is not None:
            bars.append(_bar(current, step))
        current = [bar_start, open_, high, low, close, count]
    if current is not None:
        bars.append(_bar(current, step))
    return bars


def _bar(acc: list[Any], seconds: int) -> Bar:
    start, open_, high, low, close, count = acc
    return Bar(start, open_, high, low, close, count, seconds)


def latest_bar(feed_or_pair: Feed | Pair, resolution: int = 60) -> Bar | None:
    """The most recent stored bucket of a feed (Feed) or a pair's consensus (Pair), or None."""
    series = FEED if isinstance(feed_or_pair, Feed) else CONSENSUS
    row = (series.model.objects.filter(**{series.key: feed_or_pair.pk}, resolution=resolution)
           .order_by("-start")
           .values_list("start", "open", "high", "low", "close", "count").first())
    return None if row is None else Bar(*row, int(resolution))


def _history_step(start: datetime, end: datetime, points: int) -> int:
    # Bucket indexes of the first and the last instant of [start, end).
    first, last = math.floor(start.timestamp()), math.ceil(end.timestamp()) - 1
    for step in HISTORY_STEPS:
        if last // step - first // step + 1 <= points:
            return step
    step = HISTORY_STEPS[-1]
    while last // step - first // step + 1 > points:
        step *= 2
    return step


def _raw_history(feed_id: int, start: datetime, end: datetime, points: int) -> list[Bar] | None:
    rows = list(PriceObservation.objects
                .filter(feed_id=feed_id, source_ts__gte=start, source_ts__lt=end)
                .exclude(verified=False)
                .order_by("source_ts", "id")
                .values_list("source_ts", "price")[:points + 1])
    if len(rows) > points:
        return None
    return [Bar(ts, price, price, price, price, 1, 0) for ts, price in rows]


def _merged_history_postgresql(series: Series, key: int, resolution: int, step: int,
                               first: datetime, end: datetime) -> list[Bar]:
    """Adjacent buckets merged by the database: only the ~points merged bars come back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_bin(make_interval(secs => %s), start, 'epoch'::timestamptz) AS bar, "  # noqa: S608
            "(array_agg(open ORDER BY start))[1], max(high), min(low), "
            "(array_agg(close ORDER BY start DESC))[1], sum(count)::bigint "
            f"FROM {series.table} WHERE {series.key} = %s AND resolution = %s "
            "AND start >= %s AND start < %s GROUP BY bar ORDER BY bar",
            [step, key, resolution, first, end],
        )
        rows = cursor.fetchall()
    return [Bar(bar.astimezone(UTC), o, h, lo, c, int(n), step)
            for bar, o, h, lo, c, n in rows]


def changes_24h(pair_ids: list[int], consensus: dict[int, Decimal | None],
                now: datetime) -> dict[int, Decimal]:
    """Percent change of each pair's consensus over 24 h: against the median opening price of
    its feeds' hourly bars 24 h ago (one query for every pair)."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=24)
    opens: dict[int, list[Decimal]] = {}
    rows = FeedBar.objects.filter(resolution=3600, start=start, feed__pair_id__in=pair_ids,
                                  feed__enabled=True).values_list("feed__pair_id", "open")
    for pair_id, price in rows:
        opens.setdefault(pair_id, []).append(price)
    changes = {}
    for pair_id, prices in opens.items():
        now_price, then = consensus.get(pair_id), median(prices)
        if now_price and then:
            changes[pair_id] = ((now_price - then) / then * 100).quantize(Decimal("0.01"))
    return changes


def verified_shares(feed_ids: list[int], since: datetime) -> dict[int, Decimal]:
    """Per feed that verifies at all, the share of its values since `since` that passed
    verification (feeds whose protocol signs nothing have verified = null and are absent)."""
    rows = (PriceObservation.objects.filter(feed_id__in=feed_ids, source_ts__gte=since,
                                            verified__isnull=False)
            .values("feed_id")
            .annotate(total=Count("pk"), good=Count("pk", filter=Q(verified=True))))
    return {row["feed_id"]: (Decimal(row["good"]) / row["total"] * 100).quantize(Decimal("0.1"))
            for row in rows if row["total"]}
