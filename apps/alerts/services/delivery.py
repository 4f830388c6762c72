"""Sending what is due from both outboxes — webhook messages and channel notices — at least
once, with every attempt recorded.

Both are claimed under the one lease of apps/alerts/services/outbox.py (a worker that dies
mid-delivery leaves its claim to be retried when the lease runs out; an outcome is recorded only
while its claim holds). `drain` sends every due batch of both in the `alerts.deliver_now` task,
queued right after an evaluation or an acknowledgement commits; the periodic tasks send the
retries.

Webhooks: each message keeps its `webhook-id` across attempts, so receivers dedupe. Retries
follow Standard Webhooks' schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: ~27 h), with ±10 %
jitter; a `Retry-After` longer than the next step is honoured; 410 Gone or a blocked address
disables the endpoint; an endpoint failing for OP_WEBHOOK_DISABLE_AFTER_HOURS is disabled and
the organization's owners and admins are emailed.

Notices go through the channel's transport (apps/alerts/services/channels.py: `notify_channel`,
which disables a channel on a permanent failure), one after another, and retry transient
failures with backoff (10 s, 30 s, 1 min, 5 min, 15 min, 1 h; a vendor's `retry_after` is
honoured); the incidents' timelines record each outcome.
"""
from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.alerts import outbound, signing
from apps.alerts.models import (
    DeliveryAttempt,
    IncidentEvent,
    Notice,
    WebhookEndpoint,
    WebhookMessage,
)
from apps.alerts.notifications import Notification
from apps.alerts.transports.base import Delivery
from apps.audit.services import record

from .channels import notify_channel
from .outbox import Outbox

logger = logging.getLogger(__name__)

SEND_CONCURRENCY = 16  # webhook requests in flight at once; each waits on a receiver, not on us
WEBHOOK_RETRIES = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
                   timedelta(hours=2), timedelta(hours=5), timedelta(hours=10),
                   timedelta(hours=10))
MAX_RETRY_AFTER = timedelta(hours=10)
NOTICE_RETRIES = (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1),
                  timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
DRAIN_ROUNDS = 20  # a burst of incidents may leave more than one batch due

WEBHOOKS = Outbox(WebhookMessage, "endpoint", concurrency=SEND_CONCURRENCY)
NOTICES = Outbox(Notice, "channel", concurrency=1)  # sent one after another


def drain(*, rounds: int = DRAIN_ROUNDS) -> None:
    """Send what is due — webhook messages and notices — batch after batch until nothing is
    (or `rounds` batches of each went)."""
    for _ in range(rounds):
        if deliver_webhooks() + deliver_notices() == 0:
            break


# --- webhooks -----------------------------------------------------------------------------------

def deliver_webhooks(*, now: datetime | None = None, limit: int = 64) -> int:
    """Claim and send the messages whose next attempt is due; returns how many were tried.
    The HTTP requests go out concurrently (no database work in those threads); each outcome
    is recorded as soon as it is known."""
    claimed = WEBHOOKS.claim(now or timezone.now(), limit)
    if not claimed:
        return 0
    with ThreadPoolExecutor(max_workers=min(SEND_CONCURRENCY, len(claimed))) as pool:
        futures = {pool.submit(_send, message): message for message in claimed}
        for future in as_completed(futures):
            started, result, permanent = future.result()
            record_attempt(futures[future], started, result, permanent=permanent)
    return len(claimed)


def _send(message: WebhookMessage) -> tuple[datetime, outbound.OutboundResult, str | None]:
    """One attempt over HTTP: (when it started, the result, why it is permanent if it is)."""
    endpoint = message.endpoint
    started = timezone.now()
    body = message.body.encode()
    headers = {"Content-Type": "application/json", "User-Agent": "OraclePlatform-Webhooks/1",
               **signing.sign(endpoint.signing_secrets(started), message.msg_id,
                              int(started.timestamp()), body)}
    try:
        result = outbound.post(endpoint.url, body=body, headers=headers,
                               timeout=settings.OP_OUTBOUND_TIMEOUT)
    except outbound.OutboundBlocked as blocked:
        return started, outbound.OutboundResult(
            status=None, latency_ms=0.0, snippet="", headers={},
            error=f"blocked: {blocked}"), f"URL blocked: {blocked}"
    return started, result, ("the receiver answered 410 Gone" if result.status == 410 else None)


