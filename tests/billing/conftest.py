import time

import pytest
from django.test import Client

from apps.api_keys import runtime
from apps.devnet.stripe.double import double_from_settings


class StripeClock:
    """The double's clock: the real time, or `at` while a test holds it there (to start a
    subscription in the past; set back to None before events are delivered, which are signed
    with the double's time and would be stale)."""

    def __init__(self) -> None:
        self.at: float | None = None

    def __call__(self) -> float:
        return time.time() if self.at is None else self.at


@pytest.fixture
def stripe_clock() -> StripeClock:
    return StripeClock()


@pytest.fixture
def stripe_double(settings, stripe_clock):
    """The local Stripe double on a free port, its events delivered synchronously (on
    `flush()`) into the app's webhook endpoint through Django's test client."""
    webhook = Client()

    def deliver(body: bytes, headers: dict[str, str]) -> int:
        return webhook.post("/billing/stripe/webhook/", data=body,
                            content_type="application/json",
                            HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"]).status_code

    double = double_from_settings(0, deliver=deliver, asynchronous=False, clock=stripe_clock)
    double.start()
    settings.OP_STRIPE_API_BASE = double.url
    settings.OP_BILLING_ENABLED = True
    runtime.reset()
    yield double
    double.stop()
    runtime.reset()
