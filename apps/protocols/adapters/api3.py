"""API3 dAPIs: the reader proxy's read() -> (int224 value, uint32 timestamp), 18 decimals."""
from datetime import datetime

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from .base import Problem
from .evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem, stamped_value

READ = Function("read()", ("int224", "uint32"))


class Api3Adapter(EvmAdapter):
    protocol = "api3"

    def calls(self, feed: Feed) -> list[EvmCall]:
        return [EvmCall(feed.address, READ.encode())]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        data = decode_or_problem(feed, READ, results[0])
        if isinstance(data, Problem):
            return data
        value, timestamp = data
        return stamped_value(feed, value, timestamp, block, fetched_at)
