"""Rate limits: sliding-window counters per key and per organization, decided in one Redis
round trip (an atomic Lua script) shared by every instance, or in process memory without Redis.

The same script also answers "was this key revoked in the last few seconds?" (instances trust
their local key cache for OP_API_KEY_CACHE_SECONDS) and counts the call, the caller's address and
any response bytes this process has not reported yet — so an API request costs exactly one round
trip. Each window is a fixed bucket plus the previous bucket weighted by how much of it still
overlaps the window (Cloudflare's sliding-window counter): O(1) memory per subject, never more
than the quota in a clock-aligned window and close to an exact log on real traffic (a burst
timed at a bucket boundary is the known worst case). Refused requests are not counted, so a
client that backs off gets through again.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from .usage import LAST_USED_KEY, USAGE_PREFIX, UsageBuffer, utc_day

REVOKED_PREFIX = "op:apikey:revoked:"
RATE_PREFIX = "op:rl:"


@dataclass(frozen=True)
class Limit:
    name: str  # "minute" / "day": the policy name in the RateLimit headers
    quota: int
    window: int  # seconds


@dataclass(frozen=True)
class Window:
    """One limit's state after the request."""

    limit: Limit
    remaining: int
    reset: int  # seconds until the window frees capacity again


@dataclass(frozen=True)
class Decision:
    allowed: bool
    revoked: bool
    windows: tuple[Window, ...]
    retry_after: int  # seconds; 0 when allowed
    fetched: bytes | None = None  # the value of `fetch`, read in the same round trip

    @property
    def tightest(self) -> Window:
        return min(self.windows, key=lambda w: (w.remaining, -w.reset))


def tier_limits(tier: str) -> tuple[Limit, ...]:
    limits = settings.OP_TIER_LIMITS.get(tier) or settings.OP_TIER_LIMITS["free"]
    return (Limit("minute", int(limits["requests_per_minute"]), 60),
            Limit("day", int(limits["requests_per_day"]), 86_400))


def _window_state(quota: int, window_ms: int, now_ms: int, previous: int, current: int,
                  ) -> tuple[bool, int, int]:
    """(allowed, remaining after this request, seconds to reset or to retry). The Lua script
    below is this function, line for line; tests hold the two to the same answers."""
    elapsed = now_ms % window_ms
    weighted = previous * (window_ms - elapsed) / window_ms + current
    if weighted + 1 <= quota:
        remaining = max(0, math.floor(quota - weighted - 1))
        return True, remaining, math.ceil((window_ms - elapsed) / 1000)
    # Refused: when will one more request fit?
    if current + 1 <= quota and previous > 0:
        wait = (window_ms - elapsed) - (quota - 1 - current) * window_ms / previous
    elif current > 0:
        wait = (window_ms - elapsed) + window_ms - (quota - 1) * window_ms / current
    else:  # quota 0
        wait = window_ms * 2
    return False, 0, max(1, math.ceil(wait / 1000))


