"""Long-lived sources: the Pyth Hermes SSE stream, the low-latency path for Pyth.

`PythStream.run()` keeps one stream open for every enabled Pyth feed, stores each event as it
comes (verified, validated, like a tick), and on any disconnect — Hermes drops streams after
24 h — reconnects with exponential backoff and jitter, then backfills the gap second by second
from /v2/updates/price/{publish_time}, so no published update is lost. `manage.py stream
pyth` runs it in production; `manage.py serve` runs it in a thread.
"""
import logging
import random
import threading
import time
from collections.abc import Iterator

import requests
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from apps.feeds.models import Feed

from .adapters.base import AdapterError
from .adapters.http import loads
from .adapters.pyth import PythHermesAdapter
from .sync import ingest, is_paused, protocol_feeds

logger = logging.getLogger(__name__)


def sse_events(response: requests.Response) -> Iterator[str]:
    """The `data:` payloads of a server-sent-event stream (comments and keep-alives skipped)."""
    data: list[str] = []
    for line in response.iter_lines(decode_unicode=True):
        if line is None:
            continue
        if isinstance(line, bytes):  # requests had no encoding to decode with; SSE is UTF-8
            line = line.decode("utf-8", "replace")
        if line == "":
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        yield "\n".join(data)


class PythStream:
    protocol = "pyth"

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.adapter = PythHermesAdapter()
        self.stop = stop or threading.Event()
        self.last_publish_time: int | None = None
        self.reconnects = 0

    def run(self) -> None:
        attempt = 0
        while not self.stop.is_set():
            feeds = [f for f in protocol_feeds(self.protocol) if len(f.feed_id) >= 64]
            if not feeds:
                self.stop.wait(5)
                continue
            try:
                self.backfill(feeds)
                self.listen(feeds)
                attempt = 0  # the stream ended cleanly (the server cut it): reconnect at once
            except (AdapterError, requests.RequestException, ValueError) as error:
                delay = min(settings.OP_STREAM_MAX_BACKOFF, 0.5 * 2**attempt)
                delay *= 0.5 + random.random()  # jitter: all clients must not return at once
                logger.warning("pyth stream: %s; reconnecting in %.1fs", error, delay)
                attempt += 1
                self.stop.wait(delay)
            finally:
                close_old_connections()
            self.reconnects += 1

    def listen(self, feeds: list[Feed]) -> None:
        client = self.adapter.client()
        response = client.get("/v2/updates/price/stream", self.adapter.query(feeds), stream=True,
                              timeout=settings.OP_STREAM_READ_TIMEOUT)
        with response:
            logger.info("pyth stream connected for %d feeds", len(feeds))
            for payload in sse_events(response):
                if self.stop.is_set():
                    return
                self.store(loads(payload), feeds)

    def backfill(self, feeds: list[Feed]) -> None:
        """Fetch every second missed since the last event, up to OP_STREAM_BACKFILL_SECONDS."""
        if self.last_publish_time is None:
            return
        now = int(time.time())
        first = max(self.last_publish_time + 1, now - settings.OP_STREAM_BACKFILL_SECONDS)
        client = self.adapter.client()
        for second in range(first, now + 1):
            body = client.get_json(f"/v2/updates/price/{second}", self.adapter.query(feeds))
            self.store(body, feeds, historical=True)
        if now >= first:
            logger.info("pyth stream: backfilled %d s of updates", now - first + 1)

    def store(self, body: dict, feeds: list[Feed], *, historical: bool = False) -> None:
        if is_paused():
            return  # missed seconds are backfilled after a reconnect, like any gap
        started, started_at = time.monotonic(), timezone.now()
        result = self.adapter.from_update(body, feeds, now=started_at, historical=historical)
        ingest(self.protocol, feeds, result, started=started, started_at=started_at)
        for obs in result.observations:
            seconds = int(obs.source_ts.timestamp())
            if self.last_publish_time is None or seconds > self.last_publish_time:
                self.last_publish_time = seconds


STREAMS: dict[str, type[PythStream]] = {PythStream.protocol: PythStream}


def start_streams(names: list[str], stop: threading.Event) -> list[threading.Thread]:
    """Run the named streams in daemon threads (the one-process `serve`)."""
    threads = []
    for name in names:
        stream = STREAMS[name](stop)
        thread = threading.Thread(target=stream.run, daemon=True, name=f"stream:{name}")
        thread.start()
        threads.append(thread)
    return threads
