"""Webhook endpoints and the events put into their outbox.

An endpoint's signing secret is generated here and shown on creation and rotation only. Every
event is a `WebhookMessage` — the body exactly as signed and sent — written by `publish` in the
same transaction as its cause; apps/alerts/services/delivery.py sends it at least once.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Organization
from apps.alerts import outbound, signing
from apps.alerts.models import Event, WebhookEndpoint, WebhookMessage
from apps.audit.services import diff, record
from apps.billing.limits import LimitReached, check_room
from apps.feeds.models import Pair

from .plan_limits import enforce_endpoints

SUBSCRIBABLE = [e for e in Event.values if e != Event.TEST]
ROTATION_OVERLAP = timedelta(hours=24)  # messages are signed with both secrets this long


# --- endpoints ----------------------------------------------------------------------------------

def _snapshot(endpoint: WebhookEndpoint) -> dict:
    """What the audit log shows of an endpoint (never its signing secrets)."""
    return {"url": endpoint.url, "description": endpoint.description,
            "events": endpoint.events, "pairs": endpoint.pairs, "enabled": endpoint.enabled}


def _validated(url: str, events: Iterable[str], pairs: Iterable[str]) -> dict:
    errors = {}
    try:
        outbound.check_url(url)
    except outbound.OutboundBlocked as blocked:
        errors["url"] = str(blocked)
    events, pairs = list(dict.fromkeys(events)), list(dict.fromkeys(pairs))
    unknown = [e for e in events if e not in SUBSCRIBABLE]
    if not events or unknown:
        errors["events"] = f"One or more of: {', '.join(SUBSCRIBABLE)}."
    missing = sorted(set(pairs) - set(Pair.objects.filter(slug__in=pairs)
                                      .values_list("slug", flat=True)))
    if missing:
        errors["pairs"] = f"No such pairs: {', '.join(missing)}."
    if Event.PRICE_UPDATED in events and not pairs:
        errors["pairs"] = "price.updated needs the pairs it is about."
    if errors:
        raise ValidationError(errors)
    return {"url": url, "events": events, "pairs": pairs}


@transaction.atomic
def create_endpoint(organization: Organization, *, url: str, events: Iterable[str],
                    pairs: Iterable[str] = (), description: str = "") -> WebhookEndpoint:
    fields = _validated(url, events, pairs)
    try:
        check_room(organization, "webhook_endpoints", organization.webhook_endpoints.count())
    except LimitReached as error:
        raise ValidationError({"url": str(error)}) from error
    endpoint = WebhookEndpoint.objects.create(organization=organization,
                                              description=description,
                                              secret=signing.generate_secret(), **fields)
    record(organization.pk, "webhook_endpoints.created", target=endpoint,
           after=_snapshot(endpoint))
    return endpoint


@transaction.atomic
def update_endpoint(endpoint: WebhookEndpoint, *, url: str, events: Iterable[str],
                    pairs: Iterable[str] = (), description: str = "",
                    enabled: bool = True) -> WebhookEndpoint:
    audited = _snapshot(endpoint)
    for name, value in _validated(url, events, pairs).items():
        setattr(endpoint, name, value)
    endpoint.description = description
    if enabled and not endpoint.enabled:
        endpoint.disabled_reason, endpoint.failing_since = "", None
    endpoint.enabled = enabled
    endpoint.save()
    action = "webhook_endpoints.enabled" if enabled and not audited["enabled"] else \
        "webhook_endpoints.disabled" if audited["enabled"] and not enabled else \
        "webhook_endpoints.updated"
    old, new = diff(audited, _snapshot(endpoint))
    if new:
        record(endpoint.organization_id, action, target=endpoint, before=old, after=new)
    return endpoint


@transaction.atomic
def rotate_secret(endpoint: WebhookEndpoint, *, overlap: timedelta = ROTATION_OVERLAP,
                  now: datetime | None = None) -> WebhookEndpoint:
    """A new secret; messages carry a signature under each for `overlap`."""
    now = now or timezone.now()
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + overlap
    endpoint.secret = signing.generate_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    record(endpoint.organization_id, "webhook_endpoints.secret_rotated", target=endpoint,
           after={"previous_secret_valid_until": endpoint.previous_secret_until})
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """The endpoint and its message history."""
    with transaction.atomic():
        record(endpoint.organization_id, "webhook_endpoints.deleted", target=endpoint,
               before=_snapshot(endpoint))
        endpoint.delete()
        enforce_endpoints(endpoint.organization)  # room freed: the oldest paused endpoint resumes


# --- events -------------------------------------------------------------------------------------

def publish(organization_id: int, event_type: str, data: dict, *, pair: str | None = None,
            now: datetime | None = None) -> list[WebhookMessage]:
    """Put the event in the outbox of every enabled endpoint of the organization subscribed to
    it (and, for pair events, to that pair). Call it inside the transaction of its cause."""
    return publish_many([(organization_id, event_type, data, pair)], now=now)


def publish_many(events: list[tuple[int, str, dict, str | None]], *,
                 now: datetime | None = None) -> list[WebhookMessage]:
    """publish() for many (organization id, event type, data, pair) at once: one query for
    the endpoints, one insert for the messages."""
    if not events:
        return []
    now = now or timezone.now()
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
            organization_id__in={e[0] for e in events}, enabled=True, paused_reason=""):
        endpoints.setdefault(endpoint.organization_id, []).append(endpoint)
    return WebhookMessage.objects.bulk_create([
        _message(endpoint, event_type, data, now)
        for organization_id, event_type, data, pair in events
        for endpoint in endpoints.get(organization_id, ())
        if event_type in endpoint.events and (pair is None or pair in endpoint.pairs)])


def send_test(endpoint: WebhookEndpoint) -> WebhookMessage:
    message = _message(endpoint, Event.TEST, {"endpoint": endpoint.pk,
                                              "message": "A test event, sent on request."},
                       timezone.now())
    message.save()
    return message


def _message(endpoint: WebhookEndpoint, event_type: str, data: dict,
             now: datetime) -> WebhookMessage:
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data},
                      separators=(",", ":"), default=str)
    return WebhookMessage(endpoint=endpoint, msg_id=signing.new_message_id(),
                          event_type=event_type, body=body, created_at=now, next_attempt_at=now)


def redeliver(message: WebhookMessage, *, now: datetime | None = None) -> WebhookMessage:
    """Send it again now (same webhook-id: a receiver that already has it can tell)."""
    message.status, message.next_attempt_at = WebhookMessage.Status.PENDING, now or timezone.now()
    message.save(update_fields=["status", "next_attempt_at"])
    return message
