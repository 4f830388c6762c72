"""The one way this platform reaches Stripe: the `stripe` package's own client, with its base
URL, key and timeout from settings (a local double stands in for Stripe on the devnet and in
tests: `OP_STRIPE_API_BASE`)."""
from __future__ import annotations

import functools

import stripe
from django.conf import settings

StripeError = stripe.StripeError


class BillingDisabled(Exception):
    """Billing through Stripe is off (OP_BILLING_ENABLED=false) or not configured."""


def enabled() -> bool:
    return bool(settings.OP_BILLING_ENABLED and settings.OP_STRIPE_SECRET_KEY)


@functools.cache
def _client(api_base: str, secret_key: str, timeout: float) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key, base_addresses={"api": api_base}, max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=timeout))


def client() -> stripe.StripeClient:
    """Stripe's client for the configured account; BillingDisabled when there is none."""
    if not enabled():
        raise BillingDisabled("Billing is disabled or OP_STRIPE_SECRET_KEY is not set.")
    return _client(settings.OP_STRIPE_API_BASE.rstrip("/"), settings.OP_STRIPE_SECRET_KEY,
                   settings.OP_STRIPE_TIMEOUT)


def construct_event(payload: bytes, signature: str) -> stripe.Event:
    """The event, if `Stripe-Signature` signs this exact body with our endpoint secret within
    the tolerance; raises ValueError (unparseable) or stripe.SignatureVerificationError."""
    if not settings.OP_STRIPE_WEBHOOK_SECRET:
        raise stripe.SignatureVerificationError("No webhook secret is configured.", signature)
    return stripe.Webhook.construct_event(
        payload, signature, settings.OP_STRIPE_WEBHOOK_SECRET,
        tolerance=settings.OP_STRIPE_WEBHOOK_TOLERANCE)
