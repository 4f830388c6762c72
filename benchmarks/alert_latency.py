"""`alert_latency` (run by `make bench`, see benchmarks/harness.py).

`alert_latency`: a devnet price move that breaches a rule → the `alert.opened` webhook at a
local receiver, with 1,000 active rules across 100 organizations (issue #9).

Everything on the path runs as production runs it, against a scratch database and REDIS_URL:
the devnet (anvil, behind its JSON-RPC proxy) in this process, market loop off and off-chain
feeds disabled; Celery beat and a Celery worker, which tick `sync_chain` (read the chains,
store observations), run the queued `refresh_pairs` (consensus), then the queued
`alerts.evaluate_pairs` (rules → incidents, with their `alert.opened` webhook messages in the
same transaction), and deliver the messages (`alerts.deliver_webhooks`). The receiver is a
threaded HTTP server in this process that notes when each POST arrived and answers 200.

Each organization has ten price rules: nine far from the market (several pairs, consensus and
feed scope) and one `price_above` on the ETH-USD consensus just above the devnet's price, with
`for_seconds` and `resolve_after_seconds` 0; and one webhook endpoint to the receiver. A round
writes a new price above the threshold to every on-chain ETH-USD feed (every protocol's vote
moves, so the consensus — a median of one vote per protocol — crosses), mines the blocks with
`evm_mine` at a random moment of the poll and delivery intervals, and waits for each
organization's `alert.opened`; then moves the price back below the hysteresis band and waits
for the `alert.resolved`s (a metric of its own). Interval mining is paused while a round's
transactions are sent, so they all land in the block whose `evm_mine` is the measured start.
"""
from __future__ import annotations

import inspect
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.test.utils import override_settings

from apps.accounts.models import Organization
from apps.alerts.models import DeliveryAttempt, Event, Rule, WebhookEndpoint, WebhookMessage
from apps.alerts.services.delivery import deliver_webhooks
from apps.alerts.services.rules import create_rule
from apps.alerts.services.webhooks import create_endpoint
from apps.devnet import chain as evm
from apps.devnet.simulators import ONCHAIN
from apps.feeds.models import Feed, Pair, PriceObservation
from apps.feeds.pair_state import state_key
from apps.protocols.models import SyncRun
from apps.protocols.services import load_catalog
from benchmarks.harness import (
    Context,
    Result,
    benchmark,
    database_label,
    redis_label,
    scratch_database,
)
from benchmarks.processes import (
    database_url,
    percentile,
    spawn,
    start_devnet,
    tail,
    wait_for,
)

NAME = "alert_latency"
ORGS = 100
RULES_PER_ORG = 10
ROUNDS = 5  # measured, after one unmeasured warm-up round: 500 samples at full scale
PAIR = "ETH-USD"
TARGET = "value < 2000"  # ms, p99 of mined → webhook received
THRESHOLD_BPS = 20  # the firing rule's threshold: this far above the base price
UP_BPS = 30  # a round moves the price this far above the threshold (+1 bp per round: new)
ROUND_TIMEOUT = 20.0  # seconds a round waits for its webhooks before counting the rest missing
START_TIMEOUT = 120.0  # seconds for the worker's first consensus
RECEIVER_HOST = "127.0.0.1"
POLL = 0.01  # seconds between two reads of the pair's cached state (breakdown only)
SEED = 20261126


@benchmark(NAME)
def alert_latency(context: Context) -> Iterator[Result]:
    """Devnet price move breaching a rule → alert.opened webhook received: p50/p99 (ms),
    1,000 active rules across 100 organizations."""
    if not settings.REDIS_URL:
        # The worker, beat and this process are separate: without Redis there is no Celery
        # broker and no shared state cache between them, so nothing to measure.
        context.log(f"{NAME}: skipped: REDIS_URL is not set (the Celery worker and beat need "
                    "it as their broker and shared cache)")
        return
    if not os.environ.get("DATABASE_URL") or connection.vendor != "postgresql":
        # Delivery claims messages with SELECT … FOR UPDATE SKIP LOCKED and the processes
        # share the scratch database: SQLite is not the production path and locks up here.
        context.log(f"{NAME}: skipped: DATABASE_URL is not PostgreSQL (the worker, beat and "
                    "this process share the scratch database, as production does)")
        return
    orgs = context.scaled(ORGS, minimum=5)
    rounds = max(3, min(ROUNDS, context.scaled(ROUNDS)))
    with scratch_database("bench_alerts") as scratch, ExitStack() as stack:
        yield from _alert_latency(context, stack, scratch, orgs, rounds)


