"""Writes for webhooks: endpoints (secret shown on creation and rotation), events into the
outbox, and delivery — at least once, with every attempt recorded.

Delivery claims due messages with a lease (their next attempt moves past the batch's longest
possible run, committed before anything is sent), so a worker that dies mid-delivery leaves
them to be retried when the lease runs out, and an outcome is recorded only while its claim
holds; each message keeps its `webhook-id` across attempts, so receivers dedupe.
Retries follow Standard Webhooks' schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: ~27 h),
with ±10 % jitter; a `Retry-After` longer than the next step is honoured; 410 Gone or a blocked
address disables the endpoint; an endpoint failing for OP_WEBHOOK_DISABLE_AFTER_HOURS is
disabled and the organization's owners and admins are emailed.
"""
from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing as signing_tokens
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Membership, Organization, Role

from . import outbound, signing
from .models import (
    Channel,
    DeliveryAttempt,
    Event,
    Incident,
    IncidentEvent,
    MaintenanceWindow,
    Rule,
    WebhookEndpoint,
    WebhookMessage,
)

logger = logging.getLogger(__name__)

RETRY_SCHEDULE = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
                  timedelta(hours=2), timedelta(hours=5), timedelta(hours=10),
                  timedelta(hours=10))
MAX_RETRY_AFTER = timedelta(hours=10)
SUBSCRIBABLE = [e for e in Event.values if e != Event.TEST]
MAX_ENDPOINTS = 20


# --- endpoints ----------------------------------------------------------------------------------

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
    from apps.feeds.models import Pair

    missing = sorted(set(pairs) - set(Pair.objects.filter(slug__in=pairs)
                                      .values_list("slug", flat=True)))
    if missing:
        errors["pairs"] = f"No such pairs: {', '.join(missing)}."
    if Event.PRICE_UPDATED in events and not pairs:
        errors["pairs"] = "price.updated needs the pairs it is about."
    if errors:
        raise ValidationError(errors)
    return {"url": url, "events": events, "pairs": pairs}


def create_endpoint(organization: Organization, *, url: str, events: Iterable[str],
                    pairs: Iterable[str] = (), description: str = "") -> WebhookEndpoint:
    fields = _validated(url, events, pairs)
    if organization.webhook_endpoints.count() >= MAX_ENDPOINTS:
        raise ValidationError({"url": f"At most {MAX_ENDPOINTS} endpoints per organization."})
    return WebhookEndpoint.objects.create(organization=organization, description=description,
                                          secret=signing.generate_secret(), **fields)


def update_endpoint(endpoint: WebhookEndpoint, *, url: str, events: Iterable[str],
                    pairs: Iterable[str] = (), description: str = "",
                    enabled: bool = True) -> WebhookEndpoint:
    for name, value in _validated(url, events, pairs).items():
        setattr(endpoint, name, value)
    endpoint.description = description
    if enabled and not endpoint.enabled:
        endpoint.disabled_reason, endpoint.failing_since = "", None
    endpoint.enabled = enabled
    endpoint.save()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, *, overlap: timedelta = timedelta(hours=24),
                  now: datetime | None = None) -> WebhookEndpoint:
    """A new secret; messages carry a signature under each for `overlap`."""
    now = now or timezone.now()
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + overlap
    endpoint.secret = signing.generate_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return endpoint


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
            organization_id__in={e[0] for e in events}, enabled=True):
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


# --- delivery -----------------------------------------------------------------------------------

SEND_CONCURRENCY = 16  # requests in flight at once; each waits on a receiver, not on us


def deliver_due(*, now: datetime | None = None, limit: int = 64) -> int:
    """Claim and send the messages whose next attempt is due; returns how many were tried.
    The HTTP requests go out concurrently (no database work in those threads); each outcome
    is recorded as soon as it is known."""
    claimed = _claim(now or timezone.now(), limit)
    if not claimed:
        return 0
    with ThreadPoolExecutor(max_workers=min(SEND_CONCURRENCY, len(claimed))) as pool:
        futures = {pool.submit(_send, message): message for message in claimed}
        for future in as_completed(futures):
            started, result, permanent = future.result()
            _record(futures[future], started, result, permanent=permanent)
    return len(claimed)


