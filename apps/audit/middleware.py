"""Sets the audit actor for the request: the session's user and the client's address. The API's
front door (apps.api_keys.middleware) narrows it to the key when a key calls."""
from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .context import Actor, acting_as


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR if it is an IP address (the server's proxy settings make it the client's)."""
    value = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        authenticated = user.is_authenticated
        actor = Actor(via="session", user_id=user.pk if authenticated else None,
                      email=getattr(user, "email", "") if authenticated else "",
                      ip=client_ip(request))
        with acting_as(actor):
            return self.get_response(request)
