"""Band Protocol StdReference: getReferenceData(base, quote) -> (rate × 1e18, lastUpdatedBase,
lastUpdatedQuote). A rate is only as fresh as the older of its two legs."""
from datetime import datetime

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from ..evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem
from .base import Problem, observation, rejected, unix_time

GET_REFERENCE_DATA = Function("getReferenceData(string,string)", ("uint256", "uint256", "uint256"))


class BandAdapter(EvmAdapter):
    protocol = "band"

    def calls(self, feed: Feed) -> list[EvmCall]:
        base = feed.params.get("base", feed.pair.base.symbol)
        quote = feed.params.get("quote", feed.pair.quote.symbol)
        return [EvmCall(feed.address, GET_REFERENCE_DATA.encode(base, quote))]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        data = decode_or_problem(feed, GET_REFERENCE_DATA, results[0])
        if isinstance(data, Problem):
            return data
        rate, updated_base, updated_quote = data
        updated = min(updated_base, updated_quote)
        if updated == 0:
            return rejected(feed, "no_timestamp", rate)
        return observation(feed, rate, unix_time(updated), fetched_at=fetched_at,
                           block_number=block.number)
