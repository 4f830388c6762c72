from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {"network": settings.OP_NETWORK, "is_devnet": settings.OP_NETWORK == "devnet"}
