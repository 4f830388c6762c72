"""Typed requests for the accounts middleware's attributes (annotations only: at runtime every
request is Django's own HttpRequest or ASGIRequest)."""
from apps.common.http import HtmxRequest

from .models import Membership, User


class OrganizationRequest(HtmxRequest):
    """After CurrentOrganizationMiddleware: the user's memberships and the current one (empty
    and None for anonymous users)."""

    memberships: list[Membership]
    membership: Membership | None


class AuthenticatedRequest(OrganizationRequest):
    """Behind @login_required: the user is a User, never AnonymousUser."""

    user: User
