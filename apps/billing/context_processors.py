from django.conf import settings
from django.http import HttpRequest

from .selectors import dunning_notice


def billing(request: HttpRequest) -> dict:
    """Whether pricing and checkout are shown, and the current organization's payment banner."""
    membership = getattr(request, "membership", None)
    return {
        "billing_enabled": settings.OP_BILLING_ENABLED,
        "billing_notice": dunning_notice(membership.organization) if membership else None,
    }
