"""`deviation`: each feed in scope whose |deviation from consensus| is above the limit: `bps`,
or by default twice the feed's own deviation band (at least 10 bps: Chainlink's 0.5 % band alerts
beyond 100 bps). With `dynamic_k` the limit rises to k × the standard deviation of the feed's
minute closes against consensus over the last hour, so a feed that always wanders does not page.
"""
from __future__ import annotations

import statistics
from datetime import timedelta
from decimal import Decimal

from apps.alerts.models import Rule
from apps.feeds.models import ConsensusBar, Feed, FeedBar

from .base import Context, DecimalParam, Reading, RuleKind

DEFAULT_BAND_MULTIPLE = 2  # a deviation rule without bps: twice the feed's own deviation band
MIN_DEFAULT_BPS = Decimal("10")
DYNAMIC_WINDOW = timedelta(hours=1)
MIN_DYNAMIC_MINUTES = 10


class Deviation(RuleKind):
    kind = "deviation"
    label = "Deviation from consensus"
    params = (
        DecimalParam("bps", "Deviation (bps)",
                     "Deviation rules: |deviation from consensus| above this (empty: twice each "
                     "feed's own deviation band).", high="10000", null_is_absent=True),
        DecimalParam("dynamic_k", "Dynamic k",
                     "Deviation rules, optional: raise the limit to k × the feed's last-hour "
                     "spread.", high="20", max_length=10, null_is_absent=True),
    )

    def feed_reading(self, rule: Rule, row: dict, state: dict, context: Context) -> Reading:
        key = row["key"]
        if row.get("deviation_bps") is None:
            # No consensus to deviate from (too few fresh votes): unknown, not clear.
            return Reading(key, None, "", f"{key} has no deviation (no consensus)")
        deviation = Decimal(row["deviation_bps"])
        if "bps" in rule.params:
            limit, why = Decimal(str(rule.params["bps"])), ""
        else:  # relative to the feed's own deviation band (Chainlink's 0.5 % → 100 bps)
            band = band_bps(context, row["feed"]) or Decimal(0)
            limit = max(MIN_DEFAULT_BPS, band * DEFAULT_BAND_MULTIPLE)
            why = f", {DEFAULT_BAND_MULTIPLE}× its {band} bps band"
        if rule.params.get("dynamic_k") is not None:
            spread = deviation_spread(context, row["feed"], state["pair"])
            if spread is not None:
                dynamic = Decimal(str(rule.params["dynamic_k"])) * Decimal(str(spread))
                if dynamic > limit:
                    limit = dynamic.quantize(Decimal("0.01"))
                    why = f", {rule.params['dynamic_k']}× its hour's " \
                          f"{Decimal(str(spread)):.2f} bps spread"
        return Reading(key, abs(deviation) > limit, row["deviation_bps"],
                       f"{key} is {deviation} bps from consensus (limit {limit}{why})")

    def summary(self, rule: Rule) -> str:
        return f"> {(rule.params or {}).get('bps', '?')} bps from consensus"


def band_bps(context: Context, feed_id: int) -> Decimal | None:
    """The feed's own deviation threshold (bps), as its oracle publishes by."""
    def load() -> dict[int, Decimal]:
        return dict(Feed.objects.values_list("pk", "deviation_threshold_bps"))
    return context.memo(("bands",), load).get(feed_id)


def deviation_spread(context: Context, feed_id: int, pair: str) -> Decimal | None:
    """Standard deviation (bps) of the feed's minute closes against the consensus's over the
    last hour, or None with fewer than 10 minutes of both."""
    def load() -> Decimal | None:
        since = context.now - DYNAMIC_WINDOW
        feed = dict(FeedBar.objects.filter(feed_id=feed_id, resolution=60, start__gte=since)
                    .values_list("start", "close"))
        consensus = dict(ConsensusBar.objects.filter(pair__slug=pair, resolution=60,
                                                     start__gte=since)
                         .values_list("start", "close"))
        series = [(feed[t] - consensus[t]) / consensus[t] * 10_000
                  for t in feed.keys() & consensus.keys() if consensus[t]]
        return statistics.stdev(series) if len(series) >= MIN_DYNAMIC_MINUTES else None
    return context.memo(("spread", feed_id), load)
