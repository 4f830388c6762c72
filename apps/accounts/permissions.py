"""Who may do what in an organization. docs/permissions.md mirrors this table."""
from enum import StrEnum

from django.core.exceptions import PermissionDenied

from .models import Membership, Role


class Action(StrEnum):
    VIEW_ORGANIZATION = "organization.view"
    RENAME_ORGANIZATION = "organization.rename"
    INVITE_MEMBERS = "members.invite"
    CHANGE_ROLES = "members.change_role"
    REMOVE_MEMBERS = "members.remove"
    REVOKE_INVITATIONS = "invitations.revoke"
    EDIT_WATCHLIST = "watchlist.edit"
    VIEW_API_KEYS = "api_keys.view"
    MANAGE_API_KEYS = "api_keys.manage"
    MANAGE_ALERTS = "alerts.manage"
    VIEW_AUDIT = "audit.view"
    VIEW_BILLING = "billing.view"
    MANAGE_BILLING = "billing.manage"


_EVERYONE = frozenset(Role)
_ADMINS = frozenset({Role.OWNER, Role.ADMIN})

ALLOWED_ROLES: dict[Action, frozenset[Role]] = {
    Action.VIEW_ORGANIZATION: _EVERYONE,
    Action.RENAME_ORGANIZATION: _ADMINS,
    Action.INVITE_MEMBERS: _ADMINS,
    Action.CHANGE_ROLES: _ADMINS,
    Action.REMOVE_MEMBERS: _ADMINS,
    Action.REVOKE_INVITATIONS: _ADMINS,
    Action.EDIT_WATCHLIST: frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER}),
    Action.VIEW_API_KEYS: frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER}),
    Action.MANAGE_API_KEYS: _ADMINS,
    Action.MANAGE_ALERTS: frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER}),
    Action.VIEW_AUDIT: _ADMINS,
    Action.VIEW_BILLING: _ADMINS,
    Action.MANAGE_BILLING: frozenset({Role.OWNER}),
}


def can(membership: Membership | None, action: Action) -> bool:
    return membership is not None and membership.role in ALLOWED_ROLES[action]


def require(membership: Membership | None, action: Action) -> None:
    """Raise PermissionDenied (a 403 page) unless the member's role allows `action`."""
    if not can(membership, action):
        raise PermissionDenied("Your role in this organization does not allow that.")


def can_manage_role(actor: Membership, role: str) -> bool:
    """Only owners grant, change or remove the owner role."""
    return can(actor, Action.CHANGE_ROLES) and (role != Role.OWNER or actor.role == Role.OWNER)
