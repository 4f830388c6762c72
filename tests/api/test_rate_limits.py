"""Rate limits: headers, 429, reset, the Redis script agreeing with the in-memory twin, and
two instances sharing one limit."""
import random
import time

import pytest
from django.conf import settings

from apps.api_keys import runtime
from apps.api_keys.throttle import (
    Caller,
    Limit,
    LocalThrottle,
    RedisThrottle,
    _window_state,
)
from apps.api_keys.usage import UsageBuffer
from apps.billing.plans import get_plan

from .conftest import bearer

TINY = {"free": {"requests_per_minute": 3}}
FREE = get_plan("free").limits


def test_every_response_carries_both_header_styles(client, api_key):
    _, raw = api_key
    response = client.get("/api/v1/pairs", **bearer(raw))
    limit = FREE.requests_per_minute
    assert response["X-RateLimit-Limit"] == str(limit)
    assert response["X-RateLimit-Remaining"] == str(limit - 1)
    assert int(response["X-RateLimit-Reset"]) > time.time()
    policy, month = response["RateLimit-Policy"].split(", ")
    assert policy == f'"minute";q={limit};w=60'
    assert month.startswith(f'"month";q={FREE.included_requests_per_month};w=')
    assert response["RateLimit"].startswith(f'"minute";r={limit - 1};t=')


