"""`/ws/v1/status`: the public WebSocket the availability probe calls. It accepts, answers one
`{"action": "ping"}` with `{"type": "pong"}` once the same checks as `GET /api/v1/status` pass
and a message has made a round trip through the channel layer (the live fan-out's path), then
closes. A connection that sends nothing is closed after IDLE_SECONDS."""
from __future__ import annotations

import asyncio
import json

import redis
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError
from django.utils import timezone

from . import selectors

IDLE_SECONDS = 10.0
CLOSE_UNAVAILABLE = 1011  # RFC 6455: the server met a condition that kept it from answering


class StatusProbeConsumer(AsyncWebsocketConsumer):
    idle: asyncio.Task | None = None

    async def connect(self) -> None:
        await self.accept()
        self.idle = asyncio.create_task(self._close_when_idle())

    async def _close_when_idle(self) -> None:
        await asyncio.sleep(IDLE_SECONDS)
        await self.close()

    async def disconnect(self, code: int) -> None:
        if self.idle is not None:
            self.idle.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None
                      ) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if not isinstance(message, dict) or message.get("action") != "ping":
            await self._send("error", code="unknown_action", message='Send {"action": "ping"}.')
            return
        try:
            await database_sync_to_async(selectors.service_check)()
        except (DatabaseError, redis.RedisError):
            await self._send("error", code="unavailable",
                             message="The service cannot reach its database or cache.")
            await self.close(code=CLOSE_UNAVAILABLE)
            return
        await self.channel_layer.send(self.channel_name, {"type": "probe.echo"})

    async def probe_echo(self, event: dict) -> None:
        """The round trip through the channel layer came back: answer and close."""
        await self._send("pong", time=timezone.now().isoformat())
        await self.close()

    async def _send(self, kind: str, **fields: str) -> None:
        await self.send(text_data=json.dumps({"type": kind, **fields}))
