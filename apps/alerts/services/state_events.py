"""Webhook events derived from the pairs' states: `price.updated` when a pair's consensus
changes (for endpoints subscribed to that pair) and `feed.status_changed` when a feed's status
does. Each is found by comparing the new state with the last one announced (PublishedState),
and the event and the new PublishedState are written in one transaction — so an evaluation
lost before its commit is made up by the next one, which still sees the difference.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.alerts.models import Event, PublishedState, WebhookEndpoint, WebhookMessage

from .webhooks import publish_many


def publish_changes(states: Iterable[dict], *, now: datetime | None = None
                    ) -> list[WebhookMessage]:
    now = now or timezone.now()
    states = list(states)
    subscribed = _subscriptions()
    if not subscribed:
        return []
    wanted: dict[tuple[str, str], tuple[str, dict, str | None]] = {}  # (kind, key) -> event
    price_pairs = subscribed.get(Event.PRICE_UPDATED, set())
    for state in states:
        if state["pair"] in price_pairs and state["consensus"] is not None:
            wanted[(PublishedState.Kind.PAIR_PRICE, state["pair"])] = (
                state["consensus"], {"pair": state["pair"], "price": state["consensus"],
                                     "votes": state["votes"],
                                     "computed_at": state["computed_at"]}, state["pair"])
        if Event.FEED_STATUS_CHANGED in subscribed:
            for row in state["feeds"]:
                if row["converted_from"] is None:
                    wanted[(PublishedState.Kind.FEED_STATUS, row["key"])] = (
                        row["status"], {"feed": row["key"], "pair": state["pair"],
                                        "protocol": row["protocol"], "status": row["status"],
                                        "reason": row["reason"]}, None)
    if not wanted:
        return []
    with transaction.atomic():
        known = {(p.kind, p.key): p for p in PublishedState.objects.select_for_update().filter(
            kind__in={k for k, _ in wanted}, key__in={key for _, key in wanted})}
        events: list[tuple[int, str, dict, str | None]] = []
        changed: list[PublishedState] = []
        created: list[PublishedState] = []
        for (kind, key), (value, data, pair) in wanted.items():
            last = known.get((kind, key))
            if last is not None and last.value == value:
                continue
            if last is None:
                created.append(PublishedState(kind=kind, key=key, value=value, updated_at=now))
                if kind == PublishedState.Kind.FEED_STATUS:
                    continue  # the first status seen is a baseline, not a change
            else:
                if kind == PublishedState.Kind.FEED_STATUS:
                    data = {**data, "previous": last.value}
                last.value, last.updated_at = value, now
                changed.append(last)
            event_type = Event.PRICE_UPDATED if kind == PublishedState.Kind.PAIR_PRICE \
                else Event.FEED_STATUS_CHANGED
            events.extend((org, event_type, data, pair) for org in subscribed["orgs"][event_type])
        PublishedState.objects.bulk_create(created)
        PublishedState.objects.bulk_update(changed, ["value", "updated_at"])
        return publish_many(events, now=now)


def _subscriptions() -> dict:
    """Which organizations listen to which derived events (and, for prices, which pairs)."""
    result: dict = {"orgs": {Event.PRICE_UPDATED: set(), Event.FEED_STATUS_CHANGED: set()}}
    endpoints = WebhookEndpoint.objects.filter(enabled=True, paused_reason="")
    for org_id, events, pairs in endpoints.values_list("organization_id", "events", "pairs"):
        if Event.PRICE_UPDATED in events and pairs:
            result.setdefault(Event.PRICE_UPDATED, set()).update(pairs)
            result["orgs"][Event.PRICE_UPDATED].add(org_id)
        if Event.FEED_STATUS_CHANGED in events:
            result[Event.FEED_STATUS_CHANGED] = True
            result["orgs"][Event.FEED_STATUS_CHANGED].add(org_id)
    return result if len(result) > 1 else {}
