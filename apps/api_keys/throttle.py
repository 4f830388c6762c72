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

The organization's plan is read in the same script, from a hash billing's plan changes publish
(`op:plan:<org id>`): its quotas override the ones the caller brought (from a principal cached
for up to OP_API_KEY_CACHE_SECONDS), so a plan change reaches every instance with the next
request. The monthly volume is a counter per period ("2026-12"): refused past the quota on a
plan without overage, only counted on a metered plan (billing reports the overage).
"""
from __future__ import annotations

import calendar
import dataclasses
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from apps.billing.plans import get_plan

from .usage import LAST_USED_KEY, USAGE_PREFIX, UsageBuffer, utc_hour

REVOKED_PREFIX = "op:apikey:revoked:"
RATE_PREFIX = "op:rl:"
PLAN_PREFIX = "op:plan:"  # + org id: hash of plan, and a quota per limit name, and metered
# A plan hash lapses unless republished (api_keys.republish_limits, every 10 minutes): a hash
# left by a lost publish cannot hold old limits for long, and without it the principal's
# (database) plan applies.
PLAN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class Limit:
    name: str  # "minute" / "month": the policy name in the RateLimit headers and the plan hash
    quota: int
    window: int  # seconds; a period limit's: seconds until the period ends
    period: str = ""  # a period limit's bucket (e.g. "2026-12"); empty: a sliding window
    hard: bool = True  # refuse past the quota; a soft limit only counts
    org_only: bool = False  # counted once for the organization, not per key


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
    plan: str | None = None  # the organization's plan as published, if it was
    paused: bool = False  # the key is paused: the plan allows fewer keys

    @property
    def enforced(self) -> tuple[Window, ...]:
        """The windows that can refuse (soft ones only count)."""
        return tuple(w for w in self.windows if w.limit.hard)

    @property
    def tightest(self) -> Window:
        return min(self.enforced or self.windows, key=lambda w: (w.remaining, -w.reset))


UNLIMITED = 10**15  # a quota nothing reaches: the plan has no such limit


def plan_limits(plan: str, now: float | None = None) -> tuple[Limit, ...]:
    """The API's limits on this plan: requests per minute (per key and per organization) and
    the organization's monthly volume (UTC calendar month for the counter)."""
    now = time.time() if now is None else now
    chosen = get_plan(plan)
    moment = time.gmtime(now)
    next_month = (moment.tm_year + moment.tm_mon // 12, moment.tm_mon % 12 + 1)
    month_ends = calendar.timegm((*next_month, 1, 0, 0, 0))
    included = chosen.limits.included_requests_per_month
    return (Limit("minute", chosen.limits.requests_per_minute, 60),
            Limit("month", UNLIMITED if included is None else included,
                  max(1, math.ceil(month_ends - now)), period=time.strftime("%Y-%m", moment),
                  hard=not chosen.metered, org_only=True))


def plan_fields(plan: str, paused_keys: Iterable[int] = ()) -> dict[str, str]:
    """What the plan hash holds for the script: quotas by limit name, whether the monthly
    volume is metered (soft) rather than refused, and the keys paused by the plan."""
    limits = plan_limits(plan)
    return {"plan": get_plan(plan).slug, **{limit.name: str(limit.quota) for limit in limits},
            "metered": "1" if get_plan(plan).metered else "0",
            **{f"paused:{key_id}": "1" for key_id in paused_keys}}


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


def _period_state(quota: int, count: int, hard: bool, reset: int) -> tuple[bool, int, int]:
    """A period counter: (allowed, remaining after this request, seconds to the period's end);
    a soft limit always allows. The script's period branch is this function."""
    if not hard or count + 1 <= quota:
        return True, max(0, quota - count - 1), reset
    return False, 0, reset


SCRIPT = """
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
if KEYS[n + 1] ~= '' and redis.call('EXISTS', KEYS[n + 1]) == 1 then
  return {-1}
end
local plan = {}
if KEYS[n + 5] ~= '' then
  local fields = redis.call('HGETALL', KEYS[n + 5])
  for j = 1, #fields, 2 do
    plan[fields[j]] = fields[j + 1]
  end
  if ARGV[4 + 5 * n] ~= '' and plan['paused:' .. ARGV[4 + 5 * n]] then
    return {-2, plan['plan'] or ''}
  end
end
local out = {1}
local buckets = {}
for i = 1, n do
  local base = 2 + 5 * (i - 1)
  local quota = tonumber(plan[ARGV[base + 5]] or ARGV[base + 1])
  local window = tonumber(ARGV[base + 2])
  local period = ARGV[base + 3]
  local hard = ARGV[base + 4] == '1'
  if period ~= '' then
    if plan['metered'] then
      hard = plan['metered'] ~= '1'
    end
    local key = KEYS[i] .. ':' .. period
    local count = tonumber(redis.call('GET', key) or '0')
    local reset = math.ceil(window / 1000)
    if (not hard) or count + 1 <= quota then
      out[#out + 1] = 1
      out[#out + 1] = math.max(0, quota - count - 1)
    else
      out[1] = 0
      out[#out + 1] = 0
      out[#out + 1] = 0
    end
    out[#out + 1] = reset
    buckets[i] = {key, window + 86400000}
  else
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
    buckets[i] = {current_key, window * 2}
  end
  out[#out + 1] = quota
  out[#out + 1] = hard and 1 or 0
end
if out[1] == 1 then
  for i = 1, n do
    if redis.call('INCR', buckets[i][1]) == 1 then
      redis.call('PEXPIRE', buckets[i][1], buckets[i][2])
    end
  end
  local hour = ARGV[3 + 5 * n]
  local key_id = ARGV[4 + 5 * n]
  if key_id ~= '' then
    local usage = KEYS[n + 2] .. hour
    if redis.call('HINCRBY', usage, key_id .. ':calls', 1) == 1 then
      redis.call('EXPIRE', usage, 691200)
    end
    redis.call('HSET', KEYS[n + 3], key_id, ARGV[5 + 5 * n])
  end
end
out[#out + 1] = plan['plan'] or ''
if out[1] == 1 and KEYS[n + 4] ~= '' then
  out[#out + 1] = redis.call('GET', KEYS[n + 4])
end
local i = 6 + 5 * n
while ARGV[i] do
  local usage = KEYS[n + 2] .. ARGV[i]
  redis.call('HINCRBY', usage, ARGV[i + 1] .. ':bytes', tonumber(ARGV[i + 2]))
  redis.call('EXPIRE', usage, 691200)
  i = i + 3
end
return out
"""
PER_PAIR = 5  # values the script returns per (subject, limit): fits, remaining, reset, quota, hard


@dataclass(frozen=True)
class Caller:
    """Who is counted: a subject per limit set ("key:12" or "user:4", then "org:3"), and the
    organization whose published plan overrides the limits' quotas."""

    subjects: tuple[str, ...]
    limits: tuple[Limit, ...]
    key_id: int | None  # usage and last-used are recorded for keys only
    ip: str
    organization_id: int | None = None

    def pairs(self) -> list[tuple[str, Limit]]:
        """Each limit per subject; an organization-only limit for the "org:" subject only."""
        return [(s, limit) for limit in self.limits for s in self.subjects
                if not limit.org_only or s.startswith("org:")]


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
        pairs = caller.pairs()
        keys = [f"{RATE_PREFIX}{s}:{limit.name}" for s, limit in pairs]
        keys += [f"{REVOKED_PREFIX}{caller.key_id}" if caller.key_id else "",
                 USAGE_PREFIX, LAST_USED_KEY, fetch,
                 f"{PLAN_PREFIX}{caller.organization_id}" if caller.organization_id else ""]
        args: list = [now_ms, len(pairs)]
        for _, limit in pairs:
            args += [limit.quota, limit.window * 1000, limit.period, int(limit.hard), limit.name]
        args += [utc_hour(now), caller.key_id or "", f"{int(now)} {caller.ip}"]
        pending = self.buffer.drain()
        for (hour, key_id), size in pending.items():
            args += [hour, key_id, size]
        try:
            reply = self.script(keys=keys, args=args)
        except Exception:
            self.buffer.restore(pending)  # the bytes are reported with a later request
            raise
        if reply[0] < 0:
            self.buffer.restore(pending)  # a refused key's request carried none of them
        return _decision(reply, pairs)

    def publish_plan(self, organization_id: int, fields: dict[str, str]) -> None:
        """Make the organization's limits these, on every instance, from the next request."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(f"{PLAN_PREFIX}{organization_id}")
            pipe.hset(f"{PLAN_PREFIX}{organization_id}", mapping=fields)
            pipe.expire(f"{PLAN_PREFIX}{organization_id}", PLAN_TTL_SECONDS)
            pipe.execute()

    def revoke(self, key_id: int, seconds: float) -> None:
        self.client.set(f"{REVOKED_PREFIX}{key_id}", 1, ex=int(seconds))

    def take_usage(self) -> tuple[dict[tuple[str, int], tuple[int, int]], dict[int, str]]:
        """Calls and bytes per (hour, key) and last uses counted in Redis since the previous
        call, each hash read and deleted in one transaction."""
        usage: dict[tuple[str, int], tuple[int, int]] = {}
        for name in self.client.scan_iter(match=f"{USAGE_PREFIX}*", count=500):
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(name)
                pipe.delete(name)
                fields, _ = pipe.execute()
            hour = name.decode().removeprefix(USAGE_PREFIX)
            for field, value in fields.items():
                key_id, _, kind = field.decode().partition(":")
                calls, size = usage.get((hour, int(key_id)), (0, 0))
                usage[(hour, int(key_id))] = (calls + int(value), size) if kind == "calls" \
                    else (calls, size + int(value))
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(LAST_USED_KEY)
            pipe.delete(LAST_USED_KEY)
            last, _ = pipe.execute()
        return usage, {int(k): v.decode() for k, v in last.items()}

    def restore_usage(self, usage: dict[tuple[str, int], tuple[int, int]],
                      last_used: dict[int, str]) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            for (hour, key_id), (calls, size) in usage.items():
                pipe.hincrby(f"{USAGE_PREFIX}{hour}", f"{key_id}:calls", calls)
                pipe.hincrby(f"{USAGE_PREFIX}{hour}", f"{key_id}:bytes", size)
            if last_used:
                pipe.hset(LAST_USED_KEY, mapping={str(k): v for k, v in last_used.items()})
            pipe.execute()


class LocalThrottle:
    """The same decisions in process memory: one instance, no Redis (a laptop, tests)."""

    def __init__(self, buffer: UsageBuffer) -> None:
        self.counters: dict[str, int] = {}
        self.revoked: dict[int, float] = {}
        self.plans: dict[int, dict[str, str]] = {}
        self.lock = threading.Lock()
        self.buffer = buffer
        self.calls: dict[tuple[str, int], int] = {}
        self.last_used: dict[int, str] = {}

    def revoke(self, key_id: int, seconds: float) -> None:
        with self.lock:
            self.revoked[key_id] = time.monotonic() + seconds

    def publish_plan(self, organization_id: int, fields: dict[str, str]) -> None:
        with self.lock:
            self.plans[organization_id] = dict(fields)

    def hit(self, caller: Caller, now: float | None = None, fetch: str = "") -> Decision:
        """As RedisThrottle.hit; nothing to fetch in memory (the view reads its cache)."""
        now = time.time() if now is None else now
        now_ms = int(now * 1000)
        pairs = caller.pairs()
        with self.lock:
            if caller.key_id and self.revoked.get(caller.key_id, 0) > time.monotonic():
                return Decision(False, True, (), 0)
            plan = self.plans.get(caller.organization_id or 0, {})
            if caller.key_id and f"paused:{caller.key_id}" in plan:
                return _decision([-2, plan.get("plan", "")], pairs)
            reply: list[int | str] = [1]
            buckets = []
            for subject, limit in pairs:
                quota = int(plan.get(limit.name, limit.quota))
                hard = limit.hard
                name = f"{subject}:{limit.name}"
                if limit.period:
                    if "metered" in plan:
                        hard = plan["metered"] != "1"
                    current = f"{name}:{limit.period}"
                    allowed, remaining, reset = _period_state(
                        quota, self.counters.get(current, 0), hard, limit.window)
                    stale = None
                else:
                    window_ms = limit.window * 1000
                    bucket = now_ms // window_ms
                    allowed, remaining, reset = _window_state(
                        quota, window_ms, now_ms, self.counters.get(f"{name}:{bucket - 1}", 0),
                        self.counters.get(f"{name}:{bucket}", 0))
                    current, stale = f"{name}:{bucket}", f"{name}:{bucket - 2}"
                if not allowed:
                    reply[0] = 0
                reply += [int(allowed), remaining, reset, quota, int(hard)]
                buckets.append((current, stale))
            if reply[0] == 1:
                for current, stale in buckets:
                    self.counters[current] = self.counters.get(current, 0) + 1
                    if stale is not None:
                        self.counters.pop(stale, None)
                if caller.key_id:
                    hour_key = (utc_hour(now), caller.key_id)
                    self.calls[hour_key] = self.calls.get(hour_key, 0) + 1
                    self.last_used[caller.key_id] = f"{int(now)} {caller.ip}"
            reply.append(plan.get("plan", ""))
        return _decision(reply, pairs)

    def take_usage(self) -> tuple[dict[tuple[str, int], tuple[int, int]], dict[int, str]]:
        """Calls and bytes per (hour, key) and last uses since the previous call, then forgets."""
        pending = self.buffer.drain()
        with self.lock:
            calls, self.calls = self.calls, {}
            last_used, self.last_used = self.last_used, {}
        usage = {k: (calls.get(k, 0), pending.get(k, 0)) for k in calls.keys() | pending.keys()}
        return usage, last_used

    def restore_usage(self, usage: dict[tuple[str, int], tuple[int, int]],
                      last_used: dict[int, str]) -> None:
        with self.lock:
            for hour_key, (calls, _) in usage.items():
                self.calls[hour_key] = self.calls.get(hour_key, 0) + calls
            for key_id, value in last_used.items():
                self.last_used.setdefault(key_id, value)
        self.buffer.restore({k: size for k, (_, size) in usage.items() if size})


def _decision(reply: list, pairs: list[tuple[str, Limit]]) -> Decision:
    if reply[0] == -1:
        return Decision(False, True, (), 0)
    if reply[0] == -2:
        return Decision(False, False, (), 0, plan=_text(reply[1]) or None, paused=True)
    allowed = reply[0] == 1
    windows, retry = [], 0
    for i, (_, limit) in enumerate(pairs):
        fits, remaining, reset, quota, hard = (
            int(v) for v in reply[1 + PER_PAIR * i: 1 + PER_PAIR * (i + 1)])
        if (quota, bool(hard)) != (limit.quota, limit.hard):  # the published plan's
            limit = dataclasses.replace(limit, quota=quota, hard=bool(hard))
        windows.append(Window(limit, remaining, reset))
        if not fits:
            retry = max(retry, reset)
    rest = reply[1 + PER_PAIR * len(pairs):]
    fetched = rest[1] if len(rest) > 1 else None
    return Decision(allowed, False, tuple(windows), retry, fetched, _text(rest[0]) or None)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
