"""Reading EVM oracles in batches: every feed of every protocol on one chain in one tick,
through Multicall3 `aggregate3` in as few `eth_call`s as possible, all pinned to one block.

Calls that need their own `from` (Chronicle's whitelisted reader) cannot go through
Multicall3 — the contract would see Multicall3 as the caller — so they are plain `eth_call`s,
sent in the same JSON-RPC batch request.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from eth_abi.exceptions import DecodingError

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from ..rpc import JsonRpcClient, RpcError, rpc_client
from .base import (
    Adapter,
    AdapterError,
    Problem,
    ProblemKind,
    ReadResult,
    observation,
    rejected,
    unix_time,
)

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
AGGREGATE3 = Function("aggregate3((address,bool,bytes)[])", ("(bool,bytes)[]",))
BLOCK_TIMESTAMP = Function("getCurrentBlockTimestamp()", ("uint256",))
ERROR_STRING = Function("Error(string)", ("string",))
DEFAULT_CHUNK = 100  # calls per aggregate3; keeps each eth_call well inside node limits


@dataclass(frozen=True)
class EvmCall:
    target: str
    data: bytes
    sender: str | None = None  # set: a direct eth_call from this address, not via Multicall3


@dataclass(frozen=True)
class CallResult:
    success: bool
    data: bytes


@dataclass(frozen=True)
class Failure:
    """A call that produced no result at all (its request failed)."""

    kind: ProblemKind
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Block:
    number: int
    timestamp: datetime


class EvmAdapter(Adapter):
    """An adapter whose feeds are contract calls; the chain batcher does the I/O."""

    def calls(self, feed: Feed) -> list[EvmCall]:
        raise NotImplementedError

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        raise NotImplementedError

    def read(self, feeds: Sequence[Feed], *, now: datetime, client: JsonRpcClient | None = None
             ) -> ReadResult:
        if client is None:
            chain = feeds[0].chain
            assert chain is not None  # an EVM feed is on a chain
            client = rpc_client(chain)
        block_number = int(client.call("eth_blockNumber", []), 16)
        return read_chain(client, {self: list(feeds)}, block_number=block_number,
                          fetched_at=now)[self.protocol]


def problem(feed: Feed, kind: ProblemKind, reason: str, detail: str = "",
            raw: bytes | str = b"") -> Problem:
    raw_text = "0x" + raw.hex() if isinstance(raw, bytes) else raw
    return Problem(feed, kind, reason, detail, raw_text)


def call_failed(feed: Feed, result: CallResult, what: str) -> Problem:
    """A reverted call, or one to an address without code (empty success)."""
    if result.success:
        return problem(feed, ProblemKind.PERMANENT, "no_contract",
                       f"{what} returned nothing: is there a contract at {feed.address}?")
    return problem(feed, ProblemKind.PERMANENT, "reverted", f"{what} reverted", result.data)


def stamped_value(feed: Feed, value: int, timestamp: int, block: Block, fetched_at: datetime,
                  *, detail: str = "") -> PriceObservation | Problem:
    """A (value, unix timestamp) pair read from a contract; timestamp 0 means never set."""
    if timestamp == 0:
        return rejected(feed, "no_timestamp", value, detail)
    return observation(feed, value, unix_time(timestamp), fetched_at=fetched_at,
                       block_number=block.number)


def revert_reason(data: bytes) -> str | None:
    """The string of a Solidity/Vyper `Error(string)` revert, if that is what `data` is."""
    if not data.startswith(ERROR_STRING.selector):
        return None
    try:
        return ERROR_STRING.decode(data[4:])[0]
    except (DecodingError, ValueError):
        return None


def decode_or_problem(feed: Feed, function: Function, result: CallResult
                      ) -> tuple | Problem:
    if not result.success or not result.data:
        return call_failed(feed, result, function.signature)
    try:
        return function.decode(result.data)
    except (DecodingError, ValueError, OverflowError) as error:
        return problem(feed, ProblemKind.PERMANENT, "bad_response",
                       f"{function.signature}: {error}", result.data)


def execute_calls(
    client: JsonRpcClient, calls: list[EvmCall], *, block_tag: str,
    chunk_size: int = DEFAULT_CHUNK,
) -> list[CallResult | Failure]:
    """Run `calls` at one block in one JSON-RPC batch: those without a sender through
    Multicall3 aggregate3 (chunked, allowFailure), the others as their own eth_call.
    Raises AdapterError when the whole request fails."""
    batched = [i for i, call in enumerate(calls) if not call.sender]
    direct = [i for i, call in enumerate(calls) if call.sender]
    chunks = [batched[i:i + chunk_size] for i in range(0, len(batched), chunk_size)]
    requests = [
        ("eth_call", [{"to": MULTICALL3, "data": "0x" + AGGREGATE3.encode(
            [(calls[i].target, True, calls[i].data) for i in chunk]).hex()}, block_tag])
        for chunk in chunks
    ] + [
        ("eth_call", [{"from": calls[i].sender, "to": calls[i].target,
                       "data": "0x" + calls[i].data.hex()}, block_tag])
        for i in direct
    ]
    replies = client.batch(requests)
    outcomes: list[CallResult | Failure] = [Failure(ProblemKind.TRANSIENT, "no_answer")] * len(
        calls)
    for chunk, reply in zip(chunks, replies, strict=False):
        if isinstance(reply, RpcError):
            for i in chunk:
                outcomes[i] = _rpc_problem(reply)
            continue
        try:
            (decoded,) = AGGREGATE3.decode(bytes.fromhex(reply[2:]))
        except (DecodingError, ValueError, TypeError) as error:
            for i in chunk:
                outcomes[i] = Failure(ProblemKind.TRANSIENT, "bad_response", f"aggregate3: {error}")
            continue
        for i, (success, data) in zip(chunk, decoded, strict=False):
            outcomes[i] = CallResult(success, data)
    for i, reply in zip(direct, replies[len(chunks):], strict=False):
        if isinstance(reply, RpcError):
            outcomes[i] = (
                CallResult(False, _revert_data(reply)) if reply.is_revert else _rpc_problem(reply)
            )
        else:
            outcomes[i] = CallResult(True, bytes.fromhex(reply[2:]))
    return outcomes


def read_chain(
    client: JsonRpcClient, feeds: dict[EvmAdapter, list[Feed]], *, block_number: int,
    fetched_at: datetime, chunk_size: int = DEFAULT_CHUNK,
) -> dict[str, ReadResult]:
    """Read every feed at `block_number`; one ReadResult per protocol."""
    results = {adapter.protocol: ReadResult() for adapter in feeds}
    calls: list[EvmCall] = [EvmCall(MULTICALL3, BLOCK_TIMESTAMP.encode())]
    plan: list[tuple[EvmAdapter, Feed, range]] = []
    for adapter, adapter_feeds in feeds.items():
        for feed in adapter_feeds:
            try:
                feed_calls = adapter.calls(feed)
            except (KeyError, ValueError) as error:  # a feed the catalog describes badly
                results[adapter.protocol].problems.append(
                    problem(feed, ProblemKind.PERMANENT, "misconfigured", str(error)))
                continue
            plan.append((adapter, feed, range(len(calls), len(calls) + len(feed_calls))))
            calls.extend(feed_calls)

    def fail_all(kind: ProblemKind, reason: str, detail: str) -> dict[str, ReadResult]:
        for adapter, feed, _ in plan:
            results[adapter.protocol].problems.append(problem(feed, kind, reason, detail))
        return results

    try:
        outcomes = execute_calls(client, calls, block_tag=hex(block_number),
                                 chunk_size=chunk_size)
    except AdapterError as error:  # the whole request failed: every feed shares it
        return fail_all(error.kind, error.reason, str(error))
    stamp = outcomes[0]
    if not isinstance(stamp, CallResult) or not stamp.success:
        return fail_all(ProblemKind.TRANSIENT, "no_block_time",
                        f"Multicall3 at {MULTICALL3} did not answer getCurrentBlockTimestamp()")
    block = Block(block_number, unix_time(BLOCK_TIMESTAMP.decode(stamp.data)[0]))

    for adapter, feed, slots in plan:
        found = [outcomes[i] for i in slots]
        failure = next((o for o in found if isinstance(o, Failure)), None)
        target = results[adapter.protocol]
        if failure is not None:
            target.problems.append(problem(feed, failure.kind, failure.reason, failure.detail))
            continue
        # No Failure among them (just checked): every outcome is a CallResult.
        decoded = adapter.decode(feed, cast(list[CallResult], found), block, fetched_at)
        if isinstance(decoded, Problem):
            target.problems.append(decoded)
        else:
            target.observations.append(decoded)
    return results


def _rpc_problem(error: RpcError) -> Failure:
    if error.is_revert:
        return Failure(ProblemKind.PERMANENT, "reverted", error.message)
    return Failure(ProblemKind.TRANSIENT, "rpc_error", str(error))


def _revert_data(error: RpcError) -> bytes:
    data = error.data if isinstance(error.data, str) else ""
    try:
        return bytes.fromhex(data.removeprefix("0x"))
    except ValueError:
        return b""
