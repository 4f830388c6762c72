"""`price_move`: a feed's price or a pair's consensus moved by at least `percent` % since
`window_seconds` ago (default 3600), compared with the close of the 1-minute bar then."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from apps.alerts.models import Rule
from apps.feeds.models import ConsensusBar, FeedBar

from .base import Context, DecimalParam, Reading, RuleKind, WholeParam
from .price import PRICE_SCOPE_ERROR, PRICE_SCOPES

DEFAULT_WINDOW_SECONDS = 3600


class PriceMove(RuleKind):
    kind = "price_move"
    label = "Price moved by a percentage within a window"
    params = (
        DecimalParam("percent", "Move (%)", "Move rules: a change of at least this percentage…",
                     required="A move rule needs a percentage.", high="1000"),
        WholeParam("window_seconds", "Window (seconds)",
                   f"Move rules: …within this window (default {DEFAULT_WINDOW_SECONDS}).",
                   default=DEFAULT_WINDOW_SECONDS, low=60, high=86400),
    )
    scopes = PRICE_SCOPES
    scope_error = PRICE_SCOPE_ERROR

    def reads_feeds(self, rule: Rule) -> bool:
        return rule.scope == Rule.Scope.FEED

    def feed_reading(self, rule: Rule, row: dict, state: dict,
                     context: Context) -> Reading | None:
        return self.reading(rule, row["key"], row["price"], ("feed", row["feed"]), context)

    def pair_reading(self, rule: Rule, state: dict, context: Context) -> Reading | None:
        pair = state["pair"]
        return self.reading(rule, pair, state["consensus"], ("pair", pair), context)

    def reading(self, rule: Rule, subject: str, price: str | None, series: tuple,
                context: Context) -> Reading | None:
        seconds = int(rule.params.get("window_seconds", DEFAULT_WINDOW_SECONDS))
        before = price_ago(context, series, seconds)
        if price is None or not before:
            return None  # no price now or no history that far back: nothing to compare
        change = (Decimal(price) - before) / before * 100
        limit = Decimal(str(rule.params["percent"]))
        return Reading(subject, abs(change) >= limit, f"{change:.2f}",
                       f"{subject} moved {change:+.2f} % in {seconds // 60} min "
                       f"(limit {limit} %)")


def price_ago(context: Context, series: tuple[str, int | str], seconds: int) -> Decimal | None:
    """The close of the 1-minute bar in which `seconds` ago fell (a feed id or a pair slug)."""
    def load() -> Decimal | None:
        kind, key = series
        bars = FeedBar.objects.filter(feed_id=key) if kind == "feed" \
            else ConsensusBar.objects.filter(pair__slug=key)
        return (bars.filter(resolution=60, start__lte=context.now - timedelta(seconds=seconds))
                .order_by("-start").values_list("close", flat=True).first())
    return context.memo(("ago", series, seconds), load)
