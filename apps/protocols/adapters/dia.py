"""DIA on-chain oracles: DIAOracleV2.getValue("BTC/USD") -> (uint128 value, uint128 timestamp),
8 decimals."""
from datetime import datetime

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from ..evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem
from .base import Problem, observation, rejected, unix_time

GET_VALUE = Function("getValue(string)", ("uint128", "uint128"))


class DiaAdapter(EvmAdapter):
    protocol = "dia"

    def calls(self, feed: Feed) -> list[EvmCall]:
        key = feed.params.get("key") or f"{feed.pair.base.symbol}/{feed.pair.quote.symbol}"
        return [EvmCall(feed.address, GET_VALUE.encode(key))]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        data = decode_or_problem(feed, GET_VALUE, results[0])
        if isinstance(data, Problem):
            return data
        value, timestamp = data
        if timestamp == 0:
            return rejected(feed, "no_timestamp", value, "key not set")
        return observation(feed, value, unix_time(timestamp), fetched_at=fetched_at,
                           block_number=block.number)