def test_past_the_limit_a_429_with_retry_after_and_the_error_body(client, api_key, settings):
    settings.OP_TIER_LIMITS = TINY
    _, raw = api_key
    remaining = [client.get("/api/v1/pairs", **bearer(raw))["X-RateLimit-Remaining"]
                 for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = client.get("/api/v1/pairs", **bearer(raw))
    assert refused.status_code == 429
    body = refused.json()["error"]
    assert body["code"] == "rate_limited" and body["details"]["retry_after"] >= 1
    retry = int(refused["Retry-After"])
    assert 1 <= retry <= 120
    assert int(refused["X-RateLimit-Reset"]) - int(time.time()) in (retry - 1, retry, retry + 1)
    assert refused["X-RateLimit-Remaining"] == "0"


def test_the_organization_shares_one_limit_across_its_keys(client, tenants, settings):
    from apps.api_keys.services import create_key

    settings.OP_TIER_LIMITS = TINY
    raws = [create_key(tenants["org"], name=f"k{i}")[1] for i in range(2)]
    statuses = [client.get("/api/v1/pairs", **bearer(raws[i % 2])).status_code
                for i in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_limit_frees_up_as_the_window_slides():
    throttle = LocalThrottle(UsageBuffer())
    caller = Caller(("key:1",), (Limit("minute", 2, 60),), 1, "127.0.0.1")
    start = 1_800_000_000.0  # on a minute boundary
    assert [throttle.hit(caller, start + i).allowed for i in range(3)] == [True, True, False]
    refused = throttle.hit(caller, start + 3)
    # Both requests sit in the current minute: they weigh fully until it ends, then fade.
    assert throttle.hit(caller, start + 3 + refused.retry_after).allowed


@pytest.mark.parametrize("seed", range(5))
def test_no_clock_minute_ever_admits_more_than_the_quota(seed):
    rng = random.Random(seed)
    throttle = LocalThrottle(UsageBuffer())
    caller = Caller(("key:1",), (Limit("minute", 10, 60),), None, "")
    per_minute: dict[int, int] = {}
    now = 1_800_000_000.0
    for _ in range(3000):
        now += rng.expovariate(1 / 2)
        if throttle.hit(caller, now).allowed:
            per_minute[int(now // 60)] = per_minute.get(int(now // 60), 0) + 1
    assert max(per_minute.values()) == 10  # saturated, never above
    # and the long-run rate stays at the quota per window
    assert sum(per_minute.values()) <= 10 * (int(now // 60) - 1_800_000_000 // 60 + 1)


def test_refused_requests_wait_for_exactly_one_more_slot():
    # previous bucket full (quota 10), 30 s into the current one with 0: weighted = 5.
    assert _window_state(10, 60_000, 30_000, 10, 0) == (True, 4, 30)
    # current already at quota: wait for the bucket to end and the weight to fade to 9.
    allowed, remaining, wait = _window_state(10, 60_000, 30_000, 0, 10)
    assert (allowed, remaining) == (False, 0) and wait == 30 + 6


@pytest.mark.redis
def test_the_redis_script_decides_like_the_in_memory_twin():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    rng = random.Random(7)
    local = LocalThrottle(UsageBuffer())
    remote = RedisThrottle(settings.REDIS_URL, UsageBuffer())
    limits = (Limit("minute", 5, 60), Limit("month", 40, 86400, period="2027-01", org_only=True))
    caller = Caller((f"key:parity{rng.random()}", "org:parity"), limits, None, "")
    now = 1_800_000_000.0
    try:
        for _ in range(300):
            now += rng.expovariate(1 / 3)
            a, b = local.hit(caller, now), remote.hit(caller, now)
            assert (a.allowed, a.retry_after, a.windows) == (b.allowed, b.retry_after, b.windows)
    finally:
        for name in client.scan_iter(match="op:rl:*parity*"):
            client.delete(name)


@pytest.mark.redis
def test_two_app_instances_share_one_limit_through_redis(tenants, settings):
    from apps.api_keys.services import create_key

    settings.OP_TIER_LIMITS = TINY
    _, raw = create_key(tenants["org"], name="shared")
    # Two instances: each its own throttle object, key cache and usage buffer, one Redis.
    first = RedisThrottle(settings.REDIS_URL, UsageBuffer())
    second = RedisThrottle(settings.REDIS_URL, UsageBuffer())
    from apps.api_keys.principal import from_key

    principal = from_key(raw)
    caller = Caller((principal.subject, f"org:{principal.organization_id}"),
                    (Limit("minute", 3, 60),), principal.key_id, "10.0.0.1")
    decisions = [(first if i % 2 else second).hit(caller) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]


def test_usage_counts_calls_and_bytes_per_key_and_day(client, api_key, tenants):
    from apps.api_keys.models import ApiUsage
    from apps.api_keys.services import create_key, flush_usage

    key, raw = api_key
    sizes = [len(client.get("/api/v1/pairs", **bearer(raw)).content) for _ in range(3)]
    client.get("/api/v1/assets", **bearer(raw))  # carries the third response's bytes along
    sizes.append(len(client.get("/api/v1/chains", **bearer(raw)).content))
    flush_usage()
    row = ApiUsage.objects.get(key=key)
    assert row.organization == tenants["org"] and row.calls == 5
    assert row.response_bytes >= sum(sizes[:3])
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_ip == "127.0.0.1"
    flush_usage()  # nothing new: nothing added
    assert ApiUsage.objects.get(key=key).calls == 5
    _, manager = create_key(tenants["org"], name="m", scope="read_write")
    body = client.get("/api/v1/usage", **bearer(manager)).json()
    assert body["total_calls"] == 5 and body["days"][0]["key"] == key.prefix


def test_a_failed_flush_puts_the_counters_back(client, api_key, monkeypatch):
    from apps.api_keys import services
    from apps.api_keys.models import ApiUsage

    key, raw = api_key
    client.get("/api/v1/pairs", **bearer(raw))

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_store_usage", broken)
    with pytest.raises(RuntimeError):
        services.flush_usage()
    monkeypatch.undo()
    services.flush_usage()
    assert ApiUsage.objects.get(key=key).calls == 1


def test_when_redis_is_down_requests_are_served_unthrottled_and_logged(
        client, api_key, monkeypatch, caplog):
    _, raw = api_key

    class Down:
        def hit(self, caller):
            raise ConnectionError("redis down")

    monkeypatch.setattr(runtime, "_throttle", Down())
    response = client.get("/api/v1/pairs", **bearer(raw))
    assert response.status_code == 200 and "X-RateLimit-Limit" not in response
    assert "rate limiter unavailable" in caplog.text


@pytest.mark.redis
def test_the_latest_body_comes_back_in_the_throttle_round_trip(api_key, settings):
    from django.core.cache import cache
    from django.core.cache.backends.redis import RedisSerializer

    from apps.feeds.pair_state import latest_body_key, refresh_pairs
    from tests.factories import AssetFactory, PairFactory, priced

    cache.delete(latest_body_key("ETH-USD"))
    pair = PairFactory(base=AssetFactory(symbol="ETH"))
    priced(pair, "chainlink", "3400")
    refresh_pairs([pair.pk])  # as the stored batch's commit would
    throttle = RedisThrottle(settings.REDIS_URL, UsageBuffer())
    caller = Caller(("key:fetch",), (Limit("minute", 1, 60),), None, "")
    fetch = cache.make_key(latest_body_key("ETH-USD"))
    allowed = throttle.hit(caller, fetch=fetch)
    etag, _, content = RedisSerializer().loads(allowed.fetched)
    assert b'"pair":"ETH-USD"' in content and etag.startswith('"')
    refused = throttle.hit(caller, fetch=fetch)
    assert not refused.allowed and refused.fetched is None
