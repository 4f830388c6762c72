"""`/ws/v1/prices`: key holders subscribe to pairs and feeds, get a snapshot then updates,
heartbeats, clear errors, and a per-plan connection cap shared across instances."""
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from apps.api.consumers import PriceStreamConsumer
from apps.api_keys.services import create_key, revoke_key
from tests.factories import (
    AssetFactory,
    OrganizationFactory,
    PairFactory,
    observation,
    priced,
)
from tests.websocket import WebsocketCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def world(plan: str = "free"):
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    feeds = [priced(eth, "chainlink", "3400"), priced(eth, "pyth", "3402")]
    organization = OrganizationFactory(plan=plan)
    _, raw = create_key(organization, name="stream")
    return raw, feeds, organization


@database_sync_to_async
def publish(feed, value: str):
    from datetime import timedelta

    from django.utils import timezone

    from apps.feeds.services import store_observations

    store_observations([observation(feed, int(Decimal(value).scaleb(8)),
                                     timezone.now() - timedelta(seconds=1))])


async def connect(raw: str | None, *, header: bool = False):
    path = "/ws/v1/prices"
    communicator = WebsocketCommunicator(PriceStreamConsumer.as_asgi(), path)
    if raw and header:
        communicator.scope["headers"] = [(b"authorization", f"Bearer {raw}".encode())]
    elif raw:
        communicator.scope["query_string"] = f"api_key={raw}".encode()
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_a_subscriber_gets_a_snapshot_then_each_update():
    raw, (chainlink, pyth), _ = await world()
    ws, connected = await connect(raw)
    assert connected
    await ws.send_json_to({"action": "subscribe", "pairs": ["ETH-USD"],
                           "feeds": [pyth.key]})
    pair_snapshot = await ws.receive_json_from()
    assert pair_snapshot["type"] == "snapshot" and pair_snapshot["pair"] == "ETH-USD"
    assert pair_snapshot["state"]["consensus"]["price"] == "3401.00000000"
    feed_snapshot = await ws.receive_json_from()
    assert feed_snapshot["feed"] == pyth.key and feed_snapshot["state"]["price"] == "3402.00000000"
    await publish(chainlink, "3410")
    delta = await ws.receive_json_from()
    assert delta["type"] == "delta" and delta["pair"] == "ETH-USD"
    assert Decimal(delta["consensus"]["price"]) == Decimal("3406")
    # Only the rows that changed: Chainlink's price, and Pyth's deviation from the consensus.
    assert {row["feed"] for row in delta["feeds"]} == {chainlink.key, pyth.key}
    feed_delta = await ws.receive_json_from()
    assert feed_delta["type"] == "delta" and feed_delta["feed"] == pyth.key
    await ws.send_json_to({"action": "unsubscribe", "pairs": ["ETH-USD"], "feeds": [pyth.key]})
    assert (await ws.receive_json_from())["type"] == "unsubscribed"
    await publish(chainlink, "3420")
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_a_recomputation_that_changed_nothing_sends_nothing():
    raw, (chainlink, _), _ = await world()
    ws, _ = await connect(raw)
    await ws.send_json_to({"action": "subscribe", "pairs": ["ETH-USD"]})
    await ws.receive_json_from()
    await database_sync_to_async(_refresh)(chainlink.pair_id)
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


def _refresh(pair_id: int) -> None:
    from apps.feeds.pair_state import refresh_pairs

    refresh_pairs([pair_id])


async def test_the_key_may_come_as_a_header():
    raw, _, _ = await world()
    ws, connected = await connect(raw, header=True)
    assert connected
    await ws.send_json_to({"action": "subscribe", "pairs": ["ETH-USD"]})
    assert (await ws.receive_json_from())["type"] == "snapshot"
    await ws.disconnect()


