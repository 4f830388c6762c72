"""The plans and every limit they set, in one place.

Pages (/pricing/, the billing page), the API's throttle, the WebSocket API, alerts, API keys,
members and report schedules all read their limits from here. `OP_TIER_LIMITS` overrides any
limit of any plan (JSON: {"pro": {"alert_rules": 100}}); `None` (JSON null) means unlimited.
Prices are what /pricing/ shows; what Stripe charges is the Price object behind
`OP_STRIPE_PRICE_<PLAN>_<INTERVAL>`, which the operator keeps in step.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Interval = Literal["monthly", "yearly"]
INTERVALS: tuple[Interval, ...] = ("monthly", "yearly")

# Channel kinds by plan (apps/alerts/transports register the kinds themselves).
BASIC_CHANNELS = frozenset({"email", "webhook", "slack", "telegram"})
ALL_CHANNELS = BASIC_CHANNELS | {"pagerduty"}


@dataclass(frozen=True)
class Limits:
    """What an organization on a plan may use. None: no limit."""

    requests_per_minute: int
    included_requests_per_month: int | None
    history_days: int
    ws_connections: int | None
    alert_rules: int | None
    webhook_endpoints: int | None
    channel_kinds: frozenset[str]
    members: int | None
    api_keys: int | None
    report_schedules: int | None


# Limits counted as "how many objects of this kind may exist", in the order pages show them.
COUNTED_LIMITS = ("members", "api_keys", "alert_rules", "webhook_endpoints", "report_schedules")
LIMIT_LABELS = {
    "requests_per_minute": "API requests per minute",
    "included_requests_per_month": "API requests included per month",
    "history_days": "History per request (days)",
    "ws_connections": "WebSocket API connections",
    "alert_rules": "Alert rules",
    "webhook_endpoints": "Webhook endpoints",
    "channel_kinds": "Alert channels",
    "members": "Members",
    "api_keys": "API keys",
    "report_schedules": "Scheduled reports",
}


def limit_in_sentence(limit: str) -> str:
    """The limit's label inside a sentence: "alert rules", but "API keys" and "WebSocket API
    connections" (a first word that is a name or an acronym keeps its case)."""
    label = LIMIT_LABELS.get(limit, limit)
    first, _, rest = label.partition(" ")
    if first[1:].islower():
        first = first.lower()
    return f"{first} {rest}".strip()


@dataclass(frozen=True)
class Plan:
    slug: str
    name: str
    tagline: str
    monthly_price: Decimal  # USD per month, billed monthly
    yearly_price: Decimal  # USD per year, billed yearly
    limits: Limits
    trial_days: int = 0  # offered through Checkout to an organization that never had a trial
    overage_price_per_1000: Decimal | None = None  # USD per 1,000 calls past the included volume

    @property
    def is_paid(self) -> bool:
        return self.monthly_price > 0

    @property
    def metered(self) -> bool:
        """Calls past the included volume are billed rather than refused: a paid plan with
        billing on and a metered overage Price to bill them with. Otherwise nobody would pay
        for them, so the included volume is a hard limit (an operator without Stripe lifts it
        with OP_TIER_LIMITS, `included_requests_per_month: null`)."""
        return self.is_paid and settings.OP_BILLING_ENABLED and bool(overage_price_id(self.slug))

    @property
    def channels(self) -> list[str]:
        return sorted(self.limits.channel_kinds)

    def limits_json(self) -> dict[str, int | list[str] | None]:
        """Every limit, for JSON (null: unlimited; channel kinds sorted)."""
        values = dataclasses.asdict(self.limits)
        values["channel_kinds"] = sorted(self.limits.channel_kinds)
        return values

    def price(self, interval: Interval) -> Decimal:
        return self.monthly_price if interval == "monthly" else self.yearly_price

    def monthly_fee(self, interval: Interval) -> Decimal:
        """What one month costs on this interval (SLA credits are a share of it)."""
        return self.monthly_price if interval == "monthly" else (self.yearly_price / 12).quantize(
            Decimal("0.01"))


