"""The API for API keys (list, create, revoke, rotate) and the organization's usage. A caller
only ever sees its own organization's keys and usage."""
from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Organization, Role, User
from apps.billing.plans import get_plan
from apps.common.api import NewestFirst, documented

from . import serializers as s
from .authentication import principal_of
from .models import ApiKey
from .principal import Principal
from .selectors import keys_of, usage_of
from .services import create_key, revoke_key, rotate_key

EXAMPLE_KEY = {"id": 7, "name": "risk-engine", "prefix": "op_live_ab12cd34", "scope": "read",
               "active": True, "paused_reason": "", "created_at": "2026-11-26T18:00:00Z",
               "created_by": "ana@example.com", "expires_at": None, "revoked_at": None,
               "replaces": None, "last_used_at": "2026-11-26T18:05:00Z",
               "last_used_ip": "203.0.113.7"}
EXAMPLE_NEW = {**EXAMPLE_KEY, "last_used_at": None, "last_used_ip": None,
               "key": "op_live_ab12cd34q8Xk2LmN0pR7sT1uV3wY5zA9bC4dE6fG0a1B2c"}


def _manager(request: Request) -> Principal:
    """Keys are managed by an owner/admin session, or by a read-write key — which reaches only
    itself and the keys it created (a leaked key cannot take over the others)."""
    principal = principal_of(request)
    if principal.key_id is None and principal.role not in (Role.OWNER, Role.ADMIN):
        raise exceptions.PermissionDenied("Only owners and admins manage API keys.")
    return principal


def _managed_key(request: Request, key_id: int) -> ApiKey:
    principal, key = _manager(request), _own_key(request, key_id)
    if principal.key_id is not None and principal.key_id not in (key.pk, key.created_by_key_id):
        raise exceptions.PermissionDenied("An API key manages only itself and the keys it "
                                          "created; use an owner's or admin's session.")
    return key


def _viewer(request: Request) -> Principal:
    """Keys and usage are shown to members (not viewers) and to read-write keys."""
    principal = principal_of(request)
    allowed = principal.can_write if principal.key_id is not None \
        else principal.role in (Role.OWNER, Role.ADMIN, Role.MEMBER)
    if not allowed:
        raise exceptions.PermissionDenied("Viewers and read-only keys do not see API keys.")
    return principal


def _creator(principal: Principal) -> User | None:
    return User.objects.filter(pk=principal.user_id).first() if principal.user_id else None


def _key_of(principal: Principal) -> ApiKey | None:
    return ApiKey.objects.filter(pk=principal.key_id).first() if principal.key_id else None


def _own_key(request: Request, key_id: int) -> ApiKey:
    return get_object_or_404(keys_of(principal_of(request).organization_id), pk=key_id)


class KeyList(generics.ListCreateAPIView):
    serializer_class = s.ApiKeySerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[ApiKey]:
        return keys_of(principal_of(self.request).organization_id)

    @documented("Your organization's API keys, newest first (prefixes only; keys are never "
                "shown again).", EXAMPLE_KEY,
                response=s.ApiKeySerializer(many=True))
    def get(self, request: Request) -> Response:
        _viewer(request)
        return super().get(request)

    @documented("Create a key. The response holds the key itself, this once.", EXAMPLE_NEW,
                request=s.CreateApiKeySerializer, response=s.NewApiKeySerializer, status=201,
                errors=(400, 401, 403, 429),
                request_example={"name": "risk-engine", "scope": "read", "expires_at": None})
    def post(self, request: Request) -> Response:
        principal = _manager(request)
        form = s.CreateApiKeySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        key, raw = create_key(Organization.objects.get(pk=principal.organization_id),
                              created_by=_creator(principal), created_by_key=_key_of(principal),
                              **form.validated_data)
        key.key = raw
        return Response(s.NewApiKeySerializer(key).data, status=status.HTTP_201_CREATED)


class KeyDetail(APIView):
    @documented("One of your organization's keys.", EXAMPLE_KEY, response=s.ApiKeySerializer)
    def get(self, request: Request, key_id: int) -> Response:
        _viewer(request)
        return Response(s.ApiKeySerializer(_own_key(request, key_id)).data)

    @documented("Revoke the key: refused by every instance from now on. Idempotent.",
                {**EXAMPLE_KEY, "active": False, "revoked_at": "2026-11-26T19:00:00Z"},
                response=s.ApiKeySerializer, errors=(401, 403, 404, 429))
    def delete(self, request: Request, key_id: int) -> Response:
        return Response(s.ApiKeySerializer(revoke_key(_managed_key(request, key_id))).data)


class KeyRotate(APIView):
    @documented("Replace the key with a new one (returned this once). The old key keeps "
                "working for OP_API_KEY_ROTATION_GRACE_HOURS (24 h by default), then expires.",
                {**EXAMPLE_NEW, "id": 8, "replaces": 7}, request=None,
                response=s.NewApiKeySerializer, status=201, errors=(400, 401, 403, 404, 429))
    def post(self, request: Request, key_id: int) -> Response:
        principal = _manager(request)
        # The replacement keeps the old key's lineage: revoking the old key after switching
        # over must not revoke its replacement.
        key, raw = rotate_key(_managed_key(request, key_id), created_by=_creator(principal))
        key.key = raw
        return Response(s.NewApiKeySerializer(key).data, status=status.HTTP_201_CREATED)


class Usage(APIView):
    @documented(
        "Calls and response bytes per key per UTC day for your organization (counted live, "
        "written to the database every minute), and your plan's limits.",
        {"tier": "free", "limits": {"requests_per_minute": 60, "requests_per_day": 10000,
                                    "history_days": 31, "ws_connections": 2},
         "from": "2026-11-20", "to": "2026-11-26", "total_calls": 1520,
         "days": [{"day": "2026-11-26", "key": "op_live_ab12cd34", "key_name": "risk-engine",
                   "calls": 1520, "response_bytes": 2450000}]},
        response=OpenApiTypes.OBJECT, parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day; default: "
                             "29 days before `to`"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day; default: today")])
    def get(self, request: Request) -> Response:
        principal = _viewer(request)
        bounds: dict[str, date] = {}
        for name in ("from", "to"):
            raw = request.query_params.get(name)
            if raw is not None:
                try:
                    day = parse_date(raw)
                except ValueError:
                    day = None
                if day is None or not 1970 <= day.year <= 9000:
                    raise exceptions.ValidationError({name: "A date like 2026-11-26."})
                bounds[name] = day
        end = bounds.get("to") or timezone.now().date()
        start = bounds.get("from") or end - timedelta(days=29)
        if start > end or (end - start).days > 366:
            raise exceptions.ValidationError({"from": "At most 367 days, `from` ≤ `to`."})
        rows = s.ApiUsageSerializer(usage_of(principal.organization_id, start, end),
                                    many=True).data
        return Response({
            "tier": principal.tier,
            "limits": get_plan(principal.tier).limits_json(),
            "from": start, "to": end, "total_calls": sum(r["calls"] for r in rows),
            "days": rows,
        })