@pytest.mark.parametrize("raw", [None, "op_live_nonsense"])
async def test_without_a_valid_key_an_error_frame_then_close(raw):
    await world()
    ws, _ = await connect(raw)
    error = await ws.receive_json_from()
    assert error["type"] == "error" and error["code"] == "invalid_key"
    closed = await ws.receive_output(5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401


async def test_a_revoked_key_cannot_connect():
    raw, _, _ = await world()
    from apps.api_keys.principal import from_key

    principal = await database_sync_to_async(from_key)(raw)
    from apps.api_keys.models import ApiKey

    key = await database_sync_to_async(ApiKey.objects.get)(pk=principal.key_id)
    await database_sync_to_async(revoke_key)(key)
    from apps.api_keys import runtime

    runtime.forget_key(key.pk, revoked=False)
    ws, _ = await connect(raw)
    assert (await ws.receive_json_from())["code"] == "invalid_key"


async def test_bad_messages_get_error_frames_and_the_connection_stays(settings):
    raw, _, _ = await world()
    ws, _ = await connect(raw)
    await ws.send_input({"type": "websocket.receive", "text": "{nope"})
    assert (await ws.receive_json_from())["code"] == "bad_json"
    await ws.send_json_to({"action": "dance"})
    assert (await ws.receive_json_from())["code"] == "unknown_action"
    await ws.send_json_to({"action": "subscribe", "pairs": "ETH-USD"})
    assert (await ws.receive_json_from())["code"] == "bad_request"
    await ws.send_json_to({"action": "subscribe", "pairs": ["NOPE-USD", "ETH-USD"]})
    error = await ws.receive_json_from()
    assert error["code"] == "unknown_subscription" and error["details"]["unknown"] == ["NOPE-USD"]
    assert (await ws.receive_json_from())["type"] == "snapshot"  # the known one still works
    await ws.disconnect()


async def test_heartbeats_arrive(settings):
    settings.OP_WS_HEARTBEAT_SECONDS = 0.05
    raw, _, _ = await world()
    ws, _ = await connect(raw)
    message = await ws.receive_json_from(timeout=2)
    assert message["type"] == "heartbeat" and message["time"]
    await ws.disconnect()


async def test_connections_per_organization_are_capped_by_the_plan(settings):
    settings.OP_TIER_LIMITS = {"free": {"ws_connections": 2}}
    raw, _, _ = await world()
    first, second = (await connect(raw))[0], (await connect(raw))[0]
    third, _ = await connect(raw)
    refused = await third.receive_json_from()
    assert refused["code"] == "too_many_connections" and refused["details"]["limit"] == 2
    await first.disconnect()
    fourth, _ = await connect(raw)
    await fourth.send_json_to({"action": "subscribe", "pairs": ["ETH-USD"]})
    assert (await fourth.receive_json_from())["type"] == "snapshot"
    await second.disconnect()
    await fourth.disconnect()


async def test_a_downgrade_closes_the_newest_connections_past_the_new_cap(settings):
    from apps.billing.services import set_plan

    settings.OP_TIER_LIMITS = {"free": {"ws_connections": 1}}
    settings.OP_WS_HEARTBEAT_SECONDS = 0.05  # each heartbeat re-reads the plan
    raw, _, organization = await world(plan="pro")
    first, second = (await connect(raw))[0], (await connect(raw))[0]
    await database_sync_to_async(set_plan)(organization, "free")
    refused = await second.receive_json_from(timeout=2)
    while refused["type"] == "heartbeat":  # one may have been on its way
        refused = await second.receive_json_from(timeout=2)
    assert refused["code"] == "too_many_connections" and refused["details"]["limit"] == 1
    assert (await second.receive_output(2))["code"] == 4429
    assert (await first.receive_json_from(timeout=2))["type"] == "heartbeat"  # the oldest stays
    await first.disconnect()


@pytest.mark.redis
async def test_a_renewal_past_a_lowered_cap_frees_the_newest_slot_across_instances(settings):
    from apps.api_keys.connections import ConnectionSlots, new_connection_id

    one, two = ConnectionSlots(), ConnectionSlots()
    org = 20_000_000 + id(one) % 1_000_000
    old, new = new_connection_id(), new_connection_id()
    assert await one.acquire(org, old, 2) and await two.acquire(org, new, 2)
    assert not await two.renew(org, new, 1)  # the newest goes
    assert await one.renew(org, old, 1)  # the oldest stays
    assert await two.acquire(org, new_connection_id(), 2)  # its slot was freed
    await one.release(org, old)


@pytest.mark.redis
async def test_the_cap_holds_across_instances_and_lapses_for_a_crashed_one(settings):
    from apps.api_keys.connections import ConnectionSlots

    one, two = ConnectionSlots(), ConnectionSlots()  # two server processes
    org = 10_000_000 + id(one) % 1_000_000
    assert await one.acquire(org, "a", 2)
    assert await two.acquire(org, "b", 2)
    assert not await one.acquire(org, "c", 2)
    await two.release(org, "b")
    assert await one.acquire(org, "c", 2)
    # "a" and "c" belong to a crashed instance: their lease runs out without a release.
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.zadd(f"op:ws:org:{org}", {"a": 1, "c": 1})
    assert await two.acquire(org, "d", 2)
    client.delete(f"op:ws:org:{org}")



def test_the_production_websocket_server_negotiates_permessage_deflate(tmp_path):
    """uvicorn as deploy/ runs it; a client offering compression gets it."""
    import asyncio
    import json
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import websockets

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "uvicorn"), "oracle_platform.asgi:application",
         "--host", "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def handshake() -> tuple[str, dict]:
        url = f"ws://127.0.0.1:{port}/ws/v1/prices?api_key=nope"
        async with websockets.connect(url, origin=f"http://127.0.0.1:{port}") as ws:
            return ws.response.headers.get("Sec-WebSocket-Extensions", ""), \
                json.loads(await ws.recv())

    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        extensions, first = asyncio.run(handshake())
    finally:
        server.terminate()
        server.wait(10)
    assert extensions.startswith("permessage-deflate")
    assert first["code"] == "invalid_key"


async def test_a_key_revoked_while_connected_is_disconnected_at_the_next_heartbeat(settings):
    from apps.api_keys.models import ApiKey
    from apps.api_keys.principal import from_key

    settings.OP_WS_HEARTBEAT_SECONDS = 0.05
    raw, _, _ = await world()
    ws, _ = await connect(raw)
    principal = await database_sync_to_async(from_key)(raw)
    key = await database_sync_to_async(ApiKey.objects.get)(pk=principal.key_id)
    await database_sync_to_async(revoke_key)(key)
    error = await ws.receive_json_from(timeout=2)
    assert error["type"] == "error" and error["code"] == "invalid_key"
    assert (await ws.receive_output(2))["code"] == 4401


async def test_a_client_flooding_messages_is_told_to_slow_down():
    raw, _, _ = await world()
    ws, _ = await connect(raw)
    for _ in range(20):
        await ws.send_json_to({"action": "dance"})
        assert (await ws.receive_json_from())["code"] == "unknown_action"
    await ws.send_json_to({"action": "subscribe", "pairs": ["ETH-USD"]})
    refused = await ws.receive_json_from()
    assert refused["code"] == "rate_limited" and refused["details"]["retry_after"] > 0
    await ws.disconnect()
