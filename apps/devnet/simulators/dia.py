from decimal import Decimal

from .base import ChainContext, FeedSpec, OnChainSimulator, unsigned
from .http import HttpSimulator, Reply, float_literal, json_reply, rfc3339


class Dia(OnChainSimulator):
    """One DIAOracleV2 per chain: getValue("BTC/USD") -> (uint128 value, uint128 timestamp)."""

    protocol = "dia"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        feed.contract = chain.shared_contract("DIAOracleV2")
        feed.address = feed.contract.address

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        key = feed.params.get("key", f"{feed.base}/{feed.quote}")
        chain.send(feed.contract.functions.setValue(key, unsigned(value, 128), timestamp))


class DiaApi(HttpSimulator):
    """DIA's REST API: /v1/assetQuotation/{blockchain}/{address} and /v1/quotation/{symbol}.
    (No `Signature` field: DIA's signing scheme is undocumented, and a made-up one would
    pretend to be verifiable.)"""

    protocol = "dia"

    def route(self, path: str, query: list, headers: dict) -> Reply:
        parts = path.strip("/").split("/")
        feed = None
        if parts[:2] == ["v1", "assetQuotation"] and len(parts) == 4:
            asset = (parts[2], parts[3])
            feed = next((f for f in self.feeds.values()
                         if (f.params.get("blockchain"), f.params.get("address")) == asset), None)
        elif parts[:2] == ["v1", "quotation"] and len(parts) == 3:
            feed = next((f for f in self.feeds.values()
                         if (f.params.get("symbol") or f.base) == parts[2]), None)
        if feed is None:
            return json_reply(404, {"errorcode": 404, "errormessage": "not found"})
        quote = self.quote(feed)
        body = {
            "Symbol": feed.base, "Name": feed.base,
            "Price": float_literal(quote.price),
            "PriceYesterday": float_literal(quote.price), "VolumeYesterdayUSD": 0,
            "Time": rfc3339(quote.timestamp), "Source": "diadata.org",
        }
        if parts[1] == "assetQuotation":
            body.update(Address=parts[3], Blockchain=parts[2])
        return json_reply(200, body)
