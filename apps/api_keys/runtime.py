"""This process's throttle (Redis when REDIS_URL is set, else in memory), its unreported
response bytes, and the key cache — the per-process state of the API path."""
from __future__ import annotations

from django.conf import settings

from .principal import key_cache
from .throttle import REVOKED_PREFIX, LocalThrottle, RedisThrottle
from .usage import LAST_USED_KEY, USAGE_PREFIX, DayKey, UsageBuffer

buffer = UsageBuffer()
_throttle: RedisThrottle | LocalThrottle | None = None

Usage = dict[DayKey, tuple[int, int]]  # (day, key id) -> (calls, response bytes)


def throttle() -> RedisThrottle | LocalThrottle:
    global _throttle
    if _throttle is None:
        _throttle = RedisThrottle(settings.REDIS_URL, buffer) if settings.REDIS_URL \
            else LocalThrottle(buffer)
    return _throttle


def reset() -> None:
    """Forget every per-process state (tests; a settings change)."""
    global _throttle
    _throttle = None
    buffer.drain()
    key_cache.clear()


def record_bytes(key_id: int, size: int) -> None:
    buffer.add(key_id, size)


def forget_key(key_id: int, *, revoked: bool) -> None:
    """Drop the key from this process's cache and, when revoked, refuse it on every instance
    until their caches have expired too."""
    key_cache.forget(key_id)
    if not revoked:
        return
    seconds = int(settings.OP_API_KEY_CACHE_SECONDS) + 5
    current = throttle()
    if isinstance(current, RedisThrottle):
        current.client.set(f"{REVOKED_PREFIX}{key_id}", 1, ex=seconds)
    else:
        current.revoke(key_id, seconds)


def take_usage() -> tuple[Usage, dict[int, str]]:
    """Counters since the last call, removed from where they were counted."""
    current = throttle()
    if isinstance(current, LocalThrottle):
        return current.take_usage()
    client = current.client
    usage: Usage = {}
    for name in client.scan_iter(match=f"{USAGE_PREFIX}*", count=500):
        with client.pipeline(transaction=True) as pipe:
            fields, _ = pipe.hgetall(name).delete(name).execute()
        day = name.decode().removeprefix(USAGE_PREFIX)
        for field, value in fields.items():
            key_id, _, kind = field.decode().partition(":")
            calls, size = usage.get((day, int(key_id)), (0, 0))
            usage[(day, int(key_id))] = (calls + int(value), size) if kind == "calls" \
                else (calls, size + int(value))
    with client.pipeline(transaction=True) as pipe:
        last, _ = pipe.hgetall(LAST_USED_KEY).delete(LAST_USED_KEY).execute()
    return usage, {int(k): v.decode() for k, v in last.items()}


def restore_usage(usage: Usage, last_used: dict[int, str]) -> None:
    """Put counters back after a failed flush, so the next flush reports them."""
    current = throttle()
    if isinstance(current, LocalThrottle):
        current.restore_usage(usage, last_used)
        return
    with current.client.pipeline(transaction=True) as pipe:
        for (day, key_id), (calls, size) in usage.items():
            pipe.hincrby(f"{USAGE_PREFIX}{day}", f"{key_id}:calls", calls)
            pipe.hincrby(f"{USAGE_PREFIX}{day}", f"{key_id}:bytes", size)
        if last_used:
            pipe.hset(LAST_USED_KEY, mapping={str(k): v for k, v in last_used.items()})
        pipe.execute()
