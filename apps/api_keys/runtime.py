"""This process's throttle (Redis when REDIS_URL is set, else in memory), its unreported
response bytes, and the key cache — the per-process state of the API path."""
from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from .principal import key_cache
from .throttle import LocalThrottle, RedisThrottle, plan_fields
from .usage import HourKey, UsageBuffer

buffer = UsageBuffer()
_throttle: RedisThrottle | LocalThrottle | None = None

Usage = dict[HourKey, tuple[int, int]]  # (hour, key id) -> (calls, response bytes)


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
    if revoked:
        throttle().revoke(key_id, int(settings.OP_API_KEY_CACHE_SECONDS) + 5)


def publish_plan(organization_id: int, plan: str, paused_keys: Iterable[int] = ()) -> None:
    """The organization's limits (and paused keys) for the throttle, from its next request on
    every instance."""
    throttle().publish_plan(organization_id, plan_fields(plan, paused_keys))


def take_usage() -> tuple[Usage, dict[int, str]]:
    """Counters since the last call, removed from where they were counted."""
    return throttle().take_usage()


def restore_usage(usage: Usage, last_used: dict[int, str]) -> None:
    """Put counters back after a failed flush, so the next flush reports them."""
    throttle().restore_usage(usage, last_used)
