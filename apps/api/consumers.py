"""`/ws/v1/prices`: the WebSocket API for key holders.

Connect with the key (`?api_key=…`, or `Authorization: Bearer …` / `X-API-Key` where the client
can set headers), then send `{"action": "subscribe", "pairs": ["ETH-USD"], "feeds": [...]}` or
`{"action": "unsubscribe", ...}`. Each subscription first gets a `snapshot` (the pair's state as
`GET /api/v1/pairs/<slug>/latest` gives it, or the feed's row), then a `delta` whenever it
changes: for a pair its consensus, status and only the feed rows that changed; for a feed its row.
A row "changes" when anything but its age does (clients age rows from `source_ts`); a
recomputation that changed nothing sends nothing. `heartbeat` frames come every
OP_WS_HEARTBEAT_SECONDS; bad messages get an `error` frame and the connection stays open.
Connections per organization are capped by the plan (counted in Redis across instances).
"""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from apps.api_keys.connections import new_connection_id, slots
from apps.api_keys.middleware import paused_message
from apps.api_keys.models import ApiKey
from apps.api_keys.principal import Principal, from_key, refreshed
from apps.billing.plans import get_plan
from apps.feeds.live import api_pair_group
from apps.feeds.models import Feed, Pair
from apps.feeds.pair_state import feed_row, pair_states, public_state

MAX_SUBSCRIPTIONS = 200
MESSAGES_PER_WINDOW, MESSAGE_WINDOW = 20, 10.0  # client messages per connection per seconds
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_MANY = 4429


UNLIMITED_CONNECTIONS = 1_000_000


def _cap(plan: str) -> int:
    allowed = get_plan(plan).limits.ws_connections
    return UNLIMITED_CONNECTIONS if allowed is None else allowed


def _fresh_principal(raw: str) -> Principal | None:
    principal = from_key(raw)
    return refreshed(principal) if principal is not None else None


