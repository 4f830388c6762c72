from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .http import OrganizationRequest
from .models import Membership
from .selectors import memberships_of

SESSION_KEY = "current_organization"


def current_membership(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    """The organization the user chose last, else their personal one, else the first."""
    chosen = request.session.get(SESSION_KEY)
    by_slug = {m.organization.slug: m for m in memberships}
    if chosen in by_slug:
        return by_slug[chosen]
    personal = [m for m in memberships if m.organization.is_personal]
    if personal:
        return personal[0]
    return memberships[0] if memberships else None


class CurrentOrganizationMiddleware:
    """Sets request.memberships and request.membership (the current organization's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: OrganizationRequest) -> HttpResponseBase:
        request.memberships = []
        request.membership = None
        if request.user.is_authenticated:
            request.memberships = list(memberships_of(request.user))
            request.membership = current_membership(request, request.memberships)
        return self.get_response(request)