_BUILT_IN = (
    Plan(
        slug="free", name="Free", tagline="Watch the majors; try the API.",
        monthly_price=Decimal("0"), yearly_price=Decimal("0"),
        limits=Limits(
            requests_per_minute=60, included_requests_per_month=100_000, history_days=31,
            ws_connections=2, alert_rules=5, webhook_endpoints=1,
            channel_kinds=frozenset({"email", "webhook"}), members=3, api_keys=2,
            report_schedules=0),
    ),
    Plan(
        slug="pro", name="Pro", tagline="For teams that act on every deviation.",
        monthly_price=Decimal("49.00"), yearly_price=Decimal("490.00"), trial_days=14,
        overage_price_per_1000=Decimal("0.20"),
        limits=Limits(
            requests_per_minute=600, included_requests_per_month=5_000_000, history_days=366,
            ws_connections=20, alert_rules=100, webhook_endpoints=10,
            channel_kinds=ALL_CHANNELS, members=15, api_keys=20, report_schedules=10),
    ),
    Plan(
        slug="enterprise", name="Enterprise",
        tagline="Risk desks and protocols: high volume, full history, an SLA.",
        monthly_price=Decimal("499.00"), yearly_price=Decimal("4990.00"),
        overage_price_per_1000=Decimal("0.10"),
        limits=Limits(
            requests_per_minute=6_000, included_requests_per_month=100_000_000,
            history_days=3_660, ws_connections=200, alert_rules=None, webhook_endpoints=None,
            channel_kinds=ALL_CHANNELS, members=None, api_keys=None, report_schedules=None),
    ),
)
PLAN_SLUGS = tuple(p.slug for p in _BUILT_IN)


def _with_overrides(plan: Plan) -> Plan:
    overrides = settings.OP_TIER_LIMITS.get(plan.slug, {})
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Limits)}
    if unknown:
        raise ImproperlyConfigured(f"OP_TIER_LIMITS[{plan.slug!r}] has unknown keys: "
                                   f"{', '.join(sorted(unknown))}")
    if not overrides:
        return plan
    values = dict(overrides)
    if "channel_kinds" in values:
        values["channel_kinds"] = frozenset(values["channel_kinds"])
    return dataclasses.replace(plan, limits=dataclasses.replace(plan.limits, **values))


_built: tuple[object, tuple[Plan, ...]] = (None, ())


def plans() -> tuple[Plan, ...]:
    """Every plan, cheapest first, with the operator's overrides applied. Built once per
    OP_TIER_LIMITS object (every API request asks): assign a new value to change it."""
    global _built
    overrides = settings.OP_TIER_LIMITS
    if _built[0] is not overrides:
        _built = (overrides, tuple(_with_overrides(p) for p in _BUILT_IN))
    return _built[1]


def get_plan(slug: str) -> Plan:
    """The plan of that slug; an unknown slug (a plan since removed) is Free."""
    for plan in plans():
        if plan.slug == slug:
            return plan
    return plans()[0]


def limits_for(slug: str) -> Limits:
    return get_plan(slug).limits


def price_id(slug: str, interval: Interval) -> str:
    """The Stripe Price id for a plan's interval (`OP_STRIPE_PRICE_<PLAN>_<INTERVAL>`)."""
    return settings.OP_STRIPE_PRICES.get(f"{slug}_{interval}", "")


def overage_price_id(slug: str) -> str:
    """The metered Stripe Price billing calls past the included volume
    (`OP_STRIPE_PRICE_<PLAN>_OVERAGE`), empty when the operator does not meter."""
    return settings.OP_STRIPE_PRICES.get(f"{slug}_overage", "")


def plan_for_price(stripe_price_id: str) -> tuple[Plan, Interval] | None:
    """Which plan and interval a Stripe Price id stands for, if any."""
    for plan in plans():
        for interval in INTERVALS:
            if stripe_price_id and price_id(plan.slug, interval) == stripe_price_id:
                return plan, interval
    return None
