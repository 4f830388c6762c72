"""WebSocket API connections per organization, capped by the plan (`ws_connections`) and counted
in Redis so the cap holds across instances. Each connection is a member of a sorted set scored
by when it stops counting; live connections push that forward with every heartbeat, so a
crashed instance's connections fall out on their own instead of holding the cap forever."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import cast

import redis.asyncio
from django.conf import settings
from redis.commands.core import AsyncScript

LEASE_SECONDS = 90  # > 2 heartbeats: a live connection never lapses
PREFIX = "op:ws:org:"

ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class ConnectionSlots:
    """acquire / renew / release a connection slot; Redis when configured, else memory."""

    def __init__(self) -> None:
        self.local: dict[str, dict[str, float]] = {}
        self.lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redis: redis.asyncio.Redis | None = None
        self._acquire: AsyncScript | None = None

    def _client(self) -> redis.asyncio.Redis:
        # An asyncio Redis pool belongs to the loop it was made on (one per server process).
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._loop = loop
            self._redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
            self._acquire = self._redis.register_script(ACQUIRE)
        return self._redis

    def _acquire_script(self) -> AsyncScript:
        self._client()
        # _client() registered the script with the pool it made; neither is None from then on.
        return cast(AsyncScript, self._acquire)

    async def acquire(self, organization_id: int, connection: str, cap: int) -> bool:
        now = time.time()
        if settings.REDIS_URL:
            return bool(await self._acquire_script()(
                keys=[f"{PREFIX}{organization_id}"],
                args=[now, now + LEASE_SECONDS, cap, connection, LEASE_SECONDS * 2]))
        with self.lock:
            slots = {c: t for c, t in self.local.get(str(organization_id), {}).items()
                     if t > now}
            if len(slots) >= cap:
                return False
            slots[connection] = now + LEASE_SECONDS
            self.local[str(organization_id)] = slots
            return True

    async def renew(self, organization_id: int, connection: str) -> None:
        until = time.time() + LEASE_SECONDS
        if settings.REDIS_URL:
            await self._client().zadd(f"{PREFIX}{organization_id}", {connection: until}, xx=True)
            return
        with self.lock:
            if connection in self.local.get(str(organization_id), {}):
                self.local[str(organization_id)][connection] = until

    async def release(self, organization_id: int, connection: str) -> None:
        if settings.REDIS_URL:
            await self._client().zrem(f"{PREFIX}{organization_id}", connection)
            return
        with self.lock:
            self.local.get(str(organization_id), {}).pop(connection, None)


slots = ConnectionSlots()
