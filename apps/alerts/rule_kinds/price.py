"""`price_above` / `price_below`: a feed's price (scope `feed`) or a pair's consensus (scope
`pair`) beyond `price`, with a hysteresis band (`hysteresis_bps`, default 10) so a value hovering
at the threshold neither flaps nor spams: above 3,500 with 100 bps opens above 3,500 and clears
only below 3,465."""
from __future__ import annotations

from decimal import Decimal

from apps.alerts.models import Rule

from .base import Context, DecimalParam, Reading, RuleKind

DEFAULT_HYSTERESIS_BPS = Decimal("10")
PRICE_SCOPES = (Rule.Scope.FEED, Rule.Scope.PAIR)
PRICE_SCOPE_ERROR = "A price rule is about one feed or one pair."

PRICE = DecimalParam("price", "Price", "Price rules: the threshold, e.g. 3000.5.",
                     required="A price rule needs a price.", max_length=40)
HYSTERESIS = DecimalParam("hysteresis_bps", "Hysteresis (bps)",
                          "Price rules: clears this far back past the threshold (default "
                          f"{DEFAULT_HYSTERESIS_BPS}).", low="-1", high="1000")


class PriceThreshold(RuleKind):
    params = (PRICE, HYSTERESIS)
    scopes = PRICE_SCOPES
    scope_error = PRICE_SCOPE_ERROR
    above: bool

    def reads_feeds(self, rule: Rule) -> bool:
        return rule.scope == Rule.Scope.FEED

    def feed_reading(self, rule: Rule, row: dict, state: dict,
                     context: Context) -> Reading | None:
        return self.reading(rule, row["key"], row["price"])

    def pair_reading(self, rule: Rule, state: dict, context: Context) -> Reading | None:
        return self.reading(rule, state["pair"], state["consensus"])

    def reading(self, rule: Rule, subject: str, price: str | None) -> Reading | None:
        if price is None:
            return None  # no price: nothing to compare (other rules cover a missing price)
        value, threshold = Decimal(price), Decimal(str(rule.params["price"]))
        band = threshold * Decimal(str(rule.params.get("hysteresis_bps",
                                                       DEFAULT_HYSTERESIS_BPS))) / 10_000
        above = self.above
        if (value > threshold) if above else (value < threshold):
            breaching = True
        elif (value < threshold - band) if above else (value > threshold + band):
            breaching = False
        else:
            breaching = None
        word = "above" if above else "below"
        return Reading(subject, breaching, price, f"{subject} at {price}, {word} {threshold}"
                       if breaching else f"{subject} at {price} (threshold {threshold})")

    def summary(self, rule: Rule) -> str:
        params = rule.params or {}
        side = "above" if self.above else "below"
        hysteresis = params.get("hysteresis_bps", str(DEFAULT_HYSTERESIS_BPS))
        return f"{side} {params.get('price', '?')} (hysteresis {hysteresis} bps)"


class PriceAbove(PriceThreshold):
    kind = "price_above"
    label = "Price above"
    above = True


class PriceBelow(PriceThreshold):
    kind = "price_below"
    label = "Price below"
    above = False
