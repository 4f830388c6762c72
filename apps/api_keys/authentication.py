"""DRF's side of the API front door: the middleware has already identified the caller."""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from .principal import Principal


class PrincipalAuthentication(SessionAuthentication):
    """request.user is the Principal the middleware found; sessions must pass CSRF for writes."""

    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        principal = getattr(request._request, "api_principal", None)
        if principal is None:
            return None
        if principal.key_id is None:
            self.enforce_csrf(request)
        return principal, principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def principal_of(request: Request) -> Principal:
    """The caller, for the API's views: PrincipalAuthentication made request.user a Principal,
    and ScopePermission (every view's) lets nobody else through."""
    principal = request.user
    if not isinstance(principal, Principal):
        raise exceptions.NotAuthenticated()
    return principal


class ScopePermission(permissions.BasePermission):
    """Authenticated; and writes need a read-write key (or a member who is not a viewer)."""

    message = "Read-only access: the key's scope (or your role) does not allow writes."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return False
        return request.method in permissions.SAFE_METHODS or principal.can_write


class PrincipalAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the schema describes it: a bearer key (X-API-Key is accepted too, and documented in
    the scheme's description rather than as a second scheme, which tools read as required)."""

    target_class = PrincipalAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "op_live_…",
                "description": "`Authorization: Bearer op_live_…`, or the same key as "
                               "`X-API-Key: op_live_…`."}
