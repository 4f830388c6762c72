from decimal import Decimal

from ..chain import deploy
from .base import ChainContext, FeedSpec, OnChainSimulator, bytes32

INT224 = 2**223


class Api3(OnChainSimulator):
    """An API3 dAPI reader proxy: read() -> (int224 value, uint32 timestamp), 18 decimals."""

    protocol = "api3"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        name = feed.params.get("dapi_name", f"{feed.base}/{feed.quote}")
        feed.contract = deploy(chain.w3, "Api3ReaderProxy", bytes32(name))
        feed.address = feed.contract.address

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        value = min(max(value, -INT224), INT224 - 1)
        chain.send(feed.contract.functions.setValue(value, timestamp))
