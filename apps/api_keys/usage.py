"""Usage counting: calls per key per UTC hour are counted by the throttle's script; response
bytes are known only after the response, so each process buffers them and the next throttle call
carries them to Redis (no extra round trip). `flush_usage` moves the counters into ApiUsage in
bulk."""
from __future__ import annotations

import threading
import time

USAGE_PREFIX = "op:usage:"  # + YYYY-MM-DDTHH: hash of "<key id>:calls" / "<key id>:bytes"
LAST_USED_KEY = "op:apikey:last_used"  # hash of key id -> "<unix seconds> <ip>"

HourKey = tuple[str, int]  # (UTC hour as YYYY-MM-DDTHH, key id)


def utc_hour(unix_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H", time.gmtime(unix_seconds))


class UsageBuffer:
    """Response bytes per (hour, key) not yet reported; thread-safe."""

    def __init__(self) -> None:
        self.pending: dict[HourKey, int] = {}
        self.lock = threading.Lock()

    def add(self, key_id: int, size: int, now: float | None = None) -> None:
        hour = utc_hour(time.time() if now is None else now)
        with self.lock:
            self.pending[(hour, key_id)] = self.pending.get((hour, key_id), 0) + size

    def drain(self) -> dict[HourKey, int]:
        with self.lock:
            pending, self.pending = self.pending, {}
        return pending

    def restore(self, pending: dict[HourKey, int]) -> None:
        with self.lock:
            for hour_key, size in pending.items():
                self.pending[hour_key] = self.pending.get(hour_key, 0) + size