@transaction.atomic
def record_attempt(message: WebhookMessage, started: datetime, result: outbound.OutboundResult,
                   *, permanent: str | None) -> None:
    """Record one attempt of a claimed message, and its outcome while the claim holds."""
    DeliveryAttempt.objects.create(
        message=message, started_at=started, status_code=result.status,
        latency_ms=round(result.latency_ms), response_snippet=result.snippet[:500],
        error=(result.error or "")[:300])
    claimed_until = message.next_attempt_at
    message.attempts += 1
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=message.endpoint_id)
    was_enabled, now = endpoint.enabled, timezone.now()
    if result.status is not None and 200 <= result.status < 300:
        message.status, message.delivered_at = WebhookMessage.Status.DELIVERED, now
        endpoint.failing_since = None
    elif permanent:
        message.status = WebhookMessage.Status.FAILED
        _disable(endpoint, permanent)
    else:
        endpoint.failing_since = endpoint.failing_since or started
        if message.attempts > len(WEBHOOK_RETRIES):
            message.status = WebhookMessage.Status.FAILED
        else:
            message.next_attempt_at = now + _backoff(message.attempts, result)
        if endpoint.enabled and now - endpoint.failing_since >= timedelta(
                hours=settings.OP_WEBHOOK_DISABLE_AFTER_HOURS):
            _disable(endpoint, f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC")
    if WEBHOOKS.settle(message, claimed_until, status=message.status,
                       next_attempt_at=message.next_attempt_at,
                       delivered_at=message.delivered_at):
        endpoint.save(update_fields=["failing_since", "enabled", "disabled_reason"])
        if was_enabled and not endpoint.enabled:
            record(endpoint.organization_id, "webhook_endpoints.disabled", target=endpoint,
                   before={"enabled": True},
                   after={"enabled": False, "disabled_reason": endpoint.disabled_reason})


def _backoff(attempts: int, result: outbound.OutboundResult) -> timedelta:
    step = WEBHOOK_RETRIES[attempts - 1]
    step *= random.uniform(0.9, 1.1)
    retry_after = _retry_after(result.headers.get("retry-after") or
                               result.headers.get("Retry-After"))
    return max(step, min(retry_after, MAX_RETRY_AFTER)) if retry_after else step


def _retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        return max(timedelta(0), parsedate_to_datetime(value) - timezone.now())
    except (TypeError, ValueError):
        return None


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    if not endpoint.enabled:
        return
    endpoint.enabled, endpoint.disabled_reason = False, reason[:200]
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    recipients = list(Membership.objects.filter(
        organization_id=endpoint.organization_id, role__in=[Role.OWNER, Role.ADMIN])
        .values_list("user__email", flat=True))
    url = endpoint.url
    transaction.on_commit(lambda: send_mail(
        "Webhook endpoint disabled",
        f"We stopped sending webhooks to {url}: {reason}.\n"
        "Fix the receiver, then enable the endpoint again; pending messages resume.",
        None, recipients, fail_silently=True))


# --- notices ------------------------------------------------------------------------------------

def deliver_notices(*, now: datetime | None = None, limit: int = 10) -> int:
    """Claim and send the notices whose next attempt is due; returns how many were tried."""
    claimed = NOTICES.claim(now or timezone.now(), limit)
    for notice in claimed:
        delivery = notify_channel(notice.channel, Notification.from_json(notice.notification))
        record_notice(notice, delivery)
    return len(claimed)


@transaction.atomic
def record_notice(notice: Notice, delivery: Delivery) -> None:
    """The outcome of a claimed notice's attempt, while the claim holds; on the incidents'
    timelines once it is sent or given up."""
    now = timezone.now()
    claimed_until = notice.next_attempt_at
    notice.attempts += 1
    notice.detail = delivery.detail[:300]
    channel = notice.channel
    if delivery.ok:
        notice.status, kind = Notice.Status.SENT, "notified"
    elif delivery.permanent or notice.attempts > len(NOTICE_RETRIES):
        notice.status, kind = Notice.Status.FAILED, "notify_failed"
    else:
        step = NOTICE_RETRIES[notice.attempts - 1] * random.uniform(0.9, 1.1)
        wait = max(step, timedelta(seconds=delivery.retry_after or 0))
        notice.next_attempt_at, kind = now + wait, None
    if not NOTICES.settle(notice, claimed_until, status=notice.status,
                          next_attempt_at=notice.next_attempt_at, detail=notice.detail):
        return
    if kind:
        what = notice.notification["kind"]
        IncidentEvent.objects.bulk_create([
            IncidentEvent(incident=incident, at=now, kind=kind,
                          detail=f"{what} via {channel.name} ({channel.kind}): "
                                 f"{delivery.detail}"[:300])
            for incident in notice.incidents.all()])
