"""A local Stripe API double for the devnet and the tests (apps/devnet/stripe/double.py)."""
from .double import Exchange, StripeDouble, double_from_settings
from .prices import PriceSpec, prices_from_plans
from .webhooks import SentEvent, signature_header

__all__ = ["Exchange", "PriceSpec", "SentEvent", "StripeDouble", "double_from_settings",
           "prices_from_plans", "signature_header"]
