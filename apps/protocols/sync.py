"""The sync engine: read every enabled feed, validate, store, record the run.

`sync_protocol(slug)` is one tick for one off-chain protocol (HTTP APIs): its adapter reads all
its feeds, then the same validation, storage and records as an EVM tick.

`sync_chain(slug)` is one tick for one EVM chain: it reacts to a new block (one cheap
`eth_blockNumber`), then reads the feeds of all protocols on that chain in one batch
(`evm.read_chain`), quarantines what validation rejects, stores the rest in one
`store_observations` call and records one SyncRun per protocol. The in-process scheduler
(`make run`) and Celery (production) call the very same function.
"""
import logging
import statistics
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.feeds.models import Chain, Feed, PriceObservation, QuarantinedRead
from apps.feeds.selectors import feeds_by_pair, latest_prices
from apps.feeds.services import quarantine_reads, store_observations

from . import validation
from .adapters import EVM_ADAPTERS, HTTP_ADAPTERS
from .adapters.base import AdapterError, Problem, ProblemKind, ReadResult
from .adapters.evm import read_chain
from .adapters.http import RateLimited
from .breaker import Breaker, State
from .models import FeedReadState, Protocol, SignedPayload, SyncRun
from .rpc import JsonRpcClient, rpc_client, rpc_url
from .selectors import last_sync_key

logger = logging.getLogger(__name__)
QUARANTINE_MEMORY = 32  # recent quarantined reads remembered per feed, to write each once


@dataclass
class _EngineState:
    """What the engine remembers between ticks in this process."""

    last_block: dict[str, int] = field(default_factory=dict)
    feeds: dict[str, tuple[float, list[Feed]]] = field(default_factory=dict)
    latest: dict[int, Decimal] = field(default_factory=dict)  # feed id -> last stored price
    latest_loaded: bool = False
    pair_feeds: dict[int, set[int]] = field(default_factory=dict)  # pair id -> feed ids
    # feed id -> signatures of its recent quarantined reads (several bad packages per tick)
    quarantined: dict[int, deque] = field(default_factory=dict)
    read_reason: dict[int, str] = field(default_factory=dict)  # feed id -> "" when ok
    lock: threading.Lock = field(default_factory=threading.Lock)


_state = _EngineState()


def reset_engine_state() -> None:
    """Forget caches (tests; after a catalog reload the feed list refreshes by itself)."""
    global _state
    _state = _EngineState()


def _cached_feeds(key: str, load: Callable[[], QuerySet[Feed]]) -> list[Feed]:
    """`load()`'s feeds, reloaded every OP_SYNC_FEED_REFRESH seconds."""
    loaded_at, feeds = _state.feeds.get(key, (0.0, []))
    # An empty list is not kept: the devnet writes its addresses a few seconds after start.
    if not feeds or time.monotonic() - loaded_at > settings.OP_SYNC_FEED_REFRESH:
        feeds = list(load())
        _state.feeds[key] = (time.monotonic(), feeds)
    return feeds


def chain_feeds(slug: str) -> list[Feed]:
    """Enabled EVM feeds of a chain, refreshed every OP_SYNC_FEED_REFRESH seconds."""
    return _cached_feeds(slug, lambda: (
        Feed.objects.filter(enabled=True, source_kind=Feed.SourceKind.EVM, chain__slug=slug)
        .exclude(address="")
        .select_related("protocol", "pair__base", "pair__quote", "chain")))


def _load_latest_prices() -> None:
    if not _state.latest_loaded:
        _state.latest.update(latest_prices())
        _state.latest_loaded = True


