"""Simulated history, so charts are not empty on a new devnet: one observation a minute for
every feed over the last `days`, written through store_observations and labelled with a
SeededHistory row per feed.

The path is generated forward by the same market model, then rescaled so that it ends exactly
at the live market's current prices: history and live publishing join without a jump.
"""
import logging
import random
from array import array
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from apps.feeds.models import Feed, PriceObservation
from apps.feeds.services import store_observations

from .market import OBSERVERS, Market, ObserverProfile
from .models import SeededHistory

logger = logging.getLogger(__name__)
STEP_SECONDS = 60


def simulate_paths(
    symbols: dict[str, str], anchors: dict[str, Decimal], steps: int, seed: int
) -> dict[str, array]:
    """Per asset, `steps` one-minute USD prices (floats) ending at its anchor price."""
    market = Market(symbols, time_scale=STEP_SECONDS, seed=seed)
    paths = {symbol: array("d") for symbol in symbols}
    for _ in range(steps):
        market.advance(1)
        for symbol in symbols:
            paths[symbol].append(float(market.price(symbol)))
    for symbol, path in paths.items():
        ratio = float(anchors.get(symbol, Decimal(1))) / path[-1]
        for i in range(len(path)):
            path[i] *= ratio
    return paths


def _observations(
    feed: Feed, paths: dict[str, array], end: datetime, steps: int, rng: random.Random
) -> Iterable[PriceObservation]:
    profile = OBSERVERS.get(feed.protocol.slug, ObserverProfile(5, 30))
    lag = int(profile.lag_seconds // STEP_SECONDS)
    base, quote = paths.get(feed.pair.base.symbol), paths.get(feed.pair.quote.symbol)
    scale = Decimal(10) ** feed.decimals
    for i in range(steps):
        j = max(0, i - lag)
        price = base[j] if base is not None else 1.0
        if quote is not None:
            price /= quote[j]
        price *= 1 + rng.gauss(0.0, profile.noise_bps / 10_000)
        moment = end - timedelta(seconds=STEP_SECONDS * (steps - 1 - i))
        raw = int((Decimal(repr(price)) * scale).to_integral_value(ROUND_HALF_EVEN))
        yield PriceObservation(
            feed_id=feed.pk, raw_answer=raw, decimals=feed.decimals,
            source_ts=moment, fetched_at=moment,
        )


def seed_history(
    feeds: Sequence[Feed], *, end: datetime, days: int, anchors: dict[str, Decimal],
    seed: int = 20261126, batch_size: int = 5_000,
) -> int:
    """Seed every feed that has no SeededHistory yet; returns the rows written.

    Each batch is its own transaction, so the live sync engine never waits long for the
    database (SQLite has one writer); a feed gets its SeededHistory label once all its rows
    are in, and a feed interrupted half-way is simply seeded again (duplicates are skipped).
    """
    feeds = [f for f in feeds if not SeededHistory.objects.filter(feed=f).exists()]
    if not feeds:
        return 0
    end = end.replace(second=0, microsecond=0) - timedelta(minutes=1)
    steps = days * 24 * 60
    symbols = {}
    for feed in feeds:
        for asset in (feed.pair.base, feed.pair.quote):
            if asset.symbol != "USD":
                symbols[asset.symbol] = asset.kind
    paths = simulate_paths(symbols, anchors, steps, seed)
    total = 0
    for feed in feeds:
        rng = random.Random(f"{seed}:{feed.key}")
        batch: list[PriceObservation] = []
        written = 0
        for observation in _observations(feed, paths, end, steps, rng):
            batch.append(observation)
            if len(batch) >= batch_size:
                written += len(store_observations(batch))
                batch = []
        written += len(store_observations(batch))
        SeededHistory.objects.create(
            feed=feed, start=end - timedelta(minutes=steps - 1), end=end, rows=written
        )
        total += written
        logger.info("seeded %d simulated observations for %s", written, feed.key)
    return total
