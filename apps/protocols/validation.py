"""Which reads must never become prices. Rejected reads are quarantined with their reason.

- non_positive: zero or negative (no oracle here prices an asset at or below zero);
- future_timestamp: the source says its value is from the future (beyond clock skew);
- stale_beyond_reason: older than OP_STALE_BEYOND_HEARTBEATS heartbeats;
- wrong_scale: off from the reference by a power-of-ten-like factor (≥ 1000×), the mark of a
  value published with the wrong decimals;
- absurd_jump: off from the reference by more than OP_MAX_JUMP_BPS.
There are up to two references: the feed's own last price, and the median of the pair's other
feeds (this tick's values where they have one). A value is rejected only when it fails against
every reference, so a crash the whole market makes is not an "absurd jump", and garbage is
caught even on a feed's first read.
"""
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from apps.feeds.models import PriceObservation

from .adapters.base import Problem, rejected

CLOCK_SKEW = timedelta(minutes=5)
WRONG_SCALE = Decimal(1000)


def check(obs: PriceObservation, *, references: list[Decimal], now: datetime) -> Problem | None:
    feed = obs.feed
    price = PriceObservation.scale(obs.raw_answer, obs.decimals)
    if obs.raw_answer <= 0:
        return rejected(feed, "non_positive", obs.raw_answer, f"price {price}", obs.source_ts)
    if obs.source_ts > now + CLOCK_SKEW:
        return rejected(feed, "future_timestamp", obs.raw_answer,
                        f"source time {obs.source_ts.isoformat()} is ahead of {now.isoformat()}",
                        obs.source_ts)
    stale_after = timedelta(seconds=feed.heartbeat_seconds * settings.OP_STALE_BEYOND_HEARTBEATS)
    if now - obs.source_ts > stale_after:
        return rejected(feed, "stale_beyond_reason", obs.raw_answer,
                        f"source time {obs.source_ts.isoformat()} is more than "
                        f"{settings.OP_STALE_BEYOND_HEARTBEATS} heartbeats old", obs.source_ts)
    failures = [_against(obs, price, ref) for ref in references if ref and ref > 0]
    if failures and all(failures):
        return failures[-1]  # the peers' verdict, which is the more telling one
    return None


def _against(obs: PriceObservation, price: Decimal, reference: Decimal) -> Problem | None:
    ratio = price / reference
    if ratio >= WRONG_SCALE or ratio <= 1 / WRONG_SCALE:
        return rejected(obs.feed, "wrong_scale", obs.raw_answer,
                        f"price {price} is {ratio:.3g}× the reference {reference}", obs.source_ts)
    if abs(ratio - 1) * 10_000 > settings.OP_MAX_JUMP_BPS:
        return rejected(obs.feed, "absurd_jump", obs.raw_answer,
                        f"price {price} is {(ratio - 1) * 100:+.1f}% from the reference "
                        f"{reference}", obs.source_ts)
    return None
