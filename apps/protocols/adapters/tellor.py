"""Tellor: getDataBefore(queryId, timestamp) -> (bool ifRetrieve, bytes value, uint256
timestampRetrieved), the UsingTellor variant returning the flag. SpotPrice values are
abi-encoded uint256 with 18 decimals; the query id is keccak256(abi.encode("SpotPrice",
abi.encode(asset, currency)))."""
from datetime import datetime

from eth_abi import decode
from eth_abi.exceptions import DecodingError

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from .base import Problem, ProblemKind, observation, rejected, unix_time
from .evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem

GET_DATA_BEFORE = Function("getDataBefore(bytes32,uint256)", ("bool", "bytes", "uint256"))
# "Before the end of time": the latest report. A consumer guarding against disputes would
# ask for block.timestamp minus a buffer; a monitor wants what is on-chain now.
LATEST = 2**64


class TellorAdapter(EvmAdapter):
    protocol = "tellor"

    def calls(self, feed: Feed) -> list[EvmCall]:
        query_id = bytes.fromhex(feed.feed_id.removeprefix("0x"))
        if len(query_id) != 32:
            raise ValueError(f"{feed.key}: feed_id must be a 32-byte query id")
        return [EvmCall(feed.address, GET_DATA_BEFORE.encode(query_id, LATEST))]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        data = decode_or_problem(feed, GET_DATA_BEFORE, results[0])
        if isinstance(data, Problem):
            return data
        found, value, timestamp = data
        if not found:
            return Problem(feed, ProblemKind.PERMANENT, "no_data",
                           f"no report for query {feed.feed_id}")
        try:
            (raw,) = decode(["uint256"], value)
        except DecodingError:
            return rejected(feed, "bad_value", "0x" + value.hex(), "not an abi-encoded uint256")
        return observation(feed, raw, unix_time(timestamp), fetched_at=fetched_at,
                           block_number=block.number)
