"""Usage counting: calls per key per day are counted by the throttle's script; response bytes are
known only after the response, so each process buffers them and the next throttle call carries
them to Redis (no extra round trip). `flush_usage` moves the counters into ApiUsage in bulk."""
from __future__ import annotations

import threading
import time

USAGE_PREFIX = "op:usage:"  # + YYYY-MM-DD: hash of "<key id>:calls" / "<key id>:bytes"
LAST_USED_KEY = "op:apikey:last_used"  # hash of key id -> "<unix seconds> <ip>"

DayKey = tuple[str, int]  # (UTC day, key id)


def utc_day(unix_seconds: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(unix_seconds))


class UsageBuffer:
    """Response bytes per (day, key) not yet reported; thread-safe."""

    def __init__(self) -> None:
        self.pending: dict[DayKey, int] = {}
        self.lock = threading.Lock()

    def add(self, key_id: int, size: int, now: float | None = None) -> None:
        day = utc_day(time.time() if now is None else now)
        with self.lock:
            self.pending[(day, key_id)] = self.pending.get((day, key_id), 0) + size

    def drain(self) -> dict[DayKey, int]:
        with self.lock:
            pending, self.pending = self.pending, {}
        return pending

    def restore(self, pending: dict[DayKey, int]) -> None:
        with self.lock:
            for day_key, size in pending.items():
                self.pending[day_key] = self.pending.get(day_key, 0) + size
