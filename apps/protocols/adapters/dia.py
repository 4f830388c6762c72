"""DIA: the on-chain DIAOracleV2 (getValue("BTC/USD") -> (uint128 value, uint128 timestamp),
8 decimals) and the REST API."""
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from .base import (
    AdapterError,
    Problem,
    ProblemKind,
    ReadResult,
    observation,
    parse_rfc3339,
    rejected,
    scaled,
)
from .evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem, stamped_value
from .http import HttpAdapter, RateLimited

GET_VALUE = Function("getValue(string)", ("uint128", "uint128"))


def dia_key(feed: Feed) -> str:
    """The key a DIA oracle stores the feed's value under (e.g. "ETH/USD")."""
    return feed.params.get("key") or f"{feed.pair.base.symbol}/{feed.pair.quote.symbol}"


class DiaAdapter(EvmAdapter):
    protocol = "dia"

    def calls(self, feed: Feed) -> list[EvmCall]:
        return [EvmCall(feed.address, GET_VALUE.encode(dia_key(feed)))]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        data = decode_or_problem(feed, GET_VALUE, results[0])
        if isinstance(data, Problem):
            return data
        value, timestamp = data
        return stamped_value(feed, value, timestamp, block, fetched_at, detail="key not set")


class DiaApiAdapter(HttpAdapter):
    """DIA's REST API: GET /v1/assetQuotation/{blockchain}/{address} (or the legacy
    /v1/quotation/{symbol}) -> {Symbol, Price (a JSON number), Time (RFC 3339), Source, …}.
    One request per feed: the API has no batch form. DIA's response signature scheme is not
    documented, so nothing is verified (verified stays null)."""

    protocol = "dia"
    url_setting = "OP_DIA_API_URL"

    def read(self, feeds: Sequence[Feed], *, now: datetime) -> ReadResult:
        result = ReadResult()
        client = self.client()
        for feed in feeds:
            params = feed.params
            if params.get("blockchain") and params.get("address"):
                path = f"/v1/assetQuotation/{params['blockchain']}/{params['address']}"
            else:
                path = f"/v1/quotation/{params.get('symbol') or feed.pair.base.symbol}"
            try:
                body = client.get_json(path)
                price, moment = body["Price"], parse_rfc3339(body["Time"])
            except RateLimited:
                raise  # the whole API asked us to wait: stop here, the engine honours it
            except AdapterError as error:
                result.problems.append(Problem(feed, error.kind, error.reason, str(error)))
                continue
            except (KeyError, TypeError, ValueError) as error:
                result.problems.append(Problem(feed, ProblemKind.PERMANENT, "bad_response",
                                               f"GET {path}: {error!r}"))
                continue
            if not isinstance(price, Decimal | int):
                result.problems.append(rejected(feed, "bad_value", price, "Price is not a number"))
                continue
            result.observations.append(observation(
                feed, scaled(Decimal(price), feed.decimals), moment, fetched_at=now))
        return result