def references(feed: Feed, this_tick: dict[int, Decimal]) -> list[Decimal]:
    """The feed's own last price and the median of the pair's other feeds (any protocol, any
    chain; this tick's value where there is one, else the last stored)."""
    if feed.pk not in _state.pair_feeds.get(feed.pair_id, ()):
        _state.pair_feeds = feeds_by_pair()
    peers = _state.pair_feeds.get(feed.pair_id, set()) - {feed.pk}
    prices = [this_tick.get(pk, _state.latest.get(pk)) for pk in peers]
    others = [price for price in prices if price is not None]
    found = [_state.latest.get(feed.pk), statistics.median(others) if others else None]
    return [price for price in found if price is not None]


@dataclass
class _Tally:
    feeds: int = 0
    ok: int = 0
    new: int = 0
    rejected: int = 0
    failed: int = 0
    transient: int = 0
    reasons: Counter = field(default_factory=Counter)


PAUSED = "sync:paused"


def set_paused(paused: bool) -> None:
    """Pause or resume all syncing (an operator's switch, shared by every worker). While
    paused, sources age into "unknown — ingestion delayed", never "stale"."""
    if paused:
        cache.set(PAUSED, True, timeout=None)
    else:
        cache.delete(PAUSED)


def is_paused() -> bool:
    return bool(cache.get(PAUSED))


def sync_chain(slug: str, *, client: JsonRpcClient | None = None) -> list[SyncRun] | None:
    """One tick for one EVM chain; None when there was nothing to do (no new block, another
    worker busy with this chain, or the chain not configured)."""
    lock = f"sync:chain:{slug}"
    if is_paused() or not cache.add(lock, 1, timeout=60):
        return None
    try:
        return _sync_chain(slug, client)
    finally:
        cache.delete(lock)


def _sync_chain(slug: str, client: JsonRpcClient | None) -> list[SyncRun] | None:
    feeds = chain_feeds(slug)
    if not feeds:
        return None
    chain = feeds[0].chain
    assert chain is not None  # chain_feeds() selects the feeds on this chain
    if client is None and not rpc_url(chain):
        return None  # shown as "not configured" (selectors.feed_configuration), not a failure
    client = client or rpc_client(chain)
    started, started_at = time.monotonic(), timezone.now()
    by_protocol: dict[str, list[Feed]] = defaultdict(list)
    for feed in feeds:
        if feed.protocol.slug in EVM_ADAPTERS:
            by_protocol[feed.protocol.slug].append(feed)
    breakers = {p: Breaker(p, slug) for p in by_protocol}
    try:
        block_number = int(client.call("eth_blockNumber", []), 16)
    except AdapterError as error:
        results = {p: _all_failed(fs, error) for p, fs in by_protocol.items()}
        return _finish(chain, by_protocol, results, breakers, started, started_at, None)
    if _state.last_block.get(slug) == block_number:
        return None  # block-driven: nothing can have changed
    allowed = {EVM_ADAPTERS[p]: fs for p, fs in by_protocol.items() if breakers[p].allow()}
    results = read_chain(client, allowed, block_number=block_number, fetched_at=started_at,
                         chunk_size=settings.OP_MULTICALL_CHUNK)
    _state.last_block[slug] = block_number
    return _finish(chain, by_protocol, results, breakers, started, started_at, block_number)


def protocol_feeds(slug: str) -> list[Feed]:
    """Enabled off-chain feeds of a protocol, refreshed like chain_feeds."""
    return _cached_feeds(f"protocol:{slug}", lambda: (
        Feed.objects.filter(enabled=True, protocol__slug=slug, chain__isnull=True)
        .exclude(source_kind=Feed.SourceKind.EVM)
        .select_related("protocol", "pair__base", "pair__quote")))


def sync_protocol(slug: str) -> list[SyncRun] | None:
    """One tick for one off-chain protocol; None when there was nothing to do (no feeds,
    another worker busy with it, or the API asked us to wait with Retry-After)."""
    lock = f"sync:protocol:{slug}"
    if is_paused() or not cache.add(lock, 1, timeout=60):
        return None
    try:
        return _sync_protocol(slug)
    finally:
        cache.delete(lock)


