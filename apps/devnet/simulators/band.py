from decimal import Decimal

from .base import ChainContext, FeedSpec, OnChainSimulator, unsigned


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
