from decimal import Decimal

from ..chain import deploy
from .base import ChainContext, FeedSpec, OnChainSimulator


class Chainlink(OnChainSimulator):
    """An aggregator behind an EACAggregatorProxy-like proxy; the platform reads the proxy."""

    protocol = "chainlink"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        aggregator = deploy(chain.w3, "ChainlinkAggregator", feed.decimals,
                            f"{feed.base} / {feed.quote}")
        proxy = deploy(chain.w3, "ChainlinkProxy", aggregator.address)
        feed.contract = aggregator
        feed.address = proxy.address

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        chain.send(feed.contract.functions.transmit(value, timestamp))
