from decimal import Decimal

from .base import ChainContext, FeedSpec, OnChainSimulator, unsigned


class Dia(OnChainSimulator):
    """One DIAOracleV2 per chain: getValue("BTC/USD") -> (uint128 value, uint128 timestamp)."""

    protocol = "dia"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        feed.contract = chain.shared_contract("DIAOracleV2")
        feed.address = feed.contract.address

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        key = feed.params.get("key", f"{feed.base}/{feed.quote}")
        chain.send(feed.contract.functions.setValue(key, unsigned(value, 128), timestamp))