def _sync_protocol(slug: str) -> list[SyncRun] | None:
    adapter = HTTP_ADAPTERS.get(slug)
    feeds = protocol_feeds(slug) if adapter else []
    waiting_until = cache.get(f"sync:retry_after:{slug}")
    if adapter is None or not feeds or (waiting_until and time.time() < waiting_until):
        return None
    started, started_at = time.monotonic(), timezone.now()
    breakers = {slug: Breaker(slug, None)}
    results: dict[str, ReadResult] = {}
    if breakers[slug].allow():
        try:
            results[slug] = adapter.read(feeds, now=started_at)
        except AdapterError as error:
            if isinstance(error, RateLimited):
                # Honour Retry-After: no request to this API before then, from any worker.
                cache.set(f"sync:retry_after:{slug}", time.time() + error.retry_after,
                          timeout=int(error.retry_after) + 1)
            results[slug] = _all_failed(feeds, error)
    return _finish(None, {slug: feeds}, results, breakers, started, started_at, None)


def _all_failed(feeds: list[Feed], error: AdapterError) -> ReadResult:
    return ReadResult(problems=[Problem(f, error.kind, error.reason, str(error)) for f in feeds])


def ingest(slug: str, feeds: list[Feed], result: ReadResult, *, started: float,
           started_at: datetime) -> list[SyncRun]:
    """Validate, store and record what a long-lived source (a stream) delivered."""
    return _finish(None, {slug: feeds}, {slug: result}, {slug: Breaker(slug, None)}, started,
                   started_at, None)


def _finish(
    chain: Chain | None, by_protocol: dict[str, list[Feed]], results: dict[str, ReadResult],
    breakers: dict[str, Breaker], started: float, started_at: datetime, block: int | None,
) -> list[SyncRun]:
    now = timezone.now()
    # Every caller passes non-empty lists of feeds loaded with their protocol.
    protocols = {slug: feeds[0].protocol for slug, feeds in by_protocol.items()}
    with _state.lock:
        _load_latest_prices()
        accepted: list[PriceObservation] = []
        problems: list[Problem] = []
        tallies = {p: _Tally(feeds=len(fs)) for p, fs in by_protocol.items()}
        this_tick = {obs.feed_id: PriceObservation.scale(obs.raw_answer, obs.decimals)
                     for result in results.values() for obs in result.observations}
        for protocol, result in results.items():
            tally = tallies[protocol]
            for obs in result.observations:
                problem = validation.check(obs, references=references(obs.feed, this_tick),
                                           now=now)
                if problem:
                    problems.append(problem)
                else:
                    accepted.append(obs)
                    tally.ok += 1
            problems.extend(result.problems)
        for problem in problems:
            tally = tallies[problem.feed.protocol.slug]
            tally.reasons[problem.reason] += 1
            if problem.kind == ProblemKind.REJECTED:
                tally.rejected += 1
            else:
                tally.failed += 1
                tally.transient += problem.kind == ProblemKind.TRANSIENT
        with transaction.atomic():
            stored = store_observations(accepted)
            _keep_payloads(results, protocols, now)
            _quarantine(problems, now)
            _record_read_states(by_protocol, problems, {obs.feed_id for obs in accepted}, now)
        for obs in stored:
            tallies[obs.feed.protocol.slug].new += 1
        for obs in accepted:
            _state.latest[obs.feed_id] = obs.price

    duration_ms = int((time.monotonic() - started) * 1000)
    runs = []
    for protocol, tally in tallies.items():
        skipped = protocol not in results
        all_failed = tally.transient and tally.transient == tally.feeds
        state = breakers[protocol].state() if skipped else breakers[protocol].record(
            success=not all_failed)
        runs.append(SyncRun(
            protocol=protocols[protocol], chain=chain, started_at=started_at,
            duration_ms=duration_ms, block_number=block, feeds_read=0 if skipped else tally.feeds,
            ok=tally.ok, new=tally.new, rejected=tally.rejected, failed=tally.failed,
            error_class="breaker_open" if skipped else (
                tally.reasons.most_common(1)[0][0] if tally.reasons else ""),
            breaker=state,
        ))
        if state != State.CLOSED:
            logger.warning("breaker for %s on %s is %s", protocol,
                           chain.slug if chain else "its API", state)
    SyncRun.objects.bulk_create(runs)
    # Status reads these to tell "the oracle is stale" from "we are behind" (ingestion_delays).
    cache.set_many({last_sync_key(run.protocol_id, chain.pk if chain else None): started_at
                    for run in runs if run.feeds_read}, timeout=24 * 3600)
    total = _Tally()
    for tally in tallies.values():
        total.feeds += tally.feeds
        total.ok, total.new = total.ok + tally.ok, total.new + tally.new
        total.rejected, total.failed = total.rejected + tally.rejected, total.failed + tally.failed
    where = f"{chain.slug} block {block}" if chain else ", ".join(by_protocol)
    logger.info("sync %s: %d feeds, %d ok (%d new), %d rejected, %d failed in %d ms",
                where, total.feeds, total.ok, total.new, total.rejected, total.failed,
                duration_ms)
    return runs


