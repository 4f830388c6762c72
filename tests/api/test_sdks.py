"""The SDKs in sdk/: every operation of the OpenAPI schema has a method in both (and the method
calls that operation), the Python SDK round trips against a live server (sync and async), its
retries honour Retry-After, and the JS SDK's `node --test` suite runs against the same server.

Node and the npm dev dependencies (typescript, ws) are needed for the JS part: without them it
skips on a laptop and fails under CI=true, like the other service-dependent tests."""
import asyncio
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator

from apps.api_keys.services import create_key
from apps.billing.services import set_plan
from apps.feeds.pair_state import refresh_pairs
from tests.conftest import IN_CI
from tests.factories import AssetFactory, PairFactory, priced

ROOT = Path(__file__).resolve().parents[2]
SDK_JS = ROOT / "sdk" / "js"
sys.path.insert(0, str(ROOT / "sdk" / "python"))  # the SDK is its own package, not installed
sdk = importlib.import_module("oracle_platform_sdk")

METHODS = ("get", "post", "put", "patch", "delete")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but the JS SDK tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def schema_operations() -> dict[str, tuple[str, re.Pattern]]:
    """operationId → (HTTP method, a pattern of its path with any value for the parameters)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {}
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item and path.startswith("/api/v1/") and "/schema" not in path:
                pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
                operations[item[method]["operationId"]] = (method.upper(), re.compile(pattern))
    assert len(operations) >= 20
    return operations


@pytest.fixture(scope="module")
def node() -> str:
    """Node, with the JS SDK compiled by tsc into sdk/js/dist."""
    node = shutil.which("node")
    if node is None:
        _unavailable("Node.js is not installed")
    tsc = ROOT / "node_modules" / ".bin" / "tsc"
    if not tsc.exists() or not (ROOT / "node_modules" / "ws").exists():
        _unavailable("typescript and ws are not installed (npm ci)")
    built = subprocess.run([str(tsc), "-p", str(SDK_JS)], capture_output=True, text=True,
                           timeout=120, check=False)
    assert built.returncode == 0, f"tsc failed:\n{built.stdout}\n{built.stderr}"
    return node


# --- every operation has a method -------------------------------------------------------------

PROBE_VALUES = {"name": "probe", "key_id": 7, "endpoint_id": 7, "url": "https://probe.invalid/x",
                "events": ["alert.opened"], "channel_id": 7, "rule_id": 7, "incident_id": 7,
                "config": {"to": ["probe@example.com"]}, "channels": [7], "after_minutes": 15,
                "until": None, "window_id": 7, "starts_at": "2026-11-28T02:00:00Z",
                "ends_at": "2026-11-28T04:00:00Z"}


def _probe_args(method) -> tuple[list, dict]:
    """Values for the required parameters: positional ones, and keyword-only ones by name."""
    import inspect

    args, kwargs = [], {}
    for parameter in inspect.signature(method).parameters.values():
        if parameter.default is not parameter.empty:
            continue
        value = PROBE_VALUES.get(parameter.name, "PARAM")
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            args.append(value)
        elif parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
    return args, kwargs


def _recording_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"next": None, "previous": None, "results": []})

    return httpx.MockTransport(answer)


def test_every_operation_has_a_python_sdk_method_that_calls_it(schema_operations):
    missing = sorted(set(schema_operations) - set(sdk.OPERATIONS))
    stale = sorted(set(sdk.OPERATIONS) - set(schema_operations))
    assert not missing, f"operations without a Python SDK method: {missing}"
    assert not stale, f"Python SDK OPERATIONS not in the schema: {stale}"
    seen: list[httpx.Request] = []
    client = sdk.Client("http://sdk.invalid", "op_live_probe", transport=_recording_transport(seen))
    aclient = sdk.AsyncClient("http://sdk.invalid", "op_live_probe",
                              transport=_recording_transport(seen))

    async def call_async(method, probe):
        result = method(*probe[0], **probe[1])
        if isinstance(result, sdk.AsyncPaginator):
            return await result.to_list()
        return await result

    for operation_id, name in sdk.OPERATIONS.items():
        http_method, path = schema_operations[operation_id]
        for each in (client, aclient):
            method = getattr(each, name, None)
            assert callable(method), f"{type(each).__name__}.{name} ({operation_id}) is missing"
            seen.clear()
            if each is client:
                args, kwargs = _probe_args(method)
                result = method(*args, **kwargs)
                if isinstance(result, sdk.Paginator):
                    result.to_list()
            else:
                asyncio.run(call_async(method, _probe_args(method)))
            assert len(seen) == 1, name
            assert seen[0].method == http_method, (name, seen[0].method, http_method)
            assert path.fullmatch(seen[0].url.path), (name, seen[0].url.path, path.pattern)
    client.close()


def test_every_operation_has_a_js_sdk_method_that_calls_it(schema_operations, node):
    probe = subprocess.run([node, str(SDK_JS / "test" / "operations.mjs")], capture_output=True,
                           text=True, timeout=30, check=False)
    assert probe.returncode == 0, probe.stderr
    js = json.loads(probe.stdout)
    assert sorted(set(schema_operations) - set(js)) == [], "operations without a JS SDK method"
    assert sorted(set(js) - set(schema_operations)) == [], "JS OPERATIONS not in the schema"
    for operation_id, call in js.items():
        assert not call.get("missing"), f"Client.{call['method']} ({operation_id}) is missing"
        http_method, path = schema_operations[operation_id]
        assert call["httpMethod"] == http_method, (operation_id, call)
        assert path.fullmatch(call["path"]), (operation_id, call, path.pattern)


# --- retries, errors and pagination without a server -----------------------------------------

def _rate_limited(seconds: str = "2") -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": seconds}, json={"error": {
        "code": "rate_limited", "message": "Too many requests", "details": {"retry_after": 2}}})


def _scripted(*answers: httpx.Response) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    queue, seen = list(answers), []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    return httpx.MockTransport(answer), seen


def test_a_429_is_retried_after_retry_after_then_succeeds():
    transport, seen = _scripted(_rate_limited("2"), httpx.Response(200, json={
        "pair": "ETH-USD", "consensus": {"price": "3401.00000000", "votes": 2}, "feeds": []}))
    waits: list[float] = []
    with sdk.Client("http://x.test", "op_live_k", transport=transport,
                    sleep=waits.append) as client:
        latest = client.pair_latest("ETH-USD")
    assert waits == [2.0] and len(seen) == 2
    assert latest["consensus"]["price"] == Decimal("3401")
    assert seen[0].url == "http://x.test/api/v1/pairs/ETH-USD/latest"
    assert seen[0].headers["Authorization"] == "Bearer op_live_k"


async def test_the_async_client_retries_too_with_its_own_sleep():
    transport, seen = _scripted(_rate_limited("1"), _rate_limited("3"),
                                httpx.Response(200, json={"slug": "ETH-USD"}))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with sdk.AsyncClient("http://x.test/api/v1/", "k", transport=transport,
                               sleep=sleep) as client:
        assert (await client.pair("ETH-USD"))["slug"] == "ETH-USD"
    assert waits == [1.0, 3.0] and len(seen) == 3


def test_retries_are_bounded_and_a_long_retry_after_is_not_waited_for():
    transport, seen = _scripted(*[_rate_limited("1")] * 3)
    with sdk.Client("http://x.test", "k", transport=transport, sleep=lambda s: None,
                    retry=sdk.RetryPolicy(max_retries=2)) as client, \
            pytest.raises(sdk.ApiError) as caught:
        client.usage()
    assert len(seen) == 3
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        429, "rate_limited", 1.0)
    transport, seen = _scripted(_rate_limited("3600"))
    with sdk.Client("http://x.test", "k", transport=transport,
                    sleep=lambda s: pytest.fail("slept")) as client, \
            pytest.raises(sdk.ApiError, match="rate_limited"):
        client.usage()


def test_a_503_is_retried_for_reads_only_and_retry_after_may_be_a_date():
    later = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    unavailable = httpx.Response(503, headers={"Retry-After": later}, text="busy")
    transport, seen = _scripted(unavailable, httpx.Response(200, json={"slug": "ETH-USD"}))
    waits: list[float] = []
    with sdk.Client("http://x.test", "k", transport=transport, sleep=waits.append) as client:
        client.pair("ETH-USD")
    assert len(seen) == 2 and 25 < waits[0] <= 30
    transport, seen = _scripted(httpx.Response(503, text="<html>busy</html>"))
    with sdk.Client("http://x.test", "k", transport=transport, sleep=waits.append) as client, \
            pytest.raises(sdk.ApiError) as caught:
        client.create_key("x")
    assert len(seen) == 1 and caught.value.code == "http_503"


def test_pagination_follows_the_query_of_next_links_on_the_configured_host():
    transport, seen = _scripted(
        httpx.Response(200, json={"next": "http://elsewhere.test/api/v1/feeds?cursor=abc&limit=1"
                                          "&protocol=pyth", "previous": None,
                                  "results": [{"key": "a"}]}),
        httpx.Response(200, json={"next": None, "previous": "x", "results": [{"key": "b"}]}))
    with sdk.Client("http://x.test", "k", transport=transport) as client:
        assert [f["key"] for f in client.feeds(protocol="pyth", limit=1)] == ["a", "b"]
    assert seen[0].url.params["protocol"] == "pyth" and seen[0].url.params["limit"] == "1"
    assert seen[1].url.host == "x.test" and seen[1].url.params["cursor"] == "abc"


def test_naive_datetimes_are_refused_before_any_request():
    with sdk.Client("http://x.test", "k", transport=_scripted()[0]) as client, \
            pytest.raises(ValueError, match="timezone-aware"):
        client.pair_history("ETH-USD", start=datetime(2026, 1, 1))


# --- against a live server ---------------------------------------------------------------------

@pytest.fixture
def live(live_server, tenants):
    """Three priced pairs, and a read-write key of the tenants' organization."""
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH", name="Ether"))
    btc = PairFactory(base=AssetFactory(symbol="BTC", name="Bitcoin"))
    sol = PairFactory(base=AssetFactory(symbol="SOL", name="Solana"))
    feeds = [priced(eth, "chainlink", "3400"), priced(eth, "pyth", "3402"),
             priced(btc, "chainlink", "97000"), priced(sol, "pyth", "180")]
    refresh_pairs([eth.pk, btc.pk, sol.pk])
    key, raw = create_key(tenants["org"], name="sdk", scope="read_write",
                          created_by=tenants["owner"])
    return SimpleNamespace(url=live_server.url, key=raw, key_id=key.pk, pair="ETH-USD",
                           feed=feeds[0].key, slugs={"ETH-USD", "BTC-USD", "SOL-USD"})


