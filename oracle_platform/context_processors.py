from django.apps import apps
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from apps.protocols.selectors import ingestion_delays


def _delayed_sources() -> int:
    return len(ingestion_delays(timezone.now()))


def site(request: HttpRequest) -> dict:
    context = {
        "network": settings.OP_NETWORK,
        "is_devnet": settings.OP_NETWORK == "devnet",
        "devnet_tools": apps.is_installed("apps.devnet"),  # its pages exist
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_staff:
        # Operators are told when the platform itself is behind (evaluated only if shown).
        context["delayed_sources"] = SimpleLazyObject(_delayed_sources)
    return context