# --- the receiver -------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    # The platform sends 16 requests at once; http.server's default listen backlog of 5 drops
    # the rest's SYNs, which the kernel retries after a second — a delay of the receiver's,
    # not of the platform's.
    request_queue_size = 128


@dataclass(frozen=True)
class Delivery:
    received: float  # wall clock, once the whole body was read
    path: str  # /org-<n>: which organization's endpoint
    msg_id: str  # the webhook-id header
    event: str
    body: dict


@dataclass
class Receiver:
    """A threaded HTTP server that records every POST and answers 200 at once."""

    deliveries: list[Delivery] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None

    def start(self, stack: ExitStack) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = time.time()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                receiver.add(Delivery(received, self.path, self.headers.get("webhook-id", ""),
                                      body.get("type", ""), body))

            def log_message(self, *args: Any) -> None:
                pass  # one line per request on stderr would drown the progress log

        self.server = _Server((RECEIVER_HOST, 0), Handler)
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver",
                                  daemon=True)
        thread.start()
        stack.callback(self.server.server_close)
        stack.callback(self.server.shutdown)

    def url(self, org: int) -> str:
        assert self.server is not None  # start() made it
        return f"http://{RECEIVER_HOST}:{self.server.server_address[1]}/org-{org}"

    def add(self, delivery: Delivery) -> None:
        with self.changed:
            self.deliveries.append(delivery)
            self.changed.notify_all()

    def mark(self) -> int:
        with self.changed:
            return len(self.deliveries)

    def wait(self, mark: int, event: str, paths: set[str], timeout: float
             ) -> tuple[dict[str, Delivery], int]:
        """The first `event` per path since `mark`, waiting until every path has one or
        `timeout` passes; and how many more of that event came (duplicates)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found: dict[str, Delivery] = {}
                extra = 0
                for delivery in self.deliveries[mark:]:
                    if delivery.event != event or delivery.path not in paths:
                        continue
                    if delivery.path in found:
                        extra += 1
                    else:
                        found[delivery.path] = delivery
                left = deadline - time.monotonic()
                if len(found) == len(paths) or left <= 0:
                    return found, extra
                self.changed.wait(min(left, 1.0))


# --- the run ------------------------------------------------------------------------------------

@dataclass
class Setup:
    devnet: Any
    moved: list  # the devnet's FeedSpecs of every on-chain ETH-USD feed
    chains: list[str]  # their chains, the one with most of them first
    base: Decimal  # the price every moved feed shows between rounds (below the band)
    threshold: Decimal
    pair_id: int
    paths: set[str]
    poll_interval: float
    delivery_interval: float


@dataclass
class Round:
    number: int
    mined: float
    opened: dict[str, Delivery]
    duplicates: int
    resolved_mined: float
    resolved: dict[str, Delivery]
    computed: float | None  # computed_at of the first state above the threshold
    committed: float | None  # when the first alert.opened message was seen in the database
    read: float | None  # start of the first chain read that saw the new price
    stored: float | None  # …and its end
    attempts: dict[str, float]  # webhook-id → start of its delivery attempt


def _alert_latency(context: Context, stack: ExitStack, scratch: str, orgs: int, rounds: int
                   ) -> Iterator[Result]:
    logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="op-alert-bench-")))
    cache.clear()  # stale sync locks and breakers of an earlier run would stall this one
    load_catalog("devnet")
    # Only the chains: the off-chain simulators are not started, and their sync ticks would
    # only time out against closed ports.
    Feed.objects.exclude(source_kind=Feed.SourceKind.EVM).update(enabled=False)
    devnet = start_devnet(context, stack, NAME)
    moved = [f for f in devnet.feeds if f"{f.base}-{f.quote}" == PAIR]
    chains = sorted({f.chain for f in moved if f.chain is not None},  # all: on-chain feeds
                    key=lambda c: -sum(f.chain == c for f in moved))
    base = devnet.market.price("ETH").quantize(Decimal("0.01"))
    threshold = (base * (1 + Decimal(THRESHOLD_BPS) / 10_000)).quantize(Decimal("0.01"))
    _move(devnet, moved, chains, base)  # every vote at the base price before anyone reads

    allowed = [*settings.OP_OUTBOUND_ALLOWED_HOSTS, RECEIVER_HOST]
    stack.enter_context(override_settings(OP_OUTBOUND_ALLOWED_HOSTS=allowed))
    receiver = Receiver()
    receiver.start(stack)
    started = time.monotonic()
    _organizations(devnet, orgs, receiver, threshold)
    context.log(f"{NAME}: {orgs} organizations, {orgs * RULES_PER_ORG:,} rules and {orgs} "
                f"webhook endpoints created in {time.monotonic() - started:.1f} s; threshold "
                f"{PAIR} > {threshold} (base {base}), {len(moved)} feeds move")

    env = {
        **os.environ,
        "DATABASE_URL": database_url(scratch),
        "DEBUG": "false",  # as in production: no query log in the worker
        "OP_TASKS_MODE": "celery",
        "OP_RUN_TASKS_INLINE": "false",
        "PYTHONUNBUFFERED": "1",
        "OP_OUTBOUND_ALLOWED_HOSTS": ",".join(allowed),  # the receiver listens on loopback
        **{f"OP_RPC_URL_{slug.upper()}": proxy.url for slug, proxy in devnet.proxies.items()},
        # The off-chain protocols' feeds are disabled (no simulators run): no ticks for them.
        **{f"OP_SYNC_INTERVAL_{slug.upper()}": "3600" for slug in settings.OP_DEVNET_HTTP_PORTS},
    }
    worker_command = ["celery", "-A", "oracle_platform", "worker", "--loglevel", "WARNING",
                      "--hostname", f"alert-bench-{os.getpid()}@%h"]
    beat_command = ["celery", "-A", "oracle_platform", "beat", "--loglevel", "WARNING"]
    context.log(f"{NAME}: starting the Celery worker and beat")
    worker = spawn(stack, worker_command, env, logs / "worker.log")
    spawn(stack, beat_command, env, logs / "beat.log")
    pair = Pair.objects.get(slug=PAIR)
    wait_for(lambda: _consensus(cache.get(state_key(pair.pk))) is not None,
             f"the worker's first {PAIR} consensus", logs / "worker.log", worker, label=NAME,
             timeout=START_TIMEOUT)

    delivery = next(t.every_seconds for t in settings.OP_PERIODIC_TASKS
                    if t.name == "alerts.deliver_webhooks")
    setup = Setup(devnet, moved, chains, base, threshold, pair.pk,
                  {f"/org-{i}" for i in range(orgs)},
                  max(settings.OP_SYNC_INTERVALS[c] for c in chains), delivery)
    # One unmeasured round first: the first evaluation of every rule (its Conditions), the
    # first incidents and deliveries are start-up work, not the steady state being measured.
    _round(context, setup, receiver, 0)
    done = [_round(context, setup, receiver, number) for number in range(1, rounds + 1)]
    yield from _results(context, setup, done, orgs, rounds, logs)


def _organizations(devnet: Any, orgs: int, receiver: Receiver, threshold: Decimal) -> None:
    """`orgs` organizations, each with one endpoint and RULES_PER_ORG price rules through the
    services the API and pages use: one about to fire, the rest far from the market."""
    def price(symbol: str, factor: str) -> str:
        return str((devnet.market.price(symbol) * Decimal(factor)).quantize(Decimal("0.0001")))

    eth_feed = Feed.objects.get(protocol__slug="chainlink", chain__slug="ethereum",
                                pair__slug=PAIR).key
    quiet = [  # (name, kind, scope, target, threshold)
        ("ETH crash", "price_below", "pair", PAIR, price("ETH", "0.5")),
        ("ETH moon", "price_above", "pair", PAIR, price("ETH", "2")),
        ("Chainlink ETH spike", "price_above", "feed", eth_feed, price("ETH", "1.5")),
        ("BTC above", "price_above", "pair", "BTC-USD", price("BTC", "2")),
        ("BTC below", "price_below", "pair", "BTC-USD", price("BTC", "0.5")),
        ("USDC depeg", "price_below", "pair", "USDC-USD", "0.9"),
        ("SOL below", "price_below", "pair", "SOL-USD", price("SOL", "0.5")),
        ("LINK above", "price_above", "pair", "LINK-USD", price("LINK", "2")),
        ("AAVE above", "price_above", "pair", "AAVE-USD", price("AAVE", "2")),
        ("BNB below", "price_below", "pair", "BNB-USD", price("BNB", "0.5")),
        ("ARB below", "price_below", "pair", "ARB-USD", price("ARB", "0.5")),
        ("USDT depeg", "price_below", "pair", "USDT-USD", "0.9"),
    ]
    organizations = Organization.objects.bulk_create(
        # Enterprise: the bench's rules, channels and endpoints per organization exceed Free's
        Organization(name=f"Alert bench {i}", slug=f"alert-bench-{i}", plan="enterprise")
        for i in range(orgs))
    for i, organization in enumerate(organizations):
        create_endpoint(organization, url=receiver.url(i),
                        events=[Event.ALERT_OPENED, Event.ALERT_RESOLVED])
        create_rule(organization, name=f"ETH above {threshold}", kind="price_above",
                    scope="pair", target=PAIR, params={"price": str(threshold)},
                    for_seconds=0, resolve_after_seconds=0)
        for k in range(RULES_PER_ORG - 1):
            name, kind, scope, target, value = quiet[(i + k) % len(quiet)]
            create_rule(organization, name=name, kind=kind, scope=scope, target=target,
                        params={"price": value}, resolve_after_seconds=60)


def _round(context: Context, setup: Setup, receiver: Receiver, number: int) -> Round:
    """Move above the threshold and collect the alert.opened webhooks, then back below the
    band and collect the alert.resolved ones."""
    rng = random.Random(SEED + number)
    phase = max(setup.poll_interval, setup.delivery_interval)
    up = (setup.threshold * (1 + Decimal(UP_BPS + number) / 10_000)).quantize(Decimal("0.01"))
    down = (setup.base * (1 - Decimal(number) / 10_000)).quantize(Decimal("0.01"))

    mark = receiver.mark()
    time.sleep(rng.uniform(0, phase))  # a random phase of the poll and of the delivery tick
    watch = _StateWatch(setup.pair_id, setup.threshold, time.time())
    mined = _move(setup.devnet, setup.moved, setup.chains, up)
    opened, duplicates = receiver.wait(mark, "alert.opened", setup.paths, ROUND_TIMEOUT)
    computed, committed = watch.stop()

    mark = receiver.mark()
    time.sleep(rng.uniform(0, phase))
    resolved_mined = _move(setup.devnet, setup.moved, setup.chains, down)
    resolved, _ = receiver.wait(mark, "alert.resolved", setup.paths, ROUND_TIMEOUT)

    read, stored = _first_read(setup, up, mined)
    attempts = _attempts([d.msg_id for d in opened.values()])
    done = Round(number, mined, opened, duplicates, resolved_mined, resolved, computed,
                 committed, read, stored, attempts)
    context.log(_describe(done, len(setup.paths)))
    return done


def _move(devnet: Any, feeds: list, chains: list[str], price: Decimal) -> float:
    """Publish `price` on every feed, mine one block per chain; the wall clock when the first
    chain's evm_mine returned (the earliest moment the platform could see any of it)."""
    for slug in chains:  # every transaction goes into the block mined below
        evm.rpc(devnet.chains[slug].w3, "evm_setIntervalMining", 0)
    before = {slug: devnet.chains[slug].w3.eth.block_number for slug in chains}
    reverted: list[str] = []
    # Strictly increasing: several oracles refuse an update no newer than the last one, and a
    # round's resolve move can come within the second of its breach move.
    timestamp = max(int(time.time()), getattr(devnet, "bench_last_timestamp", 0) + 1)
    devnet.bench_last_timestamp = timestamp
    for feed in feeds:
        value = int(price.scaleb(feed.decimals).to_integral_value(ROUND_HALF_EVEN))
        ONCHAIN[feed.protocol].publish(devnet.chains[feed.chain], feed, value, timestamp)
    mined: float | None = None
    for slug in chains:
        evm.rpc(devnet.chains[slug].w3, "evm_mine")
        mined = mined or time.time()
    if mined is None:
        raise RuntimeError(f"{NAME}: no chain to mine a block on")
    for slug in chains:
        w3 = devnet.chains[slug].w3
        evm.rpc(w3, "evm_setIntervalMining", max(1, round(devnet.config.block_time)))
        for number in range(before[slug] + 1, w3.eth.block_number + 1):
            for tx in w3.eth.get_block(number)["transactions"]:
                receipt = w3.eth.get_transaction_receipt(tx)
                if receipt["status"] != 1:
                    # One oracle refusing an update (its own timestamp rules) leaves the others
                    # to move the consensus; the round still waits for every webhook.
                    reverted.append(f"{slug}:{receipt['to']}")
    for feed in feeds:
        feed.last_value = price
    if reverted:
        print(f"{NAME}: updates reverted (left out of this move): {', '.join(reverted)}",
              file=sys.stderr)
    return mined


