import pytest
from django.test import Client

from apps.api_keys import runtime
from apps.devnet.stripe.double import double_from_settings


@pytest.fixture
def stripe_double(settings):
    """The local Stripe double on a free port, its events delivered synchronously (on
    `flush()`) into the app's webhook endpoint through Django's test client."""
    webhook = Client()

    def deliver(body: bytes, headers: dict[str, str]) -> int:
        return webhook.post("/billing/stripe/webhook/", data=body,
                            content_type="application/json",
                            HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"]).status_code

    double = double_from_settings(0, deliver=deliver, asynchronous=False)
    double.start()
    settings.OP_STRIPE_API_BASE = double.url
    settings.OP_BILLING_ENABLED = True
    runtime.reset()
    yield double
    double.stop()
    runtime.reset()
