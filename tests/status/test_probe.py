"""The availability probe calls the running service from outside (a live uvicorn serving the
ASGI app, HTTP and WebSocket) and records what it got; the public endpoints it calls."""
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from django.core.cache import cache
from django.db import DatabaseError

from apps.devnet.chain import free_port
from apps.protocols.breaker import Breaker
from apps.protocols.models import FeedReadState, SyncRun
from apps.protocols.selectors import last_sync_key
from apps.protocols.sync import sync_protocol
from apps.status import consumers, selectors
from apps.status.models import API, WEBSOCKET, ComponentDay, ProbeResult, State
from apps.status.selectors import ingestion_checks
from apps.status.services import prune_probe_results, run_probe
from oracle_platform.asgi import application
from tests.factories import ChainFactory, FeedFactory, ProtocolFactory
from tests.websocket import WebsocketCommunicator

DIA = json.loads((Path(__file__).parents[1] / "fixtures/real/dia_quotation_responses.json")
                 .read_text())["assetQuotation_BTC"]["response"]


def results() -> dict[str, ProbeResult]:
    return {r.component: r for r in ProbeResult.objects.all()}


def test_a_probe_of_the_running_service_records_the_api_and_websocket_answering(
        live_server_url, settings):
    settings.OP_STATUS_PROBE_URL = live_server_url
    run_probe()
    found = results()
    assert set(found) == {API, WEBSOCKET}  # no protocol enabled: no ingestion components
    for component in (API, WEBSOCKET):
        assert found[component].ok and found[component].state == State.UP
        assert isinstance(found[component].latency_ms, int)
        assert found[component].detail == ""
    assert {(d.component, d.minutes, d.ok_minutes) for d in ComponentDay.objects.all()} == {
        (API, 1, 1), (WEBSOCKET, 1, 1)}


def test_a_probe_of_a_service_that_does_not_answer_records_failures(db, settings):
    settings.OP_STATUS_PROBE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    run_probe()
    found = results()
    for component in (API, WEBSOCKET):
        assert not found[component].ok and found[component].state == State.DOWN
        assert "refused" in found[component].detail.lower()
    assert {(d.component, d.minutes, d.ok_minutes) for d in ComponentDay.objects.all()} == {
        (API, 1, 0), (WEBSOCKET, 1, 0)}


def test_a_service_that_cannot_reach_its_database_is_recorded_as_failing(
        live_server_url, settings, monkeypatch):
    def broken() -> None:
        raise DatabaseError("connection refused")

    settings.OP_STATUS_PROBE_URL = live_server_url
    monkeypatch.setattr(selectors, "service_check", broken)  # the server runs in this process
    run_probe()
    found = results()
    assert (found[API].ok, found[API].detail) == (False, "HTTP 503")
    assert (found[WEBSOCKET].ok, found[WEBSOCKET].detail) == (False, "unexpected answer "
                                                                      "unavailable")


def test_the_status_endpoint_is_public_and_answers_from_the_database_and_cache(client, db):
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/api/v1/status").status_code == 405


def test_the_status_endpoint_answers_503_when_the_database_fails(client, db, monkeypatch):
    def broken() -> None:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(selectors, "service_check", broken)
    response = client.get("/api/v1/status")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert "refused" not in response.content.decode()  # the cause is logged, not published