def _consensus(state: dict | None) -> Decimal | None:
    return Decimal(state["consensus"]) if state and state.get("consensus") else None


class _StateWatch:
    """Watches, from a thread of its own, for the first consensus above the threshold in the
    pair's cached state (its computed_at is where refresh_pairs began) and then for the first
    alert.opened message in the database (when the evaluation committed). For the breakdown
    only: not on the measured path."""

    def __init__(self, pair_id: int, threshold: Decimal, since: float) -> None:
        self.key, self.threshold, self.since = state_key(pair_id), threshold, since
        self.computed: float | None = None
        self.committed: float | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="state-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + ROUND_TIMEOUT
        since = datetime.fromtimestamp(self.since, UTC)
        try:
            while not self.stopped.is_set() and time.monotonic() < deadline:
                if self.computed is None:
                    state = cache.get(self.key)
                    price = _consensus(state)
                    if price is not None and price > self.threshold:
                        self.computed = datetime.fromisoformat(state["computed_at"]).timestamp()
                elif WebhookMessage.objects.filter(event_type=Event.ALERT_OPENED,
                                                   created_at__gte=since).exists():
                    self.committed = time.time()
                    return
                time.sleep(POLL)
        finally:
            connection.close()  # this thread's; the scratch database is dropped at the end

    def stop(self) -> tuple[float | None, float | None]:
        self.stopped.set()
        self.thread.join(5)
        return self.computed, self.committed


