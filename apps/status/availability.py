"""Availability arithmetic (docs/sla.md), on the daily rollup alone — no queries here.

A minute counts for a component once the platform's records have begun; it is available when
the component's probe in that minute succeeded. Minutes in which no probe ran at all (the
platform itself down) count as unavailable for the API and the WebSocket API every day, and for
a protocol's ingestion on the days it was probed. Before the first record there is no data.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from .models import API, INGESTION, WEBSOCKET

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
PERCENT_PLACES = Decimal("0.001")
PLATFORM = (API, WEBSOCKET)  # probed in every run, so every minute counts for them


@dataclass(frozen=True)
class DayRow:
    """A ComponentDay row's numbers."""

    component: str
    day: date
    minutes: int
    ok_minutes: int


@dataclass(frozen=True)
class Tally:
    ok: int = 0
    counted: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.ok + other.ok, self.counted + other.counted)

    @property
    def ratio(self) -> Decimal | None:
        """Exact (to Decimal's 28 digits) share of available minutes; None: no data."""
        return Decimal(self.ok) / Decimal(self.counted) if self.counted else None

    @property
    def percent(self) -> Decimal | None:
        return as_percent(self.ratio)


def as_percent(ratio: Decimal | None) -> Decimal | None:
    """A share as a percentage with 3 decimals, rounded down: 99.8999… is 99.899, never a
    rounded-up 99.900 that would escape a credit tier."""
    return None if ratio is None else (ratio * 100).quantize(PERCENT_PLACES, rounding=ROUND_DOWN)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def covered_until(now: datetime, last_probe_at: datetime | None) -> datetime:
    """The end of the minutes that count so far: every whole minute before now, and the
    current one once a probe has run in it."""
    until = floor_minute(now)
    if last_probe_at is not None:
        until = max(until, floor_minute(last_probe_at) + MINUTE)
    return until


def _minutes(start: datetime, end: datetime) -> int:
    return max(0, int((end - start) / MINUTE))


def daily_tallies(rows: Iterable[DayRow], *, firsts: Mapping[str, datetime],
                  days: Iterable[date], until: datetime) -> dict[str, dict[date, Tally]]:
    """Per component and day, the available minutes and the minutes that count; a day with
    no data is absent. `firsts`: each component's first recorded minute ever (the API's is the
    platform's); `until`: nothing counts from then on."""
    started = firsts.get(API)
    if started is None:
        return {}
    found: dict[str, dict[date, DayRow]] = defaultdict(dict)
    for each in rows:
        found[each.component][each.day] = each
    runs = {day: row.minutes for day, row in found[API].items()}  # API is in every probe run
    tallies: dict[str, dict[date, Tally]] = {}
    days = list(days)
    for component in {*PLATFORM, *found}:
        first = max(firsts.get(component, started), started)
        per_day = {}
        for day in days:
            end = min(day_start(day) + DAY, until)
            expected = _minutes(max(day_start(day), first), end)
            if expected == 0:
                continue  # before its records began, or not yet
            row = found[component].get(day)
            if row is None:
                if not component.startswith(INGESTION):  # not probed at all that day
                    per_day[day] = Tally(0, expected)
                continue  # a protocol not probed that day was not enabled
            # Its own probed minutes, plus the minutes in which no probe ran at all.
            no_probe = _minutes(max(day_start(day), started), end) - runs.get(day, 0)
            counted = min(row.minutes + max(0, no_probe), expected)
            per_day[day] = Tally(row.ok_minutes, max(counted, row.ok_minutes))
        if per_day:
            tallies[component] = per_day
    return tallies


def totals(tallies: Mapping[str, Mapping[date, Tally]]) -> dict[str, Tally]:
    """Each component's tally over all the days given."""
    return {component: sum(per_day.values(), Tally()) for component, per_day in tallies.items()}


def overall_ratio(totals_: Mapping[str, Tally]) -> Decimal | None:
    """The SLA's figure: the worst of the API, the WebSocket API and ingestion, ingestion
    being the mean over the protocols with data (each protocol weighs the same)."""
    ratios = {c: ratio for c, t in totals_.items() if (ratio := t.ratio) is not None}
    parts = [ratios[c] for c in PLATFORM if c in ratios]
    ingestion = [ratio for c, ratio in ratios.items() if c.startswith(INGESTION)]
    if ingestion:
        parts.append(sum(ingestion, Decimal(0)) / len(ingestion))
    return min(parts, default=None)
