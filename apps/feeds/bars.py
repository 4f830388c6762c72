"""OHLC bucket math, shared by the rollup writers (rollups.py) and the history reads
(selectors.py): series kinds, bars, and grouping `(key, source time, price)` points into 1 m,
1 h and 1 d buckets.

Merge rules (the same here and in rollups.py's SQL, so incremental == rebuilt): high = max,
low = min, count = sum; open is the price with the earliest source time, close the one with the
latest; on a tie of source time the row stored first keeps the open and the row stored last
takes the close (a rebuild reads rows by (source_ts, id), the order ids were given in).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .models import ConsensusBar, FeedBar, Resolution

RESOLUTIONS = (Resolution.MINUTE, Resolution.HOUR, Resolution.DAY)


@dataclass(frozen=True)
class Series:
    """A kind of price series that has rollups: its bar model and key column."""

    model: type[FeedBar] | type[ConsensusBar]
    key: str  # column of the bar table naming the series, e.g. "feed_id"

    @property
    def table(self) -> str:
        return self.model._meta.db_table


FEED = Series(FeedBar, "feed_id")
CONSENSUS = Series(ConsensusBar, "pair_id")


@dataclass(frozen=True)
class Bar:
    """One OHLC bar as selectors return it: exact Decimals, aware UTC start.

    `seconds` is the bar's width (0 for a single raw observation); `count` the prices in it."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    count: int
    seconds: int


# An accumulating bucket: [open, high, low, close, count, first_us, last_us] (mutable, fast);
# times are integer microseconds since the epoch (exact, cheap to group, sort and send).
Acc = list
BucketKey = tuple[int, int, int]  # (series key, resolution seconds, bucket start µs)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = EPOCH.replace(tzinfo=None)
_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime."""
    return (moment - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


# --- grouping in Python -----------------------------------------------------------------------

def rollup(points: Iterable[tuple[int, datetime, Decimal]]) -> dict[BucketKey, Acc]:
    """Group `(key, aware source time, price)` points into 1m, 1h and 1d buckets.

    Points are taken in storage order (ties of source time: first opens, last closes)."""
    minutes: dict[BucketKey, Acc] = {}
    minute, minute_us = int(Resolution.MINUTE), int(Resolution.MINUTE) * 1_000_000
    epoch, one_us = EPOCH, _US
    for key, moment, price in points:
        us = (moment - epoch) // one_us
        bucket = (key, minute, us - us % minute_us)
        acc = minutes.get(bucket)
        if acc is None:
            minutes[bucket] = [price, price, price, price, 1, us, us]
            continue
        if us < acc[5]:
            acc[0], acc[5] = price, us
        if us >= acc[6]:
            acc[3], acc[6] = price, us
        if price > acc[1]:
            acc[1] = price
        elif price < acc[2]:
            acc[2] = price
        acc[4] += 1
    bars = dict(minutes)
    # Hours from minutes, days from hours: different buckets never tie on source time, so
    # the order of merging does not matter.
    finer = minutes
    for resolution in (int(Resolution.HOUR), int(Resolution.DAY)):
        width = resolution * 1_000_000
        coarser: dict[BucketKey, Acc] = {}
        for (key, _, start), acc in finer.items():
            bucket = (key, resolution, start - start % width)
            target = coarser.get(bucket)
            if target is None:
                coarser[bucket] = list(acc)
            else:
                merge(target, acc)
        bars.update(coarser)
        finer = coarser
    return bars


def merge(acc: Acc, later: Acc) -> Acc:
    """Merge bucket `later` (stored after `acc`) into `acc`, in place."""
    if later[5] < acc[5]:
        acc[0], acc[5] = later[0], later[5]
    if later[6] >= acc[6]:
        acc[3], acc[6] = later[3], later[6]
    if later[1] > acc[1]:
        acc[1] = later[1]
    if later[2] < acc[2]:
        acc[2] = later[2]
    acc[4] += later[4]
    return acc


def align(moment: datetime, seconds: int) -> datetime:
    """The start of the `seconds`-wide bucket (aligned to the epoch) holding `moment`."""
    us = to_us(moment)
    return from_us(us - us % (seconds * 1_000_000))


# --- writing ----------------------------------------------------------------------------------
