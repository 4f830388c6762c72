"""`ws_latency`: a devnet transaction mined → the `pair` message at each of 1,000 WebSocket
clients (run by `make bench BENCH=ws_latency`).

Everything runs as production runs it, each in its own process, against a scratch database and
REDIS_URL: the devnet (anvil, behind its JSON-RPC proxy) in this process; the ASGI server as
deploy/README.md starts it (`uvicorn oracle_platform.asgi:application --ws websockets-sansio`);
Celery beat and a Celery worker, which tick `sync_chain` (read the chain, store observations)
and then run the queued `refresh_pairs` (consensus, publish to the Redis channel layer); and
the clients in `benchmarks/ws_clients.py`, one asyncio process, one user and session each (the
per-user connection cap stays as configured).

Each round announces the round's new price to the clients, sends a Chainlink round with that
price (`transmit`, as the devnet's market does) and mines it at a random moment of the sync
worker's poll interval (`evm_mine`, as the tests' clock does): with the devnet's own block timer
the tx would always land at the same phase of the poll, and a run would measure one phase.
Redis is flushed at the start (as `sync_tick` does): stale sync locks, breakers and
connection counters of an earlier run would otherwise stall or refuse this one.
"""
from __future__ import annotations

import json
import os
import queue
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from importlib import import_module
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.hashers import make_password
from django.core.cache import cache

from apps.devnet import chain as evm
from apps.feeds.models import Feed, Pair
from apps.feeds.pair_state import state_key
from apps.protocols.models import SyncRun
from apps.protocols.services import load_catalog
from benchmarks.harness import Context, Result, benchmark, database_label, scratch_database
from benchmarks.processes import (
    database_url,
    listening,
    percentile,
    spawn,
    start_devnet,
    tail,
    version,
    wait_for,
)

CLIENTS = 1_000
ROUNDS = 8  # 8,000 samples at full scale
PAIR = "ETH-USD"
TARGET = "value < 1000"  # ms, p99 of mined → received
ROUND_TIMEOUT = 15.0  # seconds a round waits for its messages before counting the rest missing
START_TIMEOUT = 90.0  # seconds for the server, the worker's first consensus and the handshakes
CONNECT_CONCURRENCY = 50  # WebSocket handshakes in flight at once
MOVE_BPS = 10  # each round moves the feed 0.1 % further: new, and far from any jump limit


@benchmark("ws_latency")
def ws_latency(context: Context) -> Iterator[Result]:
    """Devnet tx mined → `pair` message at each of 1,000 WebSocket clients: p50/p99 (ms)."""
    if not settings.REDIS_URL:
        # The sync worker, the server and the clients are separate processes: without Redis
        # there is no channel layer between them (and no Celery broker), so nothing to measure.
        context.log("ws_latency: skipped: REDIS_URL is not set (the processes share the "
                    "channel layer and the Celery broker through Redis)")
        return
    clients = context.scaled(CLIENTS, minimum=10)
    rounds = max(3, min(ROUNDS, context.scaled(ROUNDS)))
    with scratch_database("bench_ws") as scratch, ExitStack() as stack:
        yield from _ws_latency(context, stack, scratch, clients, rounds)