def _keep_payloads(results: dict[str, ReadResult], protocols: dict[str, Protocol],
                   now: datetime) -> None:
    """Keep signed updates that produced observations, beside them in the same transaction."""
    kept = [(slug, payload) for slug, result in results.items() for payload in result.payloads
            if payload.covers and result.observations]
    if not kept:
        return
    SignedPayload.objects.bulk_create([
        SignedPayload(protocol=protocols[slug], received_at=now, format=payload.format,
                      data=payload.data, covers=payload.covers, verified=payload.verified)
        for slug, payload in kept
    ])


def _quarantine(problems: list[Problem], now: datetime) -> None:
    """Quarantine rejected reads, once per distinct (reason, value, source time) per feed."""
    fresh = []
    for problem in problems:
        if problem.kind != ProblemKind.REJECTED:
            continue
        signature = (problem.reason, problem.raw_value, problem.source_ts)
        feed_id = problem.feed.pk
        if feed_id not in _state.quarantined:
            recent = QuarantinedRead.objects.filter(feed_id=feed_id)[:QUARANTINE_MEMORY]
            _state.quarantined[feed_id] = deque(
                ((q.reason, q.raw_value, q.source_ts) for q in reversed(recent)),
                maxlen=QUARANTINE_MEMORY)
        if signature in _state.quarantined[feed_id]:
            continue
        _state.quarantined[feed_id].append(signature)
        fresh.append(QuarantinedRead(
            feed=problem.feed, raw_value=problem.raw_value, reason=problem.reason,
            detail=problem.detail, source_ts=problem.source_ts, created_at=now,
        ))
    if fresh:
        quarantine_reads(fresh)
        for read in fresh:
            logger.warning("quarantined %s from %s: %s", read.raw_value, read.feed.key,
                           read.detail or read.reason)


def _record_read_states(by_protocol: dict[str, list[Feed]], problems: list[Problem],
                        read: set[int], now: datetime) -> None:
    """Write a feed's read state only when it changes (ok ⇄ failing, or a new reason). A feed
    that gave a value is ok, even if some of its signed packages were quarantined."""
    failing = {p.feed.pk: p for p in problems if p.feed.pk not in read}
    changed = []
    for feeds in by_protocol.values():
        for feed in feeds:
            problem = failing.get(feed.pk)
            key = problem.reason if problem else ""
            if _state.read_reason.get(feed.pk) == key:
                continue
            _state.read_reason[feed.pk] = key
            changed.append(FeedReadState(feed=feed, ok=problem is None, reason=key,
                                         detail=problem.detail if problem else "", since=now))
    FeedReadState.objects.bulk_create(changed, update_conflicts=True, unique_fields=["feed"],
                                      update_fields=["ok", "reason", "detail", "since"])