@pytest.mark.django_db(transaction=True)
def test_the_python_sdk_round_trips_against_a_live_server(live):
    now = datetime.now(UTC)
    with sdk.Client(live.url, live.key) as client:
        pages = list(client.pairs(limit=1).pages())
        assert len(pages) == 3 and all(len(page) == 1 for page in pages)
        assert {pair["slug"] for page in pages for pair in page} == live.slugs
        assert [p["slug"] for p in client.pairs(base="eth")] == ["ETH-USD"]
        latest = client.pair_latest("ETH-USD")
        assert latest["consensus"]["price"] == Decimal("3401.00000000")
        assert isinstance(latest["consensus"]["price"], Decimal)
        assert {row["price"] for row in latest["feeds"]} == {Decimal(3400), Decimal(3402)}
        assert isinstance(latest["feeds"][0]["deviation_bps"], str)  # not a price: kept a string
        history = client.pair_history("ETH-USD", start=now - timedelta(hours=2), end=now,
                                      interval="1h")
        assert history["interval"] == "1h" and history["bars"]
        assert isinstance(history["bars"][-1]["close"], Decimal)
        feed_history = client.feed_history(live.feed, start=now - timedelta(hours=2), end=now,
                                           interval="1h")
        assert feed_history["bars"][-1]["close"] == Decimal(3400)
        assert [f["key"] for f in client.feeds(pair="ETH-USD", protocol="chainlink")] == [
            live.feed]
        assert client.feed_latest(live.feed)["state"]["price"] == Decimal(3400)
        assert client.pair_deviation("ETH-USD")["consensus"] == Decimal("3401")

        with pytest.raises(sdk.ApiError) as caught:
            client.pair_latest("NOPE-USD")
        assert (caught.value.status, caught.value.code) == (404, "not_found")
        with pytest.raises(sdk.ApiError) as caught:
            client.pair_history("ETH-USD", interval="2m")
        assert caught.value.code == "invalid_request" and "interval" in caught.value.details

        created = client.create_key("made-by-sdk", scope="read")
        assert created["key"].startswith("op_live_") and created["scope"] == "read"
        with sdk.Client(live.url, created["key"]) as fresh:
            assert fresh.pair("ETH-USD")["base"] == "ETH"
            with pytest.raises(sdk.ApiError) as caught:
                fresh.create_key("nope")
            assert caught.value.status == 403
        rotated = client.rotate_key(created["id"])
        assert rotated["replaces"] == created["id"] and rotated["key"] != created["key"]
        assert client.revoke_key(rotated["id"])["active"] is False
        assert {k["id"] for k in client.keys(limit=1)} == {live.key_id, created["id"],
                                                           rotated["id"]}
        usage = client.usage(start=now.date() - timedelta(days=1), end=now.date())
        assert usage["tier"] == "free" and usage["limits"]["requests_per_minute"] == 60

    with sdk.Client(live.url, "op_live_not-a-key") as stranger, \
            pytest.raises(sdk.ApiError) as caught:
        stranger.pair("ETH-USD")
    assert (caught.value.status, caught.value.code) == (401, "invalid_key")