def _ws_latency(context: Context, stack: ExitStack, scratch: str, clients: int, rounds: int
                ) -> Iterator[Result]:
    logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="op-ws-bench-")))
    cache.clear()
    load_catalog("devnet")
    # Only the chains: the off-chain simulators are not started, and their sync ticks would
    # only time out against closed ports.
    Feed.objects.exclude(source_kind=Feed.SourceKind.EVM).update(enabled=False)
    devnet = start_devnet(context, stack, "ws_latency")
    spec = next(f for f in devnet.feeds if f.protocol == "chainlink" and f.chain == "ethereum"
                and f"{f.base}-{f.quote}" == PAIR)
    pair = Pair.objects.get(slug=PAIR)
    sessions = _sessions(clients)

    port = evm.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(scratch),
        "DEBUG": "false",  # as in production: no query log in the server or the worker
        "OP_TASKS_MODE": "celery",
        "OP_RUN_TASKS_INLINE": "false",
        "PYTHONUNBUFFERED": "1",
        **{f"OP_RPC_URL_{slug.upper()}": proxy.url for slug, proxy in devnet.proxies.items()},
        # The off-chain protocols' feeds are disabled (no simulators run): no ticks for them,
        # which would only queue beside the chain's.
        **{f"OP_SYNC_INTERVAL_{slug.upper()}": "3600" for slug in settings.OP_DEVNET_HTTP_PORTS},
    }
    server_command = ["uvicorn", "oracle_platform.asgi:application", "--host", "127.0.0.1",
                      "--port", str(port), "--ws", "websockets-sansio", "--lifespan", "off",
                      "--log-level", "warning"]
    worker_command = ["celery", "-A", "oracle_platform", "worker", "--loglevel", "WARNING",
                      "--hostname", f"ws-bench-{os.getpid()}@%h"]
    beat_command = ["celery", "-A", "oracle_platform", "beat", "--loglevel", "WARNING"]
    context.log(f"ws_latency: starting uvicorn on :{port}, Celery worker and beat")
    server = spawn(stack, server_command, env, logs / "server.log")
    worker = spawn(stack, worker_command, env, logs / "worker.log")
    spawn(stack, beat_command, env, logs / "beat.log")
    wait_for(lambda: listening(port), "the server to listen", logs / "server.log", server,
             label="ws_latency", timeout=START_TIMEOUT)
    wait_for(lambda: cache.get(state_key(pair.pk)) is not None,
             f"the worker's first {PAIR} consensus", logs / "worker.log", worker,
             label="ws_latency", timeout=START_TIMEOUT)

    context.log(f"ws_latency: opening {clients:,} WebSocket connections")
    client = _Clients(stack, env, logs / "clients.log")
    ready = client.start({
        "url": f"ws://127.0.0.1:{port}/ws/live/", "origin": f"http://127.0.0.1:{port}",
        "cookie_name": settings.SESSION_COOKIE_NAME, "sessions": sessions, "pair": PAIR,
        "open_timeout": 30, "concurrency": CONNECT_CONCURRENCY,
    })
    if not ready["connected"]:
        raise RuntimeError(f"ws_latency: no WebSocket client connected: {ready['errors']}")
    context.log(f"ws_latency: {ready['connected']:,} connected in {ready['seconds']:.1f} s")

    interval = settings.OP_SYNC_INTERVALS["ethereum"]
    # One unmeasured round first: the first reads of all 210 feeds, their rollups and the
    # consensus of every pair are start-up work, not the steady state being measured.
    _rounds(context, devnet, spec, client, 1, interval, first=0)
    latencies, to_computed, fanout, missing = _rounds(context, devnet, spec, client, rounds,
                                                      interval, first=1)
    done = client.stop()
    if missing:  # the logs die with the temporary directory: show why while they exist
        for name in ("worker", "beat", "server"):
            context.log(f"ws_latency: {name} log (tail):\n{tail(logs / f'{name}.log')}")
        context.log(f"ws_latency: the chain's reads during the run:\n{_sync_runs(spec)}")
    latencies.sort()
    fanout.sort()
    expected = ready["connected"] * rounds
    config: dict[str, Any] = {
        "database": database_label(),
        "server": f"uvicorn {version('uvicorn')} (oracle_platform.asgi:application, ws "
                  "websockets-sansio), 1 process, settings.local with DEBUG off",
        "workers": f"uvicorn 1; Celery worker (prefork, default concurrency = "
                   f"{os.cpu_count()} CPUs) + Celery beat: sync_chain every {interval:g} s per "
                   "chain, then the queued refresh_pairs",
        "layer": f"channels_redis {version('channels_redis')} "
                 f"({settings.CHANNEL_LAYERS['default']['BACKEND']})",
        "clients": clients,
        "connected": ready["connected"],
        "connect_failures": ready["failed"],
        "connect_seconds": round(ready["seconds"], 3),
        "users": f"{clients} users, one session and one connection each "
                 f"(OP_WS_MAX_CONNECTIONS_PER_USER={settings.OP_WS_MAX_CONNECTIONS_PER_USER} "
                 "unchanged)",
        "rounds": rounds,
        "samples": len(latencies),
        "pair": PAIR,
        "moved_feed": spec.key,
        "devnet": f"anvil, {len(devnet.feeds)} on-chain feeds on {', '.join(devnet.chains)}, "
                  "market loop off; each round one transmit, mined by evm_mine at a random "
                  f"moment of the {interval:g} s poll",
        "mined_at": "wall clock when evm_mine returned (the receipt is then checked)",
        "clients_cpu": f"one asyncio process on the same {os.cpu_count()} CPUs as the server, "
                       f"the worker, anvil, PostgreSQL and Redis; it used "
                       f"{done['cpu_seconds']:.1f} s CPU over {done['wall_seconds']:.1f} s",
        "p50_mined_to_computed_ms": round(percentile(sorted(to_computed), 0.5), 1),
        "what": "received − mined, per client per round; a missing message is not a sample",
    }
    if not latencies:
        raise RuntimeError(f"ws_latency: no client received any round ({missing} missing)")
    yield Result("ws_latency", "p50_ms", percentile(latencies, 0.5), "ms", config=config)
    yield Result("ws_latency", "p99_ms", percentile(latencies, 0.99), "ms", target=TARGET,
                 config=config)
    yield Result("ws_latency", "max_ms", latencies[-1], "ms", config=config)
    yield Result("ws_latency", "messages_received", len(latencies), "messages",
                 baseline=expected, target="ratio >= 1",
                 config={**config, "baseline_is": "connected clients × rounds"})
    fanout_config = {**config, "what": "received − the state's computed_at (refresh_pairs "
                                       "start): consensus, publish, channel layer, server, client"}
    yield Result("ws_latency", "refresh_to_receive_p50_ms", percentile(fanout, 0.5), "ms",
                 config=fanout_config)
    yield Result("ws_latency", "refresh_to_receive_p99_ms", percentile(fanout, 0.99), "ms",
                 config=fanout_config)