def lease_for(batch: int, concurrency: int) -> timedelta:
    """Longer than a batch can take: its sends, `concurrency` at a time, each within the
    outbound timeout — so no other worker takes a message while this one may still send it."""
    rounds = -(-batch // concurrency)
    return timedelta(seconds=settings.OP_OUTBOUND_TIMEOUT * rounds + 30)


@transaction.atomic
def _claim(now: datetime, limit: int) -> list[WebhookMessage]:
    due = (WebhookMessage.objects.select_related("endpoint")
           .filter(status=WebhookMessage.Status.PENDING, next_attempt_at__lte=now,
                   endpoint__enabled=True)
           .order_by("next_attempt_at"))
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    claimed = list(due[:limit])
    lease = now + lease_for(len(claimed), SEND_CONCURRENCY)
    WebhookMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(next_attempt_at=lease)
    for message in claimed:
        message.next_attempt_at = lease  # the claim's token: see _record
    return claimed


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
def _record(message: WebhookMessage, started: datetime, result: outbound.OutboundResult, *,
            permanent: str | None) -> None:
    DeliveryAttempt.objects.create(
        message=message, started_at=started, status_code=result.status,
        latency_ms=round(result.latency_ms), response_snippet=result.snippet[:500],
        error=(result.error or "")[:300])
    claimed_until = message.next_attempt_at
    message.attempts += 1
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=message.endpoint_id)
    now = timezone.now()
    if result.status is not None and 200 <= result.status < 300:
        message.status, message.delivered_at = WebhookMessage.Status.DELIVERED, now
        endpoint.failing_since = None
    elif permanent:
        message.status = WebhookMessage.Status.FAILED
        _disable(endpoint, permanent)
    else:
        endpoint.failing_since = endpoint.failing_since or started
        if message.attempts > len(RETRY_SCHEDULE):
            message.status = WebhookMessage.Status.FAILED
        else:
            message.next_attempt_at = now + _backoff(message.attempts, result)
        if endpoint.enabled and now - endpoint.failing_since >= timedelta(
                hours=settings.OP_WEBHOOK_DISABLE_AFTER_HOURS):
            _disable(endpoint, f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC")
    # Only while our claim holds: if the lease ran out (or someone asked for a redelivery) the
    # message is another attempt's now, and this stale outcome must not overwrite it.
    claim = WebhookMessage.objects.filter(pk=message.pk, status=WebhookMessage.Status.PENDING,
                                          next_attempt_at=claimed_until)
    if claim.update(status=message.status, attempts=F("attempts") + 1,
                    next_attempt_at=message.next_attempt_at,
                    delivered_at=message.delivered_at):
        endpoint.save(update_fields=["failing_since", "enabled", "disabled_reason"])


def _backoff(attempts: int, result: outbound.OutboundResult) -> timedelta:
    step = RETRY_SCHEDULE[attempts - 1]
    step *= random.uniform(0.9, 1.1)
    retry_after = _retry_after(result.headers.get("retry-after") or
                               result.headers.get("Retry-After"))
    return max(step, min(retry_after, MAX_RETRY_AFTER)) if retry_after else step


def _retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    from email.utils import parsedate_to_datetime

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


# --- channels -----------------------------------------------------------------------------------

def create_channel(organization: Organization, *, kind: str, name: str,
                   config: dict) -> Channel:
    from .transports import TRANSPORTS

    errors = {}
    if kind not in TRANSPORTS:
        errors["kind"] = f"One of: {', '.join(TRANSPORTS)}."
    if not name.strip():
        errors["name"] = "A channel needs a name."
    if errors:
        raise ValidationError(errors)
    cleaned = TRANSPORTS[kind].validate_config(config)
    return Channel.objects.create(organization=organization, kind=kind, name=name.strip()[:100],
                                  config=json.dumps(cleaned))


def update_channel(channel: Channel, *, name: str, config: dict | None = None,
                   enabled: bool = True) -> Channel:
    """A new name, and a new config if given (kept as is otherwise: its secrets are never sent
    back to browsers to be resubmitted); enabling clears the reason it was disabled."""
    from .transports import TRANSPORTS

    if not name.strip():
        raise ValidationError({"name": "A channel needs a name."})
    if config is not None:
        if channel.kind == Channel.Kind.WEBHOOK and not config.get("secret"):
            # A new URL is not a new secret: keep the one the receiver verifies with.
            config = {**config, "secret": json.loads(channel.config).get("secret")}
        channel.config = json.dumps(TRANSPORTS[channel.kind].validate_config(config))
    channel.name = name.strip()[:100]
    if enabled and not channel.enabled:
        channel.disabled_reason = ""
    channel.enabled = enabled
    channel.save()
    return channel


# --- rules --------------------------------------------------------------------------------------

PRICE_KINDS = {Rule.Kind.PRICE_ABOVE, Rule.Kind.PRICE_BELOW, Rule.Kind.PRICE_MOVE}
STATUSES = ("late", "stale", "down")
MAX_SECONDS = 7 * 86400
MAX_RULES = 500


def _decimal(value: object, name: str, errors: dict, *, low: str = "0",
             high: str | None = None) -> str | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[name] = "A decimal number (as a string, e.g. \"3000.5\")."
        return None
    if not number.is_finite() or number <= Decimal(low) or (high and number > Decimal(high)):
        errors[name] = f"Must be above {low}" + (f" and at most {high}." if high else ".")
        return None
    return str(number)


def _whole(value: object, name: str, errors: dict, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = f"A whole number from {low} to {high}."
        return None
    return value


def _clean_rule(organization: Organization, *, kind: str, scope: str, target: str,
                params: dict, for_seconds: int, resolve_after_seconds: int, severity: str,
                channels: Iterable[int]) -> dict:
    from apps.feeds.models import Feed, Pair
    from apps.protocols.models import Protocol

    errors: dict[str, str] = {}
    if kind not in Rule.Kind.values:
        errors["kind"] = f"One of: {', '.join(Rule.Kind.values)}."
    if scope not in Rule.Scope.values:
        errors["scope"] = f"One of: {', '.join(Rule.Scope.values)}."
    elif kind in PRICE_KINDS and scope not in (Rule.Scope.FEED, Rule.Scope.PAIR):
        errors["scope"] = "A price rule is about one feed or one pair."
    elif kind == Rule.Kind.CONSENSUS_UNAVAILABLE and scope not in (Rule.Scope.PAIR,
                                                                   Rule.Scope.ALL):
        errors["scope"] = "Consensus is a pair's: scope pair or all."
    lookups = {Rule.Scope.FEED: Feed.objects.filter(key=target),
               Rule.Scope.PAIR: Pair.objects.filter(slug=target),
               Rule.Scope.PROTOCOL: Protocol.objects.filter(slug=target)}
    if scope in lookups and not lookups[scope].exists():
        errors["target"] = f"No {scope} {target!r}."
    target = "" if scope == Rule.Scope.ALL else target
    cleaned: dict = {}
    params = params if isinstance(params, dict) else {}
    if kind == Rule.Kind.PRICE_MOVE:
        cleaned["percent"] = _decimal(params.get("percent"), "params.percent", errors,
                                      high="1000")
        cleaned["window_seconds"] = _whole(params.get("window_seconds", 3600),
                                           "params.window_seconds", errors, 60, 86400)
    elif kind in PRICE_KINDS:
        cleaned["price"] = _decimal(params.get("price"), "params.price", errors)
        if "hysteresis_bps" in params:
            cleaned["hysteresis_bps"] = _decimal(params["hysteresis_bps"],
                                                 "params.hysteresis_bps", errors, low="-1",
                                                 high="1000")
    elif kind == Rule.Kind.DEVIATION:
        if params.get("bps") is not None:  # else: twice each feed's own deviation band
            cleaned["bps"] = _decimal(params["bps"], "params.bps", errors, high="10000")
        if params.get("dynamic_k") is not None:
            cleaned["dynamic_k"] = _decimal(params["dynamic_k"], "params.dynamic_k", errors,
                                            high="20")
    elif kind == Rule.Kind.HEALTH_BELOW:
        cleaned["score"] = _whole(params.get("score"), "params.score", errors, 1, 100)
    elif kind == Rule.Kind.QUARANTINE:
        cleaned["count"] = _whole(params.get("count", 1), "params.count", errors, 1, 10_000)
        cleaned["window_seconds"] = _whole(params.get("window_seconds", 300),
                                           "params.window_seconds", errors, 60, 86400)
        reasons = params.get("reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) and r
                                                    for r in reasons):
            errors["params.reasons"] = "A list of reason codes, e.g. [\"bad_signature\"]."
        elif reasons:
            cleaned["reasons"] = reasons
    elif kind == Rule.Kind.STATUS:
        statuses = params.get("statuses", list(Rule.DEFAULT_STATUSES))
        if not isinstance(statuses, list) or not statuses or set(statuses) - set(STATUSES):
            errors["params.statuses"] = f"A non-empty list of: {', '.join(STATUSES)}."
        cleaned["statuses"] = statuses
    for name, value in (("for_seconds", for_seconds),
                        ("resolve_after_seconds", resolve_after_seconds)):
        if not isinstance(value, int) or not 0 <= value <= MAX_SECONDS:
            errors[name] = f"Whole seconds from 0 to {MAX_SECONDS}."
    if severity not in ("critical", "warning", "info"):
        errors["severity"] = "One of: critical, warning, info."
    channel_ids = list(channels)
    owned = set(Channel.objects.filter(organization=organization, pk__in=channel_ids)
                .values_list("pk", flat=True))
    if set(channel_ids) - owned:
        errors["channels"] = "Unknown channels."
    if errors:
        raise ValidationError(errors)
    return {"kind": kind, "scope": scope, "target": target, "params": cleaned,
            "for_seconds": for_seconds, "resolve_after_seconds": resolve_after_seconds,
            "severity": severity, "channels": sorted(owned)}


def create_rule(organization: Organization, *, name: str, kind: str, scope: str,
                target: str = "", params: dict | None = None, for_seconds: int = 0,
                resolve_after_seconds: int = 60, severity: str = "warning",
                channels: Iterable[int] = ()) -> Rule:
    if not name.strip():
        raise ValidationError({"name": "A rule needs a name."})
    if organization.alert_rules.count() >= MAX_RULES:
        raise ValidationError({"name": f"At most {MAX_RULES} rules per organization."})
    fields = _clean_rule(organization, kind=kind, scope=scope, target=target,
                         params=params or {}, for_seconds=for_seconds,
                         resolve_after_seconds=resolve_after_seconds, severity=severity,
                         channels=channels)
    channel_ids = fields.pop("channels")
    rule = Rule.objects.create(organization=organization, name=name.strip()[:100], **fields)
    rule.channels.set(channel_ids)
    return rule


def update_rule(rule: Rule, *, name: str, kind: str, scope: str, target: str = "",
                params: dict | None = None, for_seconds: int = 0,
                resolve_after_seconds: int = 60, severity: str = "warning",
                channels: Iterable[int] = (), enabled: bool = True) -> Rule:
    if not name.strip():
        raise ValidationError({"name": "A rule needs a name."})
    fields = _clean_rule(rule.organization, kind=kind, scope=scope, target=target,
                         params=params or {}, for_seconds=for_seconds,
                         resolve_after_seconds=resolve_after_seconds, severity=severity,
                         channels=channels)
    channel_ids = fields.pop("channels")
    changed = [what for what, before, after in (
        ("kind", rule.kind, fields["kind"]), ("scope", rule.scope, fields["scope"]),
        ("target", rule.target, fields["target"]), ("params", rule.params, fields["params"]),
    ) if before != after]
    reason = "rule disabled" if rule.enabled and not enabled else \
        f"rule changed ({', '.join(changed)})" if changed else None
    for field_name, value in fields.items():
        setattr(rule, field_name, value)
    rule.name, rule.enabled = name.strip()[:100], enabled
    with transaction.atomic():
        rule.save()
        rule.channels.set(channel_ids)
        if reason:
            _close_incidents(rule, reason)
    return rule


def _close_incidents(rule: Rule, reason: str, now: datetime | None = None) -> None:
    """A rule that no longer means what it did (or no longer runs) closes what it opened —
    otherwise those incidents would stay open forever — and starts its conditions afresh."""
    now = now or timezone.now()
    unresolved = list(rule.incidents.exclude(state=Incident.State.RESOLVED))
    for incident in unresolved:
        incident.state, incident.resolved_at = Incident.State.RESOLVED, now
    Incident.objects.bulk_update(unresolved, ["state", "resolved_at"])
    IncidentEvent.objects.bulk_create([IncidentEvent(incident=i, at=now, kind="resolved",
                                                     detail=reason) for i in unresolved])
    publish_many([(rule.organization_id, Event.ALERT_RESOLVED,
                   {"incident": i.pk, "state": i.state, "subject": i.subject,
                    "summary": f"{i.summary} — closed: {reason}", "value": i.value,
                    "severity": rule.severity,
                    "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind},
                    "opened_at": i.opened_at.isoformat(), "resolved_at": now.isoformat()},
                   None) for i in unresolved], now=now)
    rule.conditions.all().delete()


# --- incidents ----------------------------------------------------------------------------------

ACK_SALT = "alerts.acknowledge"
ACK_MAX_AGE = timedelta(days=7)


def ack_token(incident: Incident) -> str:
    """A token for the one-click acknowledge link in notifications (signed, expires)."""
    return signing_tokens.dumps({"incident": incident.pk}, salt=ACK_SALT, compress=True)


def incident_for_ack_token(token: str) -> Incident | None:
    try:
        data = signing_tokens.loads(token, salt=ACK_SALT,
                                    max_age=ACK_MAX_AGE.total_seconds())
    except signing_tokens.BadSignature:
        return None
    return Incident.objects.select_related("rule").filter(pk=data.get("incident")).first()


def acknowledge(incident: Incident, *, by: str, now: datetime | None = None) -> Incident:
    """Someone is on it: recorded on the timeline (escalation stops there)."""
    if incident.state != Incident.State.OPEN:
        return incident
    now = now or timezone.now()
    from . import notices

    with transaction.atomic():
        # Conditional: an evaluation may have resolved it since this copy was read.
        if not Incident.objects.filter(pk=incident.pk, state=Incident.State.OPEN).update(
                state=Incident.State.ACKNOWLEDGED, acknowledged_at=now):
            incident.refresh_from_db()
            return incident
        incident.state, incident.acknowledged_at = Incident.State.ACKNOWLEDGED, now
        IncidentEvent.objects.create(incident=incident, at=now, kind="acknowledged",
                                     detail=f"by {by}"[:300])
        notices.queue([incident], "acknowledged", now=now)  # PagerDuty stops paging
        transaction.on_commit(lambda: _deliver_soon([incident.pk]))
    return incident


def _deliver_soon(trigger_ids: list[int]) -> None:
    from apps.common.enqueue import enqueue

    from .tasks import deliver_now

    enqueue(deliver_now, trigger_ids)


# --- escalation, mutes, maintenance -------------------------------------------------------------

def set_escalation(rule: Rule, *, channels: Iterable[int], after_minutes: int) -> Rule:
    """Who is told when an incident stays unacknowledged for `after_minutes` (0: nobody)."""
    channel_ids = list(channels)
    errors = {}
    if not isinstance(after_minutes, int) or not 0 <= after_minutes <= 7 * 24 * 60:
        errors["after_minutes"] = "Whole minutes from 0 (never) to 10080 (a week)."
    owned = set(Channel.objects.filter(organization_id=rule.organization_id,
                                       pk__in=channel_ids).values_list("pk", flat=True))
    if set(channel_ids) - owned:
        errors["channels"] = "Unknown channels."
    if after_minutes and not channel_ids:
        errors["channels"] = "Escalating needs at least one channel."
    if errors:
        raise ValidationError(errors)
    rule.escalate_after_minutes = after_minutes
    rule.save(update_fields=["escalate_after_minutes"])
    rule.escalation_channels.set(owned)
    return rule


def mute_rule(rule: Rule, *, until: datetime | None, now: datetime | None = None) -> Rule:
    """Hold the rule's notifications back until `until` (None: unmute). Incidents still open
    and resolve, and their timelines say what was held back."""
    now = now or timezone.now()
    if until is not None and (until.utcoffset() is None or until <= now
                              or until - now > timedelta(days=90)):
        raise ValidationError({"until": "A time with a zone, in the next 90 days."})
    rule.muted_until = until
    rule.save(update_fields=["muted_until"])
    return rule


def create_maintenance_window(organization: Organization, *, starts_at: datetime,
                              ends_at: datetime, reason: str = "",
                              now: datetime | None = None) -> MaintenanceWindow:
    now = now or timezone.now()
    errors = {}
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.utcoffset() is None:
            errors[name] = "A time with a zone."
    if not errors and ends_at <= starts_at:
        errors["ends_at"] = "Must be after starts_at."
    if not errors and ends_at <= now:
        errors["ends_at"] = "Must be in the future."
    if not errors and ends_at - starts_at > timedelta(days=30):
        errors["ends_at"] = "A window lasts at most 30 days."
    if errors:
        raise ValidationError(errors)
    return MaintenanceWindow.objects.create(organization=organization, starts_at=starts_at,
                                            ends_at=ends_at, reason=reason.strip()[:200])
