from decimal import Decimal

from ..chain import deploy
from .base import ChainContext, FeedSpec, OnChainSimulator, bytes32, unsigned


class Chronicle(OnChainSimulator):
    """A Scribe oracle. Reads are whitelisted as on mainnet: only the platform's configured
    reader is kissed (not Multicall3), so the platform must read it with eth_call from that
    address."""

    protocol = "chronicle"
    # A poke's age must be newer than the previous poke's block time: one block apart at least.
    min_interval = 2.0

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        wat = feed.params.get("wat", f"{feed.base}/{feed.quote}")
        feed.contract = deploy(chain.w3, "ChronicleScribe", bytes32(wat))
        feed.address = feed.contract.address
        chain.send(feed.contract.functions.kiss(chain.reader))

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        # Scribe requires age <= block.timestamp: use the latest block's time, not the wall's.
        age = chain.w3.eth.get_block("latest")["timestamp"]
        if age <= feed.last_chain_ts:
            return
        feed.last_chain_ts = age
        chain.send(feed.contract.functions.poke(unsigned(value, 128), age))