def _rounds(context: Context, devnet: Any, spec: Any, client: _Clients, rounds: int,
            interval: float, first: int) -> tuple[list[float], list[float], list[float], int]:
    """Run rounds first … first + rounds - 1 (round 0 is the warm-up); latencies (ms) mined →
    received, mined → computed_at (one per round), computed_at → received, and how many
    messages never came."""
    chain = devnet.chains[spec.chain]
    rng = random.Random(20261126)
    latencies, to_computed, fanout, missing = [], [], [], 0
    for number in range(first, first + rounds):
        price = spec.last_value * (1 + Decimal(MOVE_BPS * (number + 1)) / 10_000)
        value = int(price.scaleb(spec.decimals).to_integral_value(ROUND_HALF_EVEN))
        client.ask({"expect": number, "key": spec.key,
                    "price": str(Decimal(value).scaleb(-spec.decimals))}, "expecting")
        time.sleep(rng.uniform(0, interval))
        tx = chain.send(spec.contract.functions.transmit(value, int(time.time())))
        evm.rpc(chain.w3, "evm_mine")
        mined = time.time()
        receipt = chain.w3.eth.get_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise RuntimeError(f"ws_latency: round {number}'s transmit reverted")
        answer = client.ask({"collect": number, "timeout": ROUND_TIMEOUT}, "round",
                            timeout=ROUND_TIMEOUT + 10)
        times = answer["times"]
        missing += client.connected - len(times)
        if not times:
            context.log(f"ws_latency: round {number}: nothing received")
            continue
        computed = datetime.fromisoformat(answer["computed_at"]).timestamp()
        latencies += [(t - mined) * 1000 for t in times]
        to_computed.append((computed - mined) * 1000)
        fanout += [(t - computed) * 1000 for t in times]
        context.log(f"ws_latency: round {number}: {len(times):,}/{client.connected:,} received "
                    f"{min(times) - mined:.3f}–{max(times) - mined:.3f} s after mined; state "
                    f"computed at +{computed - mined:.3f} s")
    return latencies, to_computed, fanout, missing


def _sync_runs(spec: Any) -> str:
    """The moved feed's chain: reads that failed or found the breaker open, and how many
    reads there were per 5 s (a stall shows as a gap)."""
    runs = list(SyncRun.objects.filter(protocol__slug=spec.protocol, chain__slug=spec.chain)
                .order_by("started_at")
                .values_list("started_at", "duration_ms", "new", "failed", "error_class",
                             "breaker"))
    lines: list[str] = []
    buckets: dict[int, int] = {}  # 5 s bucket start -> reads
    for started, duration, new, failed, error, breaker in runs:
        buckets[int(started.timestamp()) // 5 * 5] = buckets.get(
            int(started.timestamp()) // 5 * 5, 0) + 1
        if failed or error or breaker != "closed":
            lines.append(f"{started:%H:%M:%S.%f} {duration} ms new={new} failed={failed} "
                         f"{error} breaker={breaker}")
    timeline = " ".join(f"{time.strftime('%H:%M:%S', time.gmtime(t))}:{n}"
                        for t, n in sorted(buckets.items()))
    return "\n".join([*lines[-30:], f"reads per 5 s: {timeline}"])


class _Clients:
    """The client process (benchmarks/ws_clients.py), spoken to in JSON lines."""

    def __init__(self, stack: ExitStack, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = spawn(stack, [sys.executable, "-m", "benchmarks.ws_clients"], env, log,
                              pipes=True)
        assert self.process.stdin is not None  # pipes=True opened it
        self.orders: IO[str] = self.process.stdin
        self.answers: queue.Queue[dict | None] = queue.Queue()
        self.connected = 0
        # A thread reads stdout so that every wait below can have a timeout.
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.answers.put(json.loads(line))
        self.answers.put(None)

    def start(self, config: dict) -> dict:
        ready = self.ask(config, "ready", timeout=START_TIMEOUT)
        self.connected = ready["connected"]
        return ready

    def ask(self, order: dict, event: str, timeout: float = 10.0) -> dict:
        self.orders.write(json.dumps(order) + "\n")
        self.orders.flush()
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            answer = None
        if answer is None or answer.get("event") != event:
            raise RuntimeError(f"ws_latency: the client process did not answer {event!r} "
                               f"(got {answer}):\n{tail(self.log)}")
        return answer

    def stop(self) -> dict:
        return self.ask({"quit": True}, "done", timeout=30)


def _sessions(count: int) -> list[str]:
    """`count` users, each logged in once: session keys as the login view would leave them."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    user_model = get_user_model()
    # Unusable passwords: hashing a real one 1,000 times would take minutes and prove nothing.
    users = user_model.objects.bulk_create(
        user_model(email=f"ws-bench-{i}@example.com", password=make_password(None))
        for i in range(count)
    )
    keys = []
    for user in users:
        store = store_class()
        store.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.
                      AUTHENTICATION_BACKENDS[0], HASH_SESSION_KEY: user.get_session_auth_hash()})
        store.create()
        keys.append(store.session_key)
    return keys