SCRIPT = """
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
if KEYS[n + 1] ~= '' and redis.call('EXISTS', KEYS[n + 1]) == 1 then
  return {-1}
end
local out = {1}
local buckets = {}
for i = 1, n do
  local quota = tonumber(ARGV[2 + 2 * i - 1])
  local window = tonumber(ARGV[2 + 2 * i])
  local bucket = math.floor(now / window)
  local elapsed = now % window
  local current_key = KEYS[i] .. ':' .. bucket
  local previous = tonumber(redis.call('GET', KEYS[i] .. ':' .. (bucket - 1)) or '0')
  local current = tonumber(redis.call('GET', current_key) or '0')
  local weighted = previous * (window - elapsed) / window + current
  if weighted + 1 <= quota then
    out[#out + 1] = 1
    out[#out + 1] = math.max(0, math.floor(quota - weighted - 1))
    out[#out + 1] = math.ceil((window - elapsed) / 1000)
  else
    local wait
    if current + 1 <= quota and previous > 0 then
      wait = (window - elapsed) - (quota - 1 - current) * window / previous
    elseif current > 0 then
      wait = (window - elapsed) + window - (quota - 1) * window / current
    else
      wait = window * 2
    end
    out[1] = 0
    out[#out + 1] = 0
    out[#out + 1] = 0
    out[#out + 1] = math.max(1, math.ceil(wait / 1000))
  end
  buckets[i] = {current_key, window}
end
if out[1] == 1 then
  for i = 1, n do
    if redis.call('INCR', buckets[i][1]) == 1 then
      redis.call('PEXPIRE', buckets[i][1], buckets[i][2] * 2)
    end
  end
  local day = ARGV[3 + 2 * n]
  local key_id = ARGV[4 + 2 * n]
  if key_id ~= '' then
    local usage = KEYS[n + 2] .. day
    if redis.call('HINCRBY', usage, key_id .. ':calls', 1) == 1 then
      redis.call('EXPIRE', usage, 691200)
    end
    redis.call('HSET', KEYS[n + 3], key_id, ARGV[5 + 2 * n])
  end
end
if out[1] == 1 and KEYS[n + 4] ~= '' then
  out[#out + 1] = redis.call('GET', KEYS[n + 4])
end
local i = 6 + 2 * n
while ARGV[i] do
  local usage = KEYS[n + 2] .. ARGV[i]
  redis.call('HINCRBY', usage, ARGV[i + 1] .. ':bytes', tonumber(ARGV[i + 2]))
  redis.call('EXPIRE', usage, 691200)
  i = i + 3
end
return out
"""


@dataclass(frozen=True)
class Caller:
    """Who is counted: a subject per limit set (the key or session user, and the org)."""

    subjects: tuple[str, ...]  # e.g. ("key:12", "org:3")
    limits: tuple[Limit, ...]
    key_id: int | None  # usage and last-used are recorded for keys only
    ip: str


class RedisThrottle:
    def __init__(self, url: str, buffer: UsageBuffer) -> None:
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(SCRIPT)
        self.buffer = buffer

    def hit(self, caller: Caller, now: float | None = None, fetch: str = "") -> Decision:
        """Count the request; `fetch` names a Redis key whose value comes back with the
        decision when allowed (a pre-serialized response body)."""
        now = time.time() if now is None else now
        now_ms = int(now * 1000)
        pairs = [(s, limit) for s in caller.subjects for limit in caller.limits]
        keys = [f"{RATE_PREFIX}{s}:{limit.name}" for s, limit in pairs]
        keys += [f"{REVOKED_PREFIX}{caller.key_id}" if caller.key_id else "",
                 USAGE_PREFIX, LAST_USED_KEY, fetch]
        args: list = [now_ms, len(pairs)]
        for _, limit in pairs:
            args += [limit.quota, limit.window * 1000]
        args += [utc_day(now), caller.key_id or "", f"{int(now)} {caller.ip}"]
        pending = self.buffer.drain()
        for (day, key_id), size in pending.items():
            args += [day, key_id, size]
        try:
            reply = self.script(keys=keys, args=args)
        except Exception:
            self.buffer.restore(pending)  # the bytes are reported with a later request
            raise
        if reply[0] == -1:
            self.buffer.restore(pending)  # a revoked key's request carried none of them
        return _decision(reply, pairs)


    def revoke(self, key_id: int, seconds: float) -> None:
        self.client.set(f"{REVOKED_PREFIX}{key_id}", 1, ex=int(seconds))

    def take_usage(self) -> tuple[dict[tuple[str, int], tuple[int, int]], dict[int, str]]:
        """Calls and bytes per (day, key) and last uses counted in Redis since the previous
        call, each hash read and deleted in one transaction."""
        usage: dict[tuple[str, int], tuple[int, int]] = {}
        for name in self.client.scan_iter(match=f"{USAGE_PREFIX}*", count=500):
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(name)
                pipe.delete(name)
                fields, _ = pipe.execute()
            day = name.decode().removeprefix(USAGE_PREFIX)
            for field, value in fields.items():
                key_id, _, kind = field.decode().partition(":")
                calls, size = usage.get((day, int(key_id)), (0, 0))
                usage[(day, int(key_id))] = (calls + int(value), size) if kind == "calls" \
                    else (calls, size + int(value))
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(LAST_USED_KEY)
            pipe.delete(LAST_USED_KEY)
            last, _ = pipe.execute()
        return usage, {int(k): v.decode() for k, v in last.items()}

    def restore_usage(self, usage: dict[tuple[str, int], tuple[int, int]],
                      last_used: dict[int, str]) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            for (day, key_id), (calls, size) in usage.items():
                pipe.hincrby(f"{USAGE_PREFIX}{day}", f"{key_id}:calls", calls)
                pipe.hincrby(f"{USAGE_PREFIX}{day}", f"{key_id}:bytes", size)
            if last_used:
                pipe.hset(LAST_USED_KEY, mapping={str(k): v for k, v in last_used.items()})
            pipe.execute()


