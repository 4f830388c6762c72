"""The Prices the double is seeded with: the plans' own (apps.billing.plans), under the Price ids
the settings name, so the app and the double agree without a Stripe account."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.conf import settings

from apps.billing.plans import INTERVALS, overage_price_id, plans, price_id

CENTS = Decimal(100)


@dataclass(frozen=True)
class PriceSpec:
    """A recurring Price. Licensed prices charge `unit_amount` cents a period; metered ones
    charge `unit_amount_decimal` cents per unit of their meter's usage, in arrears."""

    id: str
    product: str  # the Product's id
    product_name: str
    interval: Literal["month", "year"]
    unit_amount: int | None = None
    unit_amount_decimal: Decimal | None = None
    meter_event: str | None = None  # metered prices: the event name their meter counts
    currency: str = "usd"

    @property
    def metered(self) -> bool:
        return self.meter_event is not None

    @property
    def meter(self) -> str | None:
        """The Billing Meter's id (one devnet meter per event name)."""
        return meter_id(self.meter_event) if self.meter_event else None

    @property
    def cents(self) -> Decimal:
        """Cents per period (licensed) or per unit of usage (metered)."""
        if self.unit_amount_decimal is not None:
            return self.unit_amount_decimal
        return Decimal(self.unit_amount or 0)


def meter_id(event_name: str) -> str:
    return f"mtr_devnet_{event_name}"


def prices_from_plans() -> list[PriceSpec]:
    """Every paid plan's monthly and yearly Price and its metered overage Price (billed monthly,
    per call, on the meter of OP_STRIPE_METER_EVENT), for each Price id the settings give."""
    specs: list[PriceSpec] = []
    for plan in plans():
        if not plan.is_paid:
            continue
        product = f"prod_{plan.slug}"
        for interval in INTERVALS:
            if price_id(plan.slug, interval):
                specs.append(PriceSpec(
                    id=price_id(plan.slug, interval), product=product, product_name=plan.name,
                    interval="month" if interval == "monthly" else "year",
                    unit_amount=int(plan.price(interval) * CENTS)))
        if overage_price_id(plan.slug) and plan.overage_price_per_1000 is not None:
            specs.append(PriceSpec(
                id=overage_price_id(plan.slug), product=product,
                product_name=f"{plan.name} API calls past the included volume", interval="month",
                unit_amount_decimal=plan.overage_price_per_1000 * CENTS / 1000,
                meter_event=settings.OP_STRIPE_METER_EVENT))
    return specs
