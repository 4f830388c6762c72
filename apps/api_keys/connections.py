"""WebSocket API connections per organization, capped by the plan (`ws_connections`) and counted
in Redis so the cap holds across instances. Each connection is a member of a sorted set scored
by when it stops counting; live connections push that forward with every heartbeat, so a
crashed instance's connections fall out on their own instead of holding the cap forever."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import cast

import redis.asyncio
from django.conf import settings
from redis.commands.core import AsyncScript

LEASE_SECONDS = 90  # > 2 heartbeats: a live connection never lapses
PREFIX = "op:ws:org:"

# A renewal after the plan's cap went down: the connections past the cap, newest first, are
# told to close (their ids sort by when they connected: new_connection_id()).
RENEW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) == false then
  return 1
end
local cap = tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[1]) > cap then
  local members = redis.call('ZRANGE', KEYS[1], 0, -1)
  table.sort(members)
  for i = cap + 1, #members do
    if members[i] == ARGV[4] then
      redis.call('ZREM', KEYS[1], ARGV[4])
      return 0
    end
  end
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[4])
return 1
"""


def new_connection_id() -> str:
    """A connection's id: when it connected (so ids sort oldest first), then a random part."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"

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
        self._renew: AsyncScript | None = None

    def _client(self) -> redis.asyncio.Redis:
        # An asyncio Redis pool belongs to the loop it was made on (one per server process).
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._loop = loop
            self._redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
            self._acquire = self._redis.register_script(ACQUIRE)
            self._renew = self._redis.register_script(RENEW)
        return self._redis

    def _script(self, name: str) -> AsyncScript:
        self._client()
        # _client() registered the scripts with the pool it made; none is None from then on.
        return cast(AsyncScript, getattr(self, name))

    async def acquire(self, organization_id: int, connection: str, cap: int) -> bool:
        now = time.time()
        if settings.REDIS_URL:
            return bool(await self._script("_acquire")(
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

    async def renew(self, organization_id: int, connection: str, cap: int) -> bool:
        """Keep the slot for another lease; False when the plan's cap went down below the
        organization's connections and this one is among the newest past it (slot freed:
        the caller closes the connection)."""
        now = time.time()
        if settings.REDIS_URL:
            return bool(await self._script("_renew")(
                keys=[f"{PREFIX}{organization_id}"],
                args=[now, now + LEASE_SECONDS, cap, connection]))
        with self.lock:
            slots = {c: t for c, t in self.local.get(str(organization_id), {}).items()
                     if t > now}
            self.local[str(organization_id)] = slots
            if connection not in slots:
                return True
            if connection in sorted(slots)[cap:]:
                del slots[connection]
                return False
            slots[connection] = now + LEASE_SECONDS
            return True

    async def release(self, organization_id: int, connection: str) -> None:
        if settings.REDIS_URL:
            await self._client().zrem(f"{PREFIX}{organization_id}", connection)
            return
        with self.lock:
            self.local.get(str(organization_id), {}).pop(connection, None)


slots = ConnectionSlots()