@pytest.mark.django_db(transaction=True)
async def test_the_status_websocket_answers_a_ping_with_a_pong_and_closes():
    ws = WebsocketCommunicator(application, "/ws/v1/status")
    ws.scope["headers"] = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    assert (await ws.connect())[0]
    await ws.send_json_to({"action": "dance"})
    assert (await ws.receive_json_from())["code"] == "unknown_action"
    await ws.send_json_to({"action": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"
    assert (await ws.receive_output())["type"] == "websocket.close"


@pytest.mark.django_db(transaction=True)
async def test_an_idle_status_websocket_is_closed(monkeypatch):
    monkeypatch.setattr(consumers, "IDLE_SECONDS", 0.05)
    ws = WebsocketCommunicator(application, "/ws/v1/status")
    ws.scope["headers"] = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    assert (await ws.connect())[0]
    assert (await ws.receive_output(2))["type"] == "websocket.close"


# --- ingestion, from the platform's own records ----------------------------------------------

def test_ingestion_states_come_from_the_sync_engines_records(db, settings):
    now = datetime.now(UTC)
    settings.OP_DIA_API_URL = "http://dia.test"
    FeedFactory(key="dia-btc", protocol=ProtocolFactory(slug="dia", name="DIA"), chain=None,
                source_kind="http", params={"symbol": DIA["Symbol"]})
    band = FeedFactory(key="band-eth", protocol=ProtocolFactory(slug="band", name="Band"),
                       chain=None, source_kind="http", params={"symbol": "ETH"})
    chainlink = ProtocolFactory(slug="chainlink", name="Chainlink")
    on_ethereum = FeedFactory(protocol=chainlink, chain=ChainFactory())
    FeedFactory(protocol=chainlink, chain=ChainFactory(slug="base", name="Base", chain_id=8453))
    FeedFactory(protocol=ProtocolFactory(slug="tellor", name="Tellor"), enabled=False)
    fresh = {**DIA, "Time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}  # DIA's shape
    with responses.RequestsMock() as mocked:
        mocked.get(f"http://dia.test/v1/quotation/{DIA['Symbol']}",
                   body=json.dumps(fresh).encode())
        (run,) = sync_protocol("dia")  # a real tick: the SyncRun and the engine's sync stamp
    assert run.ok == 1 and SyncRun.objects.filter(protocol__slug="dia").count() == 1
    cache.set(last_sync_key(band.protocol_id, None), now)
    for _ in range(settings.OP_BREAKER_FAILURES):
        Breaker("band", None).record(success=False)  # its API keeps failing: breaker open
    cache.set(last_sync_key(chainlink.pk, on_ethereum.chain_id), now)  # Base is not synced
    FeedReadState.objects.create(feed=on_ethereum, ok=False, reason="timeout", since=now)

    checks = {c.component: c for c in ingestion_checks(now)}

    assert set(checks) == {"ingestion:band", "ingestion:chainlink", "ingestion:dia"}
    assert (checks["ingestion:dia"].state, checks["ingestion:dia"].ok) == (State.UP, True)
    assert (checks["ingestion:band"].state, checks["ingestion:band"].ok) == (State.DOWN, False)
    assert checks["ingestion:band"].detail == "its API: circuit breaker open"
    assert (checks["ingestion:chainlink"].state, checks["ingestion:chainlink"].ok) == (
        State.DEGRADED, False)
    assert checks["ingestion:chainlink"].detail == ("base: no recent sync; 1 feed(s) failing "
                                                    "reads")


def test_failing_feeds_alone_degrade_a_protocol_but_keep_it_available(db):
    now = datetime.now(UTC)
    feed = FeedFactory()
    cache.set(last_sync_key(feed.protocol_id, feed.chain_id), now)
    FeedReadState.objects.create(feed=feed, ok=False, reason="reverted", since=now)
    (check,) = ingestion_checks(now)
    assert (check.state, check.ok) == (State.DEGRADED, True)


def test_each_probe_run_records_one_row_per_component_with_ingestion(db, settings):
    settings.OP_STATUS_PROBE_URL = f"http://127.0.0.1:{free_port()}"
    FeedFactory()  # chainlink on ethereum, never synced
    run_probe()
    found = results()
    assert set(found) == {API, WEBSOCKET, "ingestion:chainlink"}
    assert found["ingestion:chainlink"].latency_ms is None
    assert found["ingestion:chainlink"].detail == "ethereum: no recent sync"
    assert len({r.at for r in found.values()}) == 1  # one run, one time


def test_probe_rows_are_pruned_after_the_retention_but_the_rollup_is_kept(db, settings):
    settings.OP_STATUS_PROBE_URL = f"http://127.0.0.1:{free_port()}"
    now = datetime.now(UTC)
    run_probe(now - timedelta(days=401))
    run_probe(now - timedelta(days=1))
    assert prune_probe_results(now) == 2
    assert {r.at for r in ProbeResult.objects.all()} == {now - timedelta(days=1)}
    assert ComponentDay.objects.filter(day=(now - timedelta(days=401)).date()).count() == 2
