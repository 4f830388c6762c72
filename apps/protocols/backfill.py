"""History backfill: walk a feed's past from the chain itself.

Chainlink: `getRoundData` backwards from the latest round, phase by phase (a proxy round id
is phaseId << 64 | aggregator round; an earlier phase's last round comes from
`phaseAggregators(phase).latestRound()`), many rounds per Multicall3 eth_call.
Band, DIA, Chronicle and Tellor: their update events (`eth_getLogs`, newest block windows
first). API3 proxies, RedStone push feeds and Uniswap pools emit nothing a reader can turn
into their past prices, so they cannot be backfilled.

Progress is saved in a BackfillCursor after every batch, so an interrupted run resumes.
"""
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from eth_abi import decode
from eth_utils import keccak

from apps.feeds.models import Feed, PriceObservation
from apps.feeds.services import store_observations

from .abi import Function
from .adapters.band import band_base
from .adapters.base import AdapterError, observation, unix_time
from .adapters.chainlink import GET_ROUND_DATA, LATEST_ROUND_DATA, round_id, split_round_id
from .adapters.dia import dia_key
from .adapters.evm import CallResult, EvmCall, execute_calls
from .models import BackfillCursor
from .rpc import JsonRpcClient

PHASE_AGGREGATORS = Function("phaseAggregators(uint16)", ("address",))
LATEST_ROUND = Function("latestRound()", ("uint256",))
ROUNDS_PER_CALL = 100


class BackfillError(Exception):
    pass


@dataclass
class Batch:
    observations: list[PriceObservation]
    position: str  # where to continue below this batch
    reached: datetime | None  # the oldest source time in this batch
    finished: bool


def _call(client: JsonRpcClient, target: str, data: bytes) -> bytes:
    (result,) = execute_calls(client, [EvmCall(target, data)], block_tag="latest")
    if not isinstance(result, CallResult) or not result.success:
        raise BackfillError(f"call to {target} failed: {result}")
    return result.data


def chainlink_batches(client: JsonRpcClient, feed: Feed, since: datetime, position: str
                      ) -> Iterator[Batch]:
    now = timezone.now()
    if position:
        phase, next_round = split_round_id(int(position))
    else:
        latest = LATEST_ROUND_DATA.decode(_call(client, feed.address, LATEST_ROUND_DATA.encode()))
        phase, next_round = split_round_id(latest[0])
    while phase > 0:
        while next_round > 0:
            rounds = range(next_round, max(0, next_round - ROUNDS_PER_CALL), -1)
            calls = [EvmCall(feed.address, GET_ROUND_DATA.encode(round_id(phase, r)))
                     for r in rounds]
            outcomes = execute_calls(client, calls, block_tag="latest")
            found, oldest = [], None
            for outcome in outcomes:
                if not isinstance(outcome, CallResult) or not outcome.success:
                    continue  # a round the aggregator does not have (gaps exist on mainnet)
                number, answer, _, updated_at, _ = GET_ROUND_DATA.decode(outcome.data)
                if updated_at == 0:
                    continue
                moment = unix_time(updated_at)
                oldest = moment if oldest is None else min(oldest, moment)
                if moment >= since:
                    found.append(observation(feed, answer, moment, fetched_at=now,
                                             round_id=number))
            next_round = rounds[-1] - 1
            reached_since = oldest is not None and oldest < since
            finished = reached_since or (next_round == 0 and phase == 1)
            yield Batch(found, str(round_id(phase, next_round)), oldest, finished)
            if reached_since:
                return
        phase -= 1
        if phase == 0:
            return
        aggregator = "0x" + _call(client, feed.address, PHASE_AGGREGATORS.encode(phase))[-20:].hex()
        (next_round,) = LATEST_ROUND.decode(_call(client, aggregator, LATEST_ROUND.encode()))


@dataclass(frozen=True)
class EventSource:
    """How a protocol's update event becomes an observation of one feed."""

    signature: str
    decode: Callable[[Feed, dict], tuple[int, int] | None]  # -> (raw, unix time) or None

    @property
    def topic(self) -> str:
        return "0x" + keccak(text=self.signature).hex()


def _band(feed: Feed, log: dict) -> tuple[int, int] | None:
    symbol, rate, resolve_time, _ = decode(["string", "uint64", "uint64", "uint64"],
                                           _data(log))
    if symbol != band_base(feed) or feed.pair.quote.symbol != "USD":
        return None
    return rate * 10 ** (feed.decimals - 9), resolve_time  # Band stores USD × 1e9