@pytest.mark.django_db(transaction=True)
async def test_the_async_python_sdk_against_a_live_server(live):
    async with sdk.AsyncClient(live.url, live.key) as client:
        slugs = [pair["slug"] async for pair in client.pairs(limit=1)]
        assert sorted(slugs) == sorted(live.slugs)
        latest, health = await asyncio.gather(client.pair_latest("ETH-USD"),
                                              client.pair_health("ETH-USD"))
        assert latest["consensus"]["price"] == Decimal("3401")
        assert {row["feed"] for row in health["feeds"]} >= {live.feed}
        with pytest.raises(sdk.ApiError) as caught:
            await client.feed("no-such-feed")
        assert caught.value.code == "not_found"
        created = await client.create_key("async-made", scope="read_write")
        assert (await client.key(created["id"]))["name"] == "async-made"
        assert (await client.revoke_key(created["id"]))["revoked_at"] is not None
        assert (await client.usage())["tier"] == "free"


WEBHOOK_URL = "http://127.0.0.1:9/hook"  # validates offline once 127.0.0.1 is allowed


@pytest.mark.django_db(transaction=True)
def test_the_python_sdk_manages_webhooks_against_a_live_server(live, settings, tenants):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    set_plan(tenants["org"], "pro")  # several endpoints
    with sdk.Client(live.url, live.key) as client:
        created = client.create_webhook(WEBHOOK_URL, events=["alert.opened"],
                                        description="sdk")
        assert created["secret"].startswith("whsec_") and created["enabled"] is True
        other = client.create_webhook(WEBHOOK_URL, events=["alert.resolved"])
        assert [w["id"] for w in client.webhooks(limit=1)] == [other["id"], created["id"]]
        assert "secret" not in client.webhook(created["id"])
        updated = client.update_webhook(created["id"], url=WEBHOOK_URL + "2",
                                        events=["alert.opened", "alert.resolved"],
                                        pairs=["ETH-USD"], enabled=False)
        assert (updated["url"], updated["pairs"], updated["enabled"]) == (
            WEBHOOK_URL + "2", ["ETH-USD"], False)
        assert client.rotate_webhook_secret(created["id"])["secret"] != created["secret"]
        sent = client.test_webhook(created["id"])
        assert (sent["event_type"], sent["status"], sent["recent_attempts"]) == (
            "webhook.test", "pending", [])
        assert [m["msg_id"] for m in client.webhook_messages(created["id"])] == [sent["msg_id"]]
        again = client.redeliver_webhook_message(created["id"], sent["msg_id"])
        assert again["msg_id"] == sent["msg_id"] and again["status"] == "pending"
        with pytest.raises(sdk.ApiError) as caught:
            client.create_webhook("http://10.0.0.1/x", events=["alert.opened"])
        assert caught.value.status == 400 and "url" in caught.value.details
        assert client.delete_webhook(created["id"]) is None
        with pytest.raises(sdk.ApiError) as caught:
            client.webhook(created["id"])
        assert caught.value.status == 404

    async def the_async_client() -> None:
        async with sdk.AsyncClient(live.url, live.key) as aclient:
            assert [w["id"] async for w in aclient.webhooks()] == [other["id"]]
            assert (await aclient.test_webhook(other["id"]))["status"] == "pending"
            assert len(await aclient.webhook_messages(other["id"]).to_list()) == 1
            assert await aclient.delete_webhook(other["id"]) is None

    asyncio.run(the_async_client())


