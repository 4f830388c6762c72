from decimal import Decimal

from ..chain import deploy
from .base import ChainContext, FeedSpec, OnChainSimulator, bytes32


class RedStonePush(OnChainSimulator):
    """RedStone's Chainlink-compatible push feed (8 decimals, block-time timestamps)."""

    protocol = "redstone"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        data_feed_id = feed.params.get("data_feed_id", feed.base)
        feed.contract = deploy(chain.w3, "RedStonePriceFeed", bytes32(data_feed_id),
                               "Redstone Price Feed")
        feed.address = feed.contract.address

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        chain.send(feed.contract.functions.setValue(value))