def _dia(feed: Feed, log: dict) -> tuple[int, int] | None:
    key, value, timestamp = decode(["string", "uint128", "uint128"], _data(log))
    expected = dia_key(feed)
    return (value, timestamp) if key == expected else None


def _chronicle(feed: Feed, log: dict) -> tuple[int, int] | None:
    value, age = decode(["uint128", "uint32"], _data(log))
    return value, age


def _tellor(feed: Feed, log: dict) -> tuple[int, int] | None:
    if log["topics"][1].lower() != feed.feed_id.lower():
        return None
    reported, _, _ = decode(["bytes", "uint256", "bytes"], _data(log))
    (value,) = decode(["uint256"], reported)
    return value, int(log["topics"][2], 16)


def _data(log: dict) -> bytes:
    return bytes.fromhex(log["data"].removeprefix("0x"))


EVENT_SOURCES = {
    "band": EventSource("RefDataUpdate(string,uint64,uint64,uint64)", _band),
    "dia": EventSource("OracleUpdate(string,uint128,uint128)", _dia),
    "chronicle": EventSource("Poked(address,uint128,uint32)", _chronicle),
    "tellor": EventSource("NewReport(bytes32,uint256,bytes,uint256,bytes,address)", _tellor),
}


def event_batches(client: JsonRpcClient, feed: Feed, since: datetime, position: str
                  ) -> Iterator[Batch]:
    source = EVENT_SOURCES[feed.protocol.slug]
    window = settings.OP_BACKFILL_LOG_BLOCKS
    upper = int(position) if position else int(client.call("eth_blockNumber", []), 16)
    now = timezone.now()
    while upper >= 0:
        lower = max(0, upper - window + 1)
        logs = client.call("eth_getLogs", [{
            "address": feed.address, "topics": [source.topic],
            "fromBlock": hex(lower), "toBlock": hex(upper),
        }])
        found, oldest = [], None
        for log in logs:
            decoded = source.decode(feed, log)
            if decoded is None:
                continue
            raw, seconds = decoded
            moment = unix_time(seconds)
            oldest = moment if oldest is None else min(oldest, moment)
            if moment >= since:
                found.append(observation(feed, raw, moment, fetched_at=now,
                                         block_number=int(log["blockNumber"], 16)))
        finished = lower == 0 or (oldest is not None and oldest < since)
        yield Batch(found, str(lower - 1), oldest, finished)
        if finished:
            return
        upper = lower - 1


def batches_for(feed: Feed) -> Callable[..., Iterator[Batch]]:
    if feed.source_kind != Feed.SourceKind.EVM or not feed.address:
        raise BackfillError(f"{feed.key}: only on-chain feeds with an address can be backfilled")
    if feed.protocol.slug == "chainlink":
        return chainlink_batches
    if feed.protocol.slug in EVENT_SOURCES:
        return event_batches
    raise BackfillError(f"{feed.key}: {feed.protocol.name} emits no history a reader can use")


def backfill(feed: Feed, since: datetime, client: JsonRpcClient,
             progress: Callable[[BackfillCursor], None] = lambda cursor: None) -> BackfillCursor:
    """Backfill `feed` back to `since`, resuming a cursor left by an interrupted run."""
    walk = batches_for(feed)
    cursor, _ = BackfillCursor.objects.get_or_create(feed=feed, defaults={"since": since})
    if cursor.done and cursor.since <= since:
        return cursor  # already has that much history
    if cursor.done:
        # Further back than last time: walk again from the top. The batch that crossed the
        # old `since` skipped its older rows, and storing is idempotent, so this is exact.
        cursor.done, cursor.position, cursor.oldest = False, "", None
    cursor.since = since
    try:
        for batch in walk(client, feed, since, cursor.position):
            cursor.rows += len(store_observations(batch.observations))
            cursor.position = batch.position
            if batch.reached and (cursor.oldest is None or batch.reached < cursor.oldest):
                cursor.oldest = batch.reached
            cursor.done = batch.finished
            cursor.save()
            progress(cursor)
    except AdapterError as error:
        raise BackfillError(f"{feed.key}: {error}") from error
    cursor.done = True
    cursor.save()
    return cursor