class PriceStreamConsumer(AsyncWebsocketConsumer):
    principal: Principal | None = None

    async def connect(self) -> None:
        self.joined: set[int] = set()  # pair ids whose group this connection is in
        self.sent: dict[str, dict] = {}  # pair slug / feed key -> what the client was last sent
        self.principal = await database_sync_to_async(_fresh_principal)(self._presented_key())
        await self.accept()
        if self.principal is None:
            await self._error("invalid_key", "Send a valid API key: ?api_key=… or an "
                              "Authorization: Bearer header.")
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if self.principal.paused_reason:
            await self._error("key_paused", paused_message(self.principal.tier))
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.connection_id: str | None = new_connection_id()
        cap = _cap(self.principal.tier)
        if not await slots.acquire(self.principal.organization_id, self.connection_id, cap):
            self.connection_id = None
            await self._error("too_many_connections", f"Your plan allows {cap} concurrent "
                              "WebSocket connections per organization.", {"limit": cap})
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.pairs: dict[str, int] = {}  # slug -> pair id
        self.feeds: dict[str, int] = {}  # feed key -> pair id
        self.heartbeat = asyncio.create_task(self._beat(self.principal, self.connection_id))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "heartbeat", None):
            self.heartbeat.cancel()
        for pair_id in self.joined:
            await self.channel_layer.group_discard(api_pair_group(pair_id), self.channel_name)
        connection_id = getattr(self, "connection_id", None)
        if self.principal is not None and connection_id:
            await slots.release(self.principal.organization_id, connection_id)

    async def _beat(self, principal: Principal, connection_id: str) -> None:
        while True:
            await asyncio.sleep(settings.OP_WS_HEARTBEAT_SECONDS)
            key = await self._key_now(principal.key_id)
            if key is None or not key.usable():  # revoked or expired since
                await self._error("invalid_key", "The API key was revoked or has expired.")
                await self.close(code=CLOSE_UNAUTHORIZED)
                return
            plan = key.organization.plan
            if key.paused_reason:  # a plan change paused the key since
                await self._error("key_paused", paused_message(plan))
                await self.close(code=CLOSE_UNAUTHORIZED)
                return
            cap = _cap(plan)
            if not await slots.renew(principal.organization_id, connection_id, cap):
                # The plan went down: the newest connections past its cap close.
                self.connection_id = None  # the slot is freed already
                await self._error("too_many_connections", f"The plan now allows {cap} "
                                  "concurrent WebSocket connections per organization; the "
                                  "newest close.", {"limit": cap})
                await self.close(code=CLOSE_TOO_MANY)
                return
            await self.send(text_data=json.dumps({"type": "heartbeat",
                                                  "time": timezone.now().isoformat()}))

    @database_sync_to_async
    def _key_now(self, key_id: int | None) -> ApiKey | None:
        """The key and its organization's plan as they are now (a heartbeat re-reads both)."""
        if key_id is None:  # never for a key's principal (and no row has a null id)
            return None
        return ApiKey.objects.select_related("organization").filter(pk=key_id).first()

    def _presented_key(self) -> str:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        if query.get("api_key"):
            return query["api_key"][0]
        headers = dict(self.scope.get("headers", []))
        auth = headers.get(b"authorization", b"").decode()
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return headers.get(b"x-api-key", b"").decode().strip()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None
                      ) -> None:
        # Each subscribe reads states: a client may not send them without bound.
        now = time.monotonic()
        self.recent = [t for t in getattr(self, "recent", []) if now - t < MESSAGE_WINDOW]
        if len(self.recent) >= MESSAGES_PER_WINDOW:
            await self._error("rate_limited", f"At most {MESSAGES_PER_WINDOW} messages per "
                              f"{MESSAGE_WINDOW:g} s per connection.",
                              {"retry_after": round(MESSAGE_WINDOW - (now - self.recent[0]), 1)})
            return
        self.recent.append(now)
        try:
            message = json.loads(text_data or "")
        except ValueError:
            await self._error("bad_json", "Messages are JSON objects.")
            return
        action = message.get("action") if isinstance(message, dict) else None
        if action not in ("subscribe", "unsubscribe"):
            await self._error("unknown_action", 'Send {"action": "subscribe" | "unsubscribe", '
                              '"pairs": [...], "feeds": [...]}.')
            return
        pairs, feeds = message.get("pairs", []), message.get("feeds", [])
        if not (isinstance(pairs, list) and isinstance(feeds, list)
                and all(isinstance(x, str) for x in [*pairs, *feeds])):
            await self._error("bad_request", "`pairs` and `feeds` are lists of strings.")
            return
        if action == "unsubscribe":
            await self._unsubscribe(pairs, feeds)
            return
        if len(self.pairs) + len(self.feeds) + len(pairs) + len(feeds) > MAX_SUBSCRIPTIONS:
            await self._error("too_many_subscriptions",
                              f"At most {MAX_SUBSCRIPTIONS} subscriptions per connection.")
            return
        found_pairs, found_feeds, states = await self._resolve(pairs, feeds)
        unknown = sorted({*pairs} - found_pairs.keys()) + sorted({*feeds} - found_feeds.keys())
        if unknown:
            await self._error("unknown_subscription", "No such pairs or feeds.",
                              {"unknown": unknown})
        for slug, pair_id in found_pairs.items():
            await self._join(pair_id)
            self.pairs[slug] = pair_id
            snapshot = public_state(states[pair_id])
            self._remember(snapshot)
            await self._send("snapshot", pair=slug, state=snapshot)
        for key, pair_id in found_feeds.items():
            await self._join(pair_id)
            self.feeds[key] = pair_id
            row = next((feed_row(r) for r in states[pair_id]["feeds"] if r["key"] == key), None)
            if row is not None:
                self.sent[key] = _comparable(row)
            await self._send("snapshot", feed=key, state=row)

    async def _unsubscribe(self, pairs: list[str], feeds: list[str]) -> None:
        for slug in pairs:
            self.pairs.pop(slug, None)
        for key in feeds:
            self.feeds.pop(key, None)
        wanted = {*self.pairs.values(), *self.feeds.values()}
        for pair_id in set(self.joined) - wanted:
            await self.channel_layer.group_discard(api_pair_group(pair_id), self.channel_name)
            self.joined.discard(pair_id)
        await self._send("unsubscribed", pairs=pairs, feeds=feeds)

    async def _join(self, pair_id: int) -> None:
        if pair_id not in self.joined:
            await self.channel_layer.group_add(api_pair_group(pair_id), self.channel_name)
            self.joined.add(pair_id)

    @database_sync_to_async
    def _resolve(self, pairs: list[str], feeds: list[str]
                 ) -> tuple[dict[str, int], dict[str, int], dict[int, dict]]:
        found_pairs = dict(Pair.objects.filter(slug__in=pairs).values_list("slug", "pk"))
        found_feeds = dict(Feed.objects.filter(key__in=feeds, enabled=True)
                           .values_list("key", "pair_id"))
        pair_ids = {*found_pairs.values(), *found_feeds.values()}
        states = pair_states(list(Pair.objects.filter(pk__in=pair_ids))) if pair_ids else {}
        return found_pairs, found_feeds, states

    async def api_state(self, event: dict) -> None:
        """A pair's new state from live.py, already in its public shape: send what changed
        since what this connection last sent."""
        state = event["state"]
        changed = [row for row in state["feeds"] if self._changed(row)]
        for row in changed:
            self.sent[row["feed"]] = _comparable(row)
        if state["pair"] in self.pairs:
            head = {k: state[k] for k in ("status", "consensus")}
            if changed or head != self.sent.get(state["pair"]):
                self.sent[state["pair"]] = head
                await self._send("delta", pair=state["pair"], computed_at=state["computed_at"],
                                 **head, feeds=changed)
        for row in changed:
            if row["feed"] in self.feeds:
                await self._send("delta", feed=row["feed"], state=row)

    def _changed(self, row: dict) -> bool:
        return self.sent.get(row["feed"]) != _comparable(row)

    def _remember(self, state: dict) -> None:
        """What a snapshot told the client: later deltas are relative to it."""
        self.sent[state["pair"]] = {k: state[k] for k in ("status", "consensus")}
        for row in state["feeds"]:
            self.sent[row["feed"]] = _comparable(row)

    async def _send(self, kind: str, **fields) -> None:
        await self.send(text_data=json.dumps({"type": kind, **fields}))

    async def _error(self, code: str, message: str, details: dict | None = None) -> None:
        await self._send("error", code=code, message=message, details=details or {})


def _comparable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "age_seconds"}
