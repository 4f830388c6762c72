from decimal import Decimal

from .base import ChainContext, FeedSpec, OnChainSimulator, unsigned
from .http import HttpSimulator, Reply, json_reply, scaled_int


class Band(OnChainSimulator):
    """One StdReference per chain holding USD rates (× 1e9) per symbol; the contract derives
    base/quote × 1e18 on read, so a feed publishes its base symbol's USD rate."""

    protocol = "band"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        feed.contract = chain.shared_contract("BandStdReference")
        feed.address = feed.contract.address
        if feed.quote != "USD":
            raise ValueError(f"{feed.key}: the devnet Band simulator relays USD rates only")

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        symbol = feed.params.get("base", feed.base)
        rate = unsigned(value // 10 ** (feed.decimals - 9), 64)  # Band stores USD × 1e9
        chain.send(feed.contract.functions.relay([symbol], [rate], [timestamp]))


class BandRest(HttpSimulator):
    """BandChain's REST endpoint /oracle/v1/request_prices?symbols=…: USD prices with a 1e9
    multiplier, 64-bit integers as strings (proto3 JSON)."""

    protocol = "band"
    MULTIPLIER = 10**9

    def route(self, path: str, query: list, headers: dict) -> Reply:
        if path.rstrip("/") != "/oracle/v1/request_prices":
            return json_reply(404, {"code": 5, "message": "Not Found", "details": []})
        symbols = [value for key, value in query if key == "symbols"]
        by_symbol = {f.params.get("symbol") or f.base: f for f in self.feeds.values()}
        missing = [s for s in symbols if s not in by_symbol]
        if not symbols or missing:
            return json_reply(400, {"code": 3, "details": [],
                                    "message": f"symbols not supported: {missing or 'none'}"})
        results = []
        for symbol in symbols:
            quote = self.quote(by_symbol[symbol])
            results.append({
                "symbol": symbol, "multiplier": str(self.MULTIPLIER),
                "px": str(scaled_int(quote.price, 9)), "request_id": str(int(quote.timestamp)),
                "resolve_time": str(int(quote.timestamp)),
            })
        return json_reply(200, {"price_results": results})