@pytest.mark.django_db(transaction=True)
def test_the_python_sdk_manages_alerts_against_a_live_server(live, tenants):
    from django.utils import timezone

    from apps.alerts.models import Incident

    set_plan(tenants["org"], "pro")  # every channel kind
    with sdk.Client(live.url, live.key) as client:
        channel = client.create_alert_channel("email", "ops", {"to": ["ops@example.com"]})
        assert channel["config_summary"] == {"to": ["ops@example.com"]}
        assert [c["id"] for c in client.alert_channels()] == [channel["id"]]
        assert client.test_alert_channel(channel["id"])["ok"] is True
        renamed = client.update_alert_channel(channel["id"], name="ops 2", enabled=False)
        assert (renamed["name"], renamed["enabled"]) == ("ops 2", False)
        assert renamed["config_summary"] == channel["config_summary"]  # config kept
        with pytest.raises(sdk.ApiError) as caught:
            client.create_alert_channel("telegram", "t", {"chat_id": "x y"})
        assert caught.value.status == 400 and "config.bot_token" in caught.value.details

        rule = client.create_alert_rule("ETH high", kind="price_above", scope="pair",
                                        target="ETH-USD", params={"price": "3500"},
                                        channels=[channel["id"]])
        assert rule["params"]["price"] == Decimal("3500") and rule["channels"] == [channel["id"]]
        changed = client.update_alert_rule(rule["id"], name="ETH high", kind="price_above",
                                           scope="pair", target="ETH-USD",
                                           params={**rule["params"], "hysteresis_bps": "20"},
                                           severity="critical")
        assert changed["severity"] == "critical" and changed["channels"] == []
        assert client.alert_rule(rule["id"])["params"]["hysteresis_bps"] == "20"
        escalated = client.set_alert_rule_escalation(rule["id"], channels=[channel["id"]],
                                                     after_minutes=15)
        assert (escalated["escalation_channels"], escalated["escalate_after_minutes"]) == (
            [channel["id"]], 15)
        until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        assert client.mute_alert_rule(rule["id"], until)["muted_until"] == (
            until.isoformat().replace("+00:00", "Z"))
        assert client.mute_alert_rule(rule["id"], None)["muted_until"] is None
        with pytest.raises(sdk.ApiError) as caught:
            client.mute_alert_rule(rule["id"], until + timedelta(days=365))
        assert caught.value.status == 400 and "until" in caught.value.details
        window = client.create_maintenance_window(datetime.now(UTC), until, reason="sdk")
        assert (window["reason"], window["state"]) == ("sdk", "current")
        assert [w["id"] for w in client.maintenance_windows()] == [window["id"]]
        assert client.delete_maintenance_window(window["id"]) is None  # on: it holds back
        with pytest.raises(sdk.ApiError) as caught:
            client.create_alert_rule("bad", kind="price_above", scope="pair",
                                     target="ETH-USD", params={"price": "-1"})
        assert "params.price" in caught.value.details

        incident = Incident.objects.create(rule_id=rule["id"], organization=tenants["org"],
                                           subject="ETH-USD", summary="above 3500",
                                           opened_at=timezone.now())
        assert [i["id"] for i in client.incidents(state="open", rule=rule["id"])] == [
            incident.pk]
        acknowledged = client.acknowledge_incident(incident.pk)
        assert acknowledged["state"] == "acknowledged"
        assert acknowledged["events"][-1]["detail"].startswith("by API key op_live_")
        assert client.incident(incident.pk)["events"] == acknowledged["events"]
        assert client.incidents(state="open").to_list() == []

    async def the_async_client() -> None:
        async with sdk.AsyncClient(live.url, live.key) as aclient:
            assert [r["id"] async for r in aclient.alert_rules()] == [rule["id"]]
            assert (await aclient.incident(incident.pk))["state"] == "acknowledged"
            off = await aclient.set_alert_rule_escalation(rule["id"], channels=[],
                                                          after_minutes=0)
            assert (off["escalation_channels"], off["escalate_after_minutes"]) == ([], 0)
            assert (await aclient.mute_alert_rule(rule["id"], until))["muted_until"]
            later = await aclient.create_maintenance_window(until, until + timedelta(hours=1))
            assert later["state"] == "upcoming"
            assert [w["id"] async for w in aclient.maintenance_windows()] == [later["id"]]
            assert await aclient.delete_maintenance_window(later["id"]) is None
            assert await aclient.delete_alert_rule(rule["id"]) is None
            assert await aclient.delete_alert_channel(channel["id"]) is None
            with pytest.raises(sdk.ApiError) as caught:
                await aclient.alert_channel(channel["id"])
            assert caught.value.status == 404

    asyncio.run(the_async_client())


@pytest.mark.django_db(transaction=True)
def test_the_js_sdk_suite_against_a_live_server(live, node, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    env = {**os.environ, "OP_BASE_URL": live.url, "OP_API_KEY": live.key, "OP_PAIR": live.pair,
           "OP_WEBHOOK_URL": WEBHOOK_URL}
    run = subprocess.run([node, "--test", "--test-reporter=spec",
                          str(SDK_JS / "test" / "unit.test.mjs"),
                          str(SDK_JS / "test" / "live.test.mjs")],
                         capture_output=True, text=True, timeout=60, env=env, cwd=SDK_JS,
                         check=False)
    assert run.returncode == 0, f"node --test failed:\n{run.stdout}\n{run.stderr}"
    assert re.search(r"pass \d+", run.stdout) and "fail 0" in run.stdout, run.stdout