def _first_read(setup: Setup, price: Decimal, mined: float) -> tuple[float | None, float | None]:
    """When the first chain read that saw the new price started, and when its run ended."""
    since = datetime.fromtimestamp(mined - 5, UTC)
    first = (PriceObservation.objects.filter(feed__key__in=[f.key for f in setup.moved],
                                             fetched_at__gte=since, price=price)
             .order_by("fetched_at").values_list("fetched_at", flat=True).first())
    if first is None:
        return None, None
    durations = SyncRun.objects.filter(started_at=first).values_list("duration_ms", flat=True)
    return first.timestamp(), first.timestamp() + max(durations, default=0) / 1000


def _attempts(msg_ids: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for msg_id, started in (DeliveryAttempt.objects.filter(message__msg_id__in=msg_ids)
                            .order_by("started_at")
                            .values_list("message__msg_id", "started_at")):
        found.setdefault(msg_id, started.timestamp())
    return found


def _delivery_runs(attempts: list[float], gap: float = 0.2) -> list[list[float]]:
    """Sorted attempt start times split where more than `gap` s pass: one list per run of
    alerts.deliver_webhooks (they claim up to `limit` messages and send them one by one)."""
    runs: list[list[float]] = []
    for moment in attempts:
        if runs and moment - runs[-1][-1] <= gap:
            runs[-1].append(moment)
        else:
            runs.append([moment])
    return runs


def _opened_at(delivery: Delivery) -> float | None:
    opened = (delivery.body.get("data") or {}).get("opened_at")
    return datetime.fromisoformat(opened).timestamp() if opened else None


def _describe(done: Round, expected: int) -> str:
    def at(moment: float | None) -> str:
        return "?" if moment is None else f"{moment - done.mined:+.3f}"

    times = sorted(d.received for d in done.opened.values())
    evaluated = sorted(filter(None, map(_opened_at, done.opened.values())))
    attempts = sorted(done.attempts.values())
    line = (f"{NAME}: round {done.number}{' (warm-up)' if done.number == 0 else ''}: "
            f"{len(done.opened)}/{expected} opened")
    if times:
        line += (f"; read {at(done.read)}, stored {at(done.stored)}, computed "
                 f"{at(done.computed)}, evaluated {at(evaluated[0] if evaluated else None)}, "
                 f"committed {at(done.committed)}, delivery started "
                 f"{at(attempts[0] if attempts else None)}…"
                 f"{at(attempts[-1] if attempts else None)}, received {at(times[0])}…"
                 f"{at(times[-1])} s")
        runs = _delivery_runs(attempts)
        if runs:
            spacing = sorted(b - a for run in runs for a, b in pairwise(run))
            line += (f"; {len(runs)} delivery run(s) of {'/'.join(str(len(r)) for r in runs)}"
                     f", {percentile(spacing, 0.5) * 1000:.1f} ms per message")
    resolved = sorted(d.received - done.resolved_mined for d in done.resolved.values())
    line += f"; {len(done.resolved)}/{expected} resolved"
    if resolved:
        line += f" +{resolved[0]:.3f}…+{resolved[-1]:.3f} s"
    return line


# --- results ------------------------------------------------------------------------------------

def _results(context: Context, setup: Setup, done: list[Round], orgs: int, rounds: int,
             logs: Path) -> Iterator[Result]:
    latencies = sorted((d.received - r.mined) * 1000 for r in done for d in r.opened.values())
    resolves = sorted((d.received - r.resolved_mined) * 1000 for r in done
                      for d in r.resolved.values())
    expected = orgs * rounds
    missing = expected - len(latencies) + expected - len(resolves)
    if missing:  # the logs die with the temporary directory: show why while they exist
        for name in ("worker", "beat"):
            context.log(f"{NAME}: {name} log (tail):\n{tail(logs / f'{name}.log')}")
        context.log(f"{NAME}: webhook messages: {_message_summary()}")
    if not latencies:
        raise RuntimeError(f"{NAME}: no alert.opened webhook arrived in any round")
    stages = _stages(done)
    limit = inspect.signature(deliver_webhooks).parameters["limit"].default
    config: dict[str, Any] = {
        "database": database_label(),
        "redis": redis_label(),
        "workers": f"Celery worker (prefork, default concurrency = {os.cpu_count()} CPUs) + "
                   f"Celery beat, settings.local with DEBUG off: sync_chain every "
                   f"{setup.poll_interval:g} s per chain → refresh_pairs → evaluate_pairs "
                   f"(queued); alerts.deliver_webhooks every {setup.delivery_interval:g} s "
                   f"(≤ {limit} messages a run), and delivery right after each evaluation "
                   "commits, in the same task",
        "rules": Rule.objects.filter(enabled=True).count(),
        "orgs": orgs,
        "endpoints": WebhookEndpoint.objects.filter(enabled=True).count(),
        "firing_rules": f"{orgs}: one per organization, {PAIR} consensus price_above "
                        f"{setup.threshold} (for_seconds 0, resolve_after_seconds 0, "
                        "hysteresis 10 bps); the rest far from the market on 8 pairs",
        "chain_poll_interval_s": setup.poll_interval,
        "delivery_interval_s": setup.delivery_interval,
        "receiver": f"ThreadingHTTPServer in the bench process on {RECEIVER_HOST}, answers "
                    "200 at once",
        "rounds": rounds,
        "samples": len(latencies),
        "devnet": f"anvil, {len(setup.devnet.feeds)} on-chain feeds on "
                  f"{', '.join(setup.devnet.chains)}, market loop off; each round publishes "
                  f"a price {UP_BPS} bps above the threshold on all {len(setup.moved)} "
                  f"on-chain {PAIR} feeds ({len({f.protocol for f in setup.moved})} "
                  "protocols), mined by evm_mine at a random moment of the poll and delivery "
                  "intervals",
        "mined_at": "wall clock when the first chain's evm_mine returned",
        "breakdown_ms": stages,
        "what": "webhook received − mined, per organization per round; a missing webhook is "
                "not a sample",
    }
    yield Result(NAME, "p50_ms", percentile(latencies, 0.5), "ms", config=config)
    yield Result(NAME, "p99_ms", percentile(latencies, 0.99), "ms", target=TARGET,
                 config=config)
    yield Result(NAME, "max_ms", latencies[-1], "ms", config=config)
    yield Result(NAME, "messages_received", len(latencies), "messages", baseline=expected,
                 target="ratio >= 1",
                 config={**config, "baseline_is": "organizations × rounds",
                         "duplicates": sum(r.duplicates for r in done)})
    resolve_config = {**config, "what": "alert.resolved received − mined (price back below "
                                        "the hysteresis band), per organization per round"}
    yield Result(NAME, "resolved_p50_ms", percentile(resolves, 0.5), "ms",
                 config=resolve_config)
    yield Result(NAME, "resolved_p99_ms", percentile(resolves, 0.99), "ms",
                 config=resolve_config)
    yield Result(NAME, "resolved_received", len(resolves), "messages", baseline=expected,
                 target="ratio >= 1", config=resolve_config)


def _stages(done: list[Round]) -> dict[str, dict[str, float]]:
    """Where the time goes: p50/p99 (ms) of each step, per round or per webhook."""
    steps: dict[str, list[float]] = {
        "mined→read_started": [], "read_started→stored": [], "stored→computed": [],
        "computed→evaluated": [], "evaluated→committed": [], "committed→delivery_started": [],
        "evaluated→delivery_started": [],
        "delivery_started→received": [],
    }
    for r in done:
        evaluated_at = next(filter(None, map(_opened_at, r.opened.values())), None)
        if r.committed is not None and evaluated_at is not None:
            steps["evaluated→committed"].append(r.committed - evaluated_at)
        if r.read is not None and r.stored is not None:  # _first_read() finds both or neither
            steps["mined→read_started"].append(r.read - r.mined)
            steps["read_started→stored"].append(r.stored - r.read)
            if r.computed is not None:
                steps["stored→computed"].append(r.computed - r.stored)
        for d in r.opened.values():
            evaluated, attempt = _opened_at(d), r.attempts.get(d.msg_id)
            if r.computed is not None and evaluated is not None:
                steps["computed→evaluated"].append(evaluated - r.computed)
            if evaluated is not None and attempt is not None:
                steps["evaluated→delivery_started"].append(attempt - evaluated)
            if r.committed is not None and attempt is not None:
                steps["committed→delivery_started"].append(attempt - r.committed)
            if attempt is not None:
                steps["delivery_started→received"].append(d.received - attempt)
    return {name: {"p50": round(percentile(sorted(v), 0.5) * 1000, 1),
                   "p99": round(percentile(sorted(v), 0.99) * 1000, 1), "n": len(v)}
            for name, v in steps.items() if v}


def _message_summary() -> str:
    statuses = dict(WebhookMessage.objects.values_list("status").annotate(n=Count("pk")))
    errors = list(DeliveryAttempt.objects.exclude(error="").values_list("error")
                  .annotate(n=Count("pk")).order_by("-n")[:5])
    return f"{statuses}; attempt errors {errors or 'none'}"
