"""`/ws/live/`: the dashboard's live channel (logged-in users).

The browser subscribes to the overview or to one pair, gets a snapshot, then every change.
Each user may hold OP_WS_MAX_CONNECTIONS_PER_USER connections (counted in the cache, so across
instances when it is Redis). A client too slow to read is not buffered without bound: the
channel layer's per-channel capacity drops what it cannot hold, and the client resyncs from
the snapshot after a gap (every message carries `computed_at`).
"""
import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.cache import cache

from apps.feeds import live
from apps.feeds.live import OVERVIEW, pair_group
from apps.feeds.models import Pair
from apps.feeds.pair_state import pair_states

# Channel-layer events from live.py: a published state to forward, no database access.
PUSHES = frozenset({"pair.state", "overview.state"})


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        live.server_loop = asyncio.get_running_loop()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.counter: str | None = f"ws:connections:{user.pk}"
        await cache.aadd(self.counter, 0, timeout=3600)
        if await cache.aincr(self.counter) > settings.OP_WS_MAX_CONNECTIONS_PER_USER:
            await cache.adecr(self.counter)
            self.counter = None
            await self.close(code=4429)
            return
        self.groups_joined: set[str] = set()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        counter = getattr(self, "counter", None)
        if counter:
            await cache.adecr(counter)

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every handler, one hop to its
        # single sync thread each: a pair's 1,000 open pages queued 1,000 hops behind that one
        # thread per update. Pushes never touch the database, so they go straight through.
        if message["type"] in PUSHES:
            await self.send(text_data=message["text"])  # encoded once, by live.py
            return
        await super().dispatch(message)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("subscribe") not in ("overview", "pair"):
            await self.send_json({"type": "error", "message":
                                  'send {"subscribe": "overview"} or '
                                  '{"subscribe": "pair", "pair": "ETH-USD"}'})
            return
        if content["subscribe"] == "overview":
            await self._join(OVERVIEW)
            await self.send_json({"type": "subscribed", "to": "overview"})
            return
        snapshot = await self._pair_state(str(content.get("pair", "")))
        if snapshot is None:
            await self.send_json({"type": "error", "message": "no such pair"})
            return
        pair_id, state = snapshot
        await self._join(pair_group(pair_id))
        await self.send_json({"type": "snapshot", "state": state})

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    @database_sync_to_async
    def _pair_state(self, slug: str) -> tuple[int, dict] | None:
        pair = Pair.objects.filter(slug=slug).first()
        return None if pair is None else (pair.pk, pair_states([pair])[pair.pk])
