from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
    return (personal or memberships or [None])[0]


class CurrentOrganizationMiddleware:
    """Sets request.memberships and request.membership (the current organization's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.memberships = []
        request.membership = None
        if request.user.is_authenticated:
            request.memberships = list(memberships_of(request.user))
            request.membership = current_membership(request, request.memberships)
        return self.get_response(request)
