"""The organization's webhook pages: the endpoints with a create form, and each endpoint's
detail (edit, rotate the secret, send a test event, delete, its recent messages with their
attempts and a redeliver button). Everyone in the organization sees them; owners, admins and
members change them. A signing secret is rendered once, straight into the response to the POST
that made it (creation or rotation); it is never put in the session, a message or a log.
Delivery itself is the periodic task's job: these pages only queue."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Membership
from apps.accounts.permissions import Action, can
from apps.accounts.views import organization_member_required

from . import services
from .forms import EditWebhookEndpointForm, WebhookEndpointForm
from .models import DeliveryAttempt, Event, WebhookEndpoint, WebhookMessage

RECENT_MESSAGES = 50
ATTEMPTS_SHOWN = 5
ROTATION_OVERLAP_HOURS = 24  # services.rotate_secret's default overlap
_FORM_FIELDS = {"url": "url", "description": "description", "events": "events",
                "pairs": "pairs", "enabled": "enabled"}


def _require(membership: Membership, action: Action) -> None:
    if not can(membership, action):
        raise PermissionDenied("Your role in this organization does not allow that.")


def _endpoints_of(membership: Membership) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization_id=membership.organization_id)


def _own_endpoint(membership: Membership, endpoint_id: int) -> WebhookEndpoint:
    """Only an endpoint of the organization in the URL, which the user is a member of; else
    404, so other tenants' endpoints cannot even be discovered."""
    return get_object_or_404(_endpoints_of(membership), pk=endpoint_id)


def _to_detail(membership: Membership, endpoint: WebhookEndpoint) -> HttpResponse:
    return redirect("webhook", slug=membership.organization.slug, endpoint_id=endpoint.pk)


def _add_service_errors(form: WebhookEndpointForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, errors in error.message_dict.items():
        name = _FORM_FIELDS.get(field)
        form.add_error(name if name in form.fields else None, errors)


def _event_labels() -> dict[str, str]:
    return {value: label for value, label in Event.choices}


def _with_event_rows(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    labels = _event_labels()
    endpoint.event_rows = [(event, labels.get(event, "")) for event in endpoint.events]
    return endpoint


def _list_page(request: HttpRequest, membership: Membership, *,
               form: WebhookEndpointForm | None = None, new_endpoint: WebhookEndpoint | None = None,
               secret: str | None = None, status: int = 200) -> HttpResponse:
    organization = membership.organization
    return render(
        request,
        "alerts/webhooks.html",
        {
            "membership": membership,
            "organization": organization,
            "endpoints": [_with_event_rows(e) for e in _endpoints_of(membership)],
            "can_manage": can(membership, Action.MANAGE_ALERTS),
            "form": form or WebhookEndpointForm(),
            "new_endpoint": new_endpoint,
            "secret": secret,
            "max_endpoints": services.MAX_ENDPOINTS,
        },
        status=status,
    )


def _recent_messages(endpoint: WebhookEndpoint) -> list[WebhookMessage]:
    recent = list(endpoint.messages.order_by("-created_at", "-pk")[:RECENT_MESSAGES]
                  .prefetch_related(Prefetch(
                      "delivery_attempts",
                      queryset=DeliveryAttempt.objects.order_by("-started_at", "-pk"))))
    for message in recent:
        message.latest_attempts = list(message.delivery_attempts.all())[:ATTEMPTS_SHOWN]
    return recent


def _detail_page(request: HttpRequest, membership: Membership, endpoint: WebhookEndpoint, *,
                 form: EditWebhookEndpointForm | None = None, secret: str | None = None,
                 status: int = 200) -> HttpResponse:
    return render(
        request,
        "alerts/webhook.html",
        {
            "membership": membership,
            "organization": membership.organization,
            "endpoint": _with_event_rows(endpoint),
            "can_manage": can(membership, Action.MANAGE_ALERTS),
            "form": form or EditWebhookEndpointForm.for_endpoint(endpoint),
            "secret": secret,
            "recent_messages": _recent_messages(endpoint),
            "recent_limit": RECENT_MESSAGES,
            "attempts_shown": ATTEMPTS_SHOWN,
            "overlap_hours": ROTATION_OVERLAP_HOURS,
            "now": timezone.now(),
        },
        status=status,
    )


@organization_member_required
@require_GET
@never_cache
def webhooks(request: HttpRequest, membership: Membership) -> HttpResponse:
    _require(membership, Action.VIEW_ORGANIZATION)
    return _list_page(request, membership)


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def create(request: HttpRequest, membership: Membership) -> HttpResponse:
    _require(membership, Action.MANAGE_ALERTS)
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = services.create_endpoint(
                membership.organization, url=data["url"], events=data["events"],
                pairs=data["pairs"], description=data["description"])
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, f"Added the endpoint {endpoint.url}.")
            return _list_page(request, membership, new_endpoint=endpoint, secret=endpoint.secret)
    return _list_page(request, membership, form=form, status=400)


@organization_member_required
@require_GET
@never_cache
def webhook(request: HttpRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    _require(membership, Action.VIEW_ORGANIZATION)
    return _detail_page(request, membership, _own_endpoint(membership, endpoint_id))


@organization_member_required
@require_POST
@never_cache
def update(request: HttpRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    _require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    form = EditWebhookEndpointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_endpoint(
                endpoint, url=data["url"], events=data["events"], pairs=data["pairs"],
                description=data["description"], enabled=data["enabled"])
        except ValidationError as error:
            _add_service_errors(form, error)  # it refuses before changing anything
        else:
            messages.success(request, "Saved the endpoint.")
            return _to_detail(membership, endpoint)
    return _detail_page(request, membership, endpoint, form=form, status=400)


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def rotate(request: HttpRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    _require(membership, Action.MANAGE_ALERTS)
    endpoint = services.rotate_secret(_own_endpoint(membership, endpoint_id))
    messages.success(
        request,
        f"Rotated the signing secret. Until {endpoint.previous_secret_until:%Y-%m-%d %H:%M} UTC "
        "every message is signed with both the old and the new secret.",
    )
    return _detail_page(request, membership, endpoint, secret=endpoint.secret)


@organization_member_required
@require_POST
def send_test(request: HttpRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    _require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    message = services.send_test(endpoint)
    note = "" if endpoint.enabled else " It waits until the endpoint is enabled again."
    messages.success(request, f"Test event {message.msg_id} queued; it is sent within a "
                              f"minute.{note}")
    return _to_detail(membership, endpoint)


@organization_member_required
@require_POST
def delete(request: HttpRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    _require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    url = endpoint.url
    endpoint.delete()
    messages.success(request, f"Deleted the endpoint {url} and its message history.")
    return redirect("webhooks", slug=membership.organization.slug)


@organization_member_required
@require_POST
def redeliver(request: HttpRequest, membership: Membership, endpoint_id: int,
              msg_id: str) -> HttpResponse:
    _require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    message = get_object_or_404(endpoint.messages, msg_id=msg_id)
    services.redeliver(message)
    note = "" if endpoint.enabled else " It waits until the endpoint is enabled again."
    messages.success(request, f"Message {message.msg_id} queued for redelivery.{note}")
    return _to_detail(membership, endpoint)
