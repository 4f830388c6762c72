"""Reading EVM oracles in batches: every feed of every protocol on one chain in one tick,
through Multicall3 `aggregate3` in as few `eth_call`s as possible, all pinned to one block.

Calls that need their own `from` (Chronicle's whitelisted reader) cannot go through
Multicall3 — the contract would see Multicall3 as the caller — so they are plain `eth_call`s,
sent in the same JSON-RPC batch request.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from eth_abi.exceptions import DecodingError

from apps.feeds.models import Feed, PriceObservation

from .abi import Function
from .adapters.base import Adapter, AdapterError, Problem, ProblemKind, ReadResult, unix_time
from .rpc import JsonRpcClient, RpcError

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
        from .sync import rpc_client  # the engine's configured client for the feeds' chain

        client = client or rpc_client(feeds[0].chain)
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


def read_chain(
    client: JsonRpcClient, feeds: dict[EvmAdapter, list[Feed]], *, block_number: int,
    fetched_at: datetime, chunk_size: int = DEFAULT_CHUNK,
) -> dict[str, ReadResult]:
    """Read every feed at `block_number`; one ReadResult per protocol."""
    results = {adapter.protocol: ReadResult() for adapter in feeds}
    plan: list[tuple[EvmAdapter, Feed, list[tuple[str, int]]]] = []
    batched: list[EvmCall] = [EvmCall(MULTICALL3, BLOCK_TIMESTAMP.encode())]
    direct: list[EvmCall] = []
    for adapter, adapter_feeds in feeds.items():
        for feed in adapter_feeds:
            try:
                calls = adapter.calls(feed)
            except (KeyError, ValueError) as error:  # a feed the catalog describes badly
                results[adapter.protocol].problems.append(
                    problem(feed, ProblemKind.PERMANENT, "misconfigured", str(error)))
                continue
            slots = []
            for call in calls:
                if call.sender:
                    slots.append(("direct", len(direct)))
                    direct.append(call)
                else:
                    slots.append(("batched", len(batched)))
                    batched.append(call)
            plan.append((adapter, feed, slots))

    chunks = [batched[i:i + chunk_size] for i in range(0, len(batched), chunk_size)]
    tag = hex(block_number)
    requests = [
        ("eth_call", [{"to": MULTICALL3, "data": "0x" + AGGREGATE3.encode(
            [(c.target, True, c.data) for c in chunk]).hex()}, tag])
        for chunk in chunks
    ] + [
        ("eth_call", [{"from": c.sender, "to": c.target, "data": "0x" + c.data.hex()}, tag])
        for c in direct
    ]
    try:
        replies = client.batch(requests)
    except AdapterError as error:  # the whole request failed: every feed shares it
        for adapter, feed, _ in plan:
            results[adapter.protocol].problems.append(
                problem(feed, error.kind, error.reason, str(error)))
        return results

    outcomes: dict[tuple[str, int], CallResult | Failure] = {}
    for index, (chunk, reply) in enumerate(zip(chunks, replies, strict=False)):
        offset = index * chunk_size
        if isinstance(reply, RpcError):
            for i in range(len(chunk)):
                outcomes[("batched", offset + i)] = _rpc_problem(reply)
            continue
        try:
            (decoded,) = AGGREGATE3.decode(bytes.fromhex(reply[2:]))
        except (DecodingError, ValueError, TypeError) as error:
            for i in range(len(chunk)):
                outcomes[("batched", offset + i)] = Failure(
                    ProblemKind.TRANSIENT, "bad_response", f"aggregate3: {error}")
            continue
        for i, (success, data) in enumerate(decoded):
            outcomes[("batched", offset + i)] = CallResult(success, data)
    for i, reply in enumerate(replies[len(chunks):]):
        if isinstance(reply, RpcError):
            outcomes[("direct", i)] = (
                CallResult(False, _revert_data(reply)) if reply.is_revert else _rpc_problem(reply)
            )
        else:
            outcomes[("direct", i)] = CallResult(True, bytes.fromhex(reply[2:]))

    stamp = outcomes.get(("batched", 0))
    if not isinstance(stamp, CallResult) or not stamp.success:
        for adapter, feed, _ in plan:
            results[adapter.protocol].problems.append(problem(
                feed, ProblemKind.TRANSIENT, "no_block_time",
                f"Multicall3 at {MULTICALL3} did not answer getCurrentBlockTimestamp()"))
        return results
    block = Block(block_number, unix_time(BLOCK_TIMESTAMP.decode(stamp.data)[0]))

    for adapter, feed, slots in plan:
        found = [outcomes.get(slot) for slot in slots]
        failure = next((o for o in found if not isinstance(o, CallResult)), None)
        if failure is not None:
            results[adapter.protocol].problems.append(
                problem(feed, failure.kind, failure.reason, failure.detail))
            continue
        decoded = adapter.decode(feed, found, block, fetched_at)
        target = results[adapter.protocol]
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
