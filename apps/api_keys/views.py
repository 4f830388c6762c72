"""The organization's API keys page: the keys, create / rotate / revoke for owners and admins,
and the calls of the last 30 days. A new key is rendered once, straight into the response to the
POST that made it; it is never put in the session, a message or a log."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.http import AuthenticatedRequest
from apps.accounts.models import Membership
from apps.accounts.permissions import Action, can, require
from apps.accounts.views import organization_member_required
from apps.billing.plans import get_plan

from . import services
from .forms import CreateKeyForm
from .models import ApiKey
from .selectors import daily_usage, keys_of, usage_per_key

USAGE_DAYS = 30
EXPIRING_SOON = timedelta(days=7)
# The service's error keys, as the form's fields.
_FORM_FIELDS = {"name": "name", "scope": "scope", "expires_at": "expires_on"}


def key_status(key: ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    if key.expires_at is not None and key.expires_at - now <= EXPIRING_SOON:
        return "expiring"
    return "active"


def _back(membership: Membership) -> HttpResponse:
    return redirect("api_keys", slug=membership.organization.slug)


def _own_key(membership: Membership, key_id: int) -> ApiKey:
    """Only a key of the organization in the URL, which the user is a member of; else 404."""
    return get_object_or_404(keys_of(membership.organization_id), pk=key_id)


def _usage(organization_id: int, keys: list[ApiKey]) -> dict:
    daily = daily_usage(organization_id, USAGE_DAYS)
    start, end = daily[0]["day"], daily[-1]["day"]
    names = {key.pk: key for key in keys}
    per_key = [
        {"key": names.get(row["key_id"]), "calls": row["calls"],
         "response_bytes": row["response_bytes"]}
        for row in usage_per_key(organization_id, start, end)
    ]
    return {
        "start": start,
        "end": end,
        "points": [{"time": day["day"].isoformat(), "value": day["calls"]} for day in daily],
        "per_key": per_key,
        "calls": sum(day["calls"] for day in daily),
        "response_bytes": sum(day["response_bytes"] for day in daily),
    }


def _page(request: HttpRequest, membership: Membership, *, form: CreateKeyForm | None = None,
          new_key: ApiKey | None = None, plaintext: str | None = None,
          status: int = 200) -> HttpResponse:
    organization = membership.organization
    now = timezone.now()
    keys = list(keys_of(organization.pk).select_related("replaced_by"))
    for key in keys:
        key.status = key_status(key, now)
    return render(
        request,
        "api_keys/keys.html",
        {
            "membership": membership,
            "organization": organization,
            "keys": keys,
            "can_manage": can(membership, Action.MANAGE_API_KEYS),
            "form": form or CreateKeyForm(),
            "new_key": new_key,
            "plaintext": plaintext,
            "usage": _usage(organization.pk, keys),
            "plan": get_plan(organization.plan),
            "grace_hours": settings.OP_API_KEY_ROTATION_GRACE_HOURS,
        },
        status=status,
    )


@organization_member_required
@require_GET
@never_cache
def api_keys(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_API_KEYS)
    return _page(request, membership)


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def create(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.MANAGE_API_KEYS)
    form = CreateKeyForm(request.POST)
    if form.is_valid():
        try:
            key, raw = services.create_key(
                membership.organization, name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"], expires_at=form.expires_at,
                created_by=request.user,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(_FORM_FIELDS.get(field), errors)
        else:
            messages.success(request, f"Created the key “{key.name}”.")
            return _page(request, membership, new_key=key, plaintext=raw)
    return _page(request, membership, form=form, status=400)


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def rotate(request: AuthenticatedRequest, membership: Membership, key_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_API_KEYS)
    key = _own_key(membership, key_id)
    try:
        new_key, raw = services.rotate_key(key, created_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(membership)
    key.refresh_from_db(fields=["expires_at"])
    messages.success(
        request,
        f"Rotated “{key.name}”. The old key {key.prefix}… keeps working until "
        f"{key.expires_at:%Y-%m-%d %H:%M} UTC; switch your deployments to the new one.",
    )
    return _page(request, membership, new_key=new_key, plaintext=raw)


@organization_member_required
@require_POST
def revoke(request: AuthenticatedRequest, membership: Membership, key_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_API_KEYS)
    key = _own_key(membership, key_id)
    if key.revoked_at is not None:
        messages.info(request, f"“{key.name}” ({key.prefix}…) was already revoked.")
    else:
        services.revoke_key(key)
        messages.success(request, f"Revoked “{key.name}” ({key.prefix}…). It stops working now.")
    return _back(membership)