class LocalThrottle:
    """The same decisions in process memory: one instance, no Redis (a laptop, tests)."""

    def __init__(self, buffer: UsageBuffer) -> None:
        self.counters: dict[str, int] = {}
        self.revoked: dict[int, float] = {}
        self.lock = threading.Lock()
        self.buffer = buffer
        self.calls: dict[tuple[str, int], int] = {}
        self.last_used: dict[int, str] = {}

    def revoke(self, key_id: int, seconds: float) -> None:
        with self.lock:
            self.revoked[key_id] = time.monotonic() + seconds

    def hit(self, caller: Caller, now: float | None = None, fetch: str = "") -> Decision:
        """As RedisThrottle.hit; nothing to fetch in memory (the view reads its cache)."""
        now = time.time() if now is None else now
        now_ms = int(now * 1000)
        pairs = [(s, limit) for s in caller.subjects for limit in caller.limits]
        with self.lock:
            if caller.key_id and self.revoked.get(caller.key_id, 0) > time.monotonic():
                return Decision(False, True, (), 0)
            reply: list[int] = [1]
            buckets = []
            for subject, limit in pairs:
                window_ms = limit.window * 1000
                bucket = now_ms // window_ms
                name = f"{subject}:{limit.name}"
                allowed, remaining, reset = _window_state(
                    limit.quota, window_ms, now_ms, self.counters.get(f"{name}:{bucket - 1}", 0),
                    self.counters.get(f"{name}:{bucket}", 0))
                if not allowed:
                    reply[0] = 0
                reply += [int(allowed), remaining, reset]
                buckets.append((name, bucket))
            if reply[0] == 1:
                for name, bucket in buckets:
                    current = f"{name}:{bucket}"
                    self.counters[current] = self.counters.get(current, 0) + 1
                    self.counters.pop(f"{name}:{bucket - 2}", None)
                if caller.key_id:
                    day_key = (utc_day(now), caller.key_id)
                    self.calls[day_key] = self.calls.get(day_key, 0) + 1
                    self.last_used[caller.key_id] = f"{int(now)} {caller.ip}"
        return _decision(reply, pairs)

    def take_usage(self) -> tuple[dict[tuple[str, int], tuple[int, int]], dict[int, str]]:
        """Calls and bytes per (day, key) and last uses since the previous call, then forgets."""
        pending = self.buffer.drain()
        with self.lock:
            calls, self.calls = self.calls, {}
            last_used, self.last_used = self.last_used, {}
        usage = {k: (calls.get(k, 0), pending.get(k, 0)) for k in calls.keys() | pending.keys()}
        return usage, last_used

    def restore_usage(self, usage: dict[tuple[str, int], tuple[int, int]],
                      last_used: dict[int, str]) -> None:
        with self.lock:
            for day_key, (calls, _) in usage.items():
                self.calls[day_key] = self.calls.get(day_key, 0) + calls
            for key_id, value in last_used.items():
                self.last_used.setdefault(key_id, value)
        self.buffer.restore({k: size for k, (_, size) in usage.items() if size})


def _decision(reply: list, pairs: list[tuple[str, Limit]]) -> Decision:
    if reply[0] == -1:
        return Decision(False, True, (), 0)
    allowed = reply[0] == 1
    windows, retry = [], 0
    for i, (_, limit) in enumerate(pairs):
        fits, remaining, reset = (int(v) for v in reply[1 + 3 * i: 4 + 3 * i])
        windows.append(Window(limit, remaining, reset))
        if not fits:
            retry = max(retry, reset)
    fetched = reply[1 + 3 * len(pairs)] if len(reply) > 1 + 3 * len(pairs) else None
    return Decision(allowed, False, tuple(windows), retry, fetched)

