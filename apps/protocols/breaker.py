"""A circuit breaker per (protocol, chain), kept in the cache so that every worker shares it.

closed → open after OP_BREAKER_FAILURES consecutive failed runs; open → half-open once
OP_BREAKER_COOLDOWN seconds have passed (one trial run is let through); a successful trial
closes it, a failed one opens it again. Only transient failures count: a misconfigured feed
is not the source being down.
"""
import time
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    def __init__(self, protocol: str, chain: str | None) -> None:
        self.key = f"breaker:{protocol}:{chain or 'offchain'}"

    def _load(self) -> dict:
        return cache.get(self.key) or {"state": State.CLOSED, "failures": 0, "opened_at": 0.0}

    def state(self, now: float | None = None) -> State:
        data = self._load()
        now = time.time() if now is None else now
        if data["state"] == State.OPEN and now - data["opened_at"] >= settings.OP_BREAKER_COOLDOWN:
            return State.HALF_OPEN
        return State(data["state"])

    def allow(self, now: float | None = None) -> bool:
        return self.state(now) != State.OPEN

    def record(self, *, success: bool, now: float | None = None) -> State:
        now = time.time() if now is None else now
        data = self._load()
        if success:
            data = {"state": State.CLOSED, "failures": 0, "opened_at": 0.0}
        else:
            data["failures"] += 1
            half_open = self.state(now) == State.HALF_OPEN
            if half_open or data["failures"] >= settings.OP_BREAKER_FAILURES:
                data.update(state=State.OPEN, opened_at=now)
        cache.set(self.key, data, timeout=None)
        return self.state(now)
