"""Band Protocol: StdReference on EVM chains — getReferenceData(base, quote) -> (rate × 1e18,
lastUpdatedBase, lastUpdatedQuote), a rate only as fresh as the older of its two legs — and
BandChain's REST API."""
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from .base import (
    Problem,
    ProblemKind,
    ReadResult,
    TransientError,
    observation,
    rejected,
    scaled,
    unix_time,
)
from .evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem, stamped_value
from .http import HttpAdapter

GET_REFERENCE_DATA = Function("getReferenceData(string,string)", ("uint256", "uint256", "uint256"))


def band_base(feed: Feed) -> str:
    """The base symbol Band's StdReference knows the feed's asset by."""
    return feed.params.get("base", feed.pair.base.symbol)


class BandAdapter(EvmAdapter):
    protocol = "band"

    def calls(self, feed: Feed) -> list[EvmCall]:
        quote = feed.params.get("quote", feed.pair.quote.symbol)
        return [EvmCall(feed.address, GET_REFERENCE_DATA.encode(band_base(feed), quote))]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        data = decode_or_problem(feed, GET_REFERENCE_DATA, results[0])
        if isinstance(data, Problem):
            return data
        rate, updated_base, updated_quote = data
        updated = min(updated_base, updated_quote)
        return stamped_value(feed, rate, updated, block, fetched_at)


class BandRestAdapter(HttpAdapter):
    """BandChain REST: GET {base}/oracle/v1/request_prices?symbols=BTC&symbols=ETH ->
    {"price_results": [{symbol, multiplier, px, request_id, resolve_time}]} with
    px = rate × multiplier. 64-bit integers may come as strings (proto3 JSON) or numbers."""

    protocol = "band"
    url_setting = "OP_BAND_REST_URL"

    def read(self, feeds: Sequence[Feed], *, now: datetime) -> ReadResult:
        result = ReadResult()
        by_symbol: dict[str, list[Feed]] = {}
        for feed in feeds:
            if feed.pair.quote.symbol != "USD":
                result.problems.append(Problem(feed, ProblemKind.PERMANENT, "misconfigured",
                                               "BandChain prices are quoted in USD"))
                continue
            symbol = feed.params.get("symbol") or feed.pair.base.symbol
            by_symbol.setdefault(symbol, []).append(feed)
        if not by_symbol:
            return result
        # One request for every feed: its failure is theirs (the engine records it for each).
        body = self.client().get_json("/oracle/v1/request_prices",
                                      [("symbols", symbol) for symbol in by_symbol])
        try:
            answers = {item["symbol"]: item for item in body["price_results"]}
        except (KeyError, TypeError) as error:
            raise TransientError(f"unexpected reply: {error!r}", reason="bad_response") from error
        for symbol, symbol_feeds in by_symbol.items():
            for feed in symbol_feeds:
                item = answers.get(symbol)
                if item is None:
                    result.problems.append(Problem(feed, ProblemKind.PERMANENT, "no_data",
                                                   f"BandChain returned no price for {symbol}"))
                    continue
                try:
                    px, multiplier = int(str(item["px"])), int(str(item["multiplier"]))
                    moment = unix_time(int(str(item["resolve_time"])))
                except (KeyError, ValueError) as error:
                    result.problems.append(Problem(feed, ProblemKind.PERMANENT, "bad_response",
                                                   repr(error)))
                    continue
                if multiplier <= 0:
                    result.problems.append(rejected(feed, "bad_value", item, "multiplier ≤ 0"))
                    continue
                price = Decimal(px) / Decimal(multiplier)
                result.observations.append(observation(
                    feed, scaled(price, feed.decimals), moment, fetched_at=now))
        return result
