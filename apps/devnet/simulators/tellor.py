from decimal import Decimal

from eth_abi import encode
from eth_utils import keccak

from .base import ChainContext, FeedSpec, OnChainSimulator, unsigned


def spot_price_query_id(asset: str, currency: str) -> bytes:
    """Tellor's query id: keccak256(abi.encode("SpotPrice", abi.encode(asset, currency)))."""
    query_data = encode(["string", "bytes"],
                        ["SpotPrice", encode(["string", "string"], [asset, currency])])
    return keccak(query_data)


class Tellor(OnChainSimulator):
    """One Tellor oracle per chain; feeds are keyed by their real query ids."""

    protocol = "tellor"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        feed.contract = chain.shared_contract("TellorOracle")
        feed.address = feed.contract.address
        query_id = spot_price_query_id(
            feed.params.get("query_asset", feed.base.lower()),
            feed.params.get("query_currency", feed.quote.lower()),
        )
        feed.feed_id = "0x" + query_id.hex()

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        timestamp = max(timestamp, feed.last_chain_ts + 1)  # strictly increasing per query
        feed.last_chain_ts = timestamp
        reported = encode(["uint256"], [unsigned(value, 256)])
        chain.send(feed.contract.functions.submitValue(
            bytes.fromhex(feed.feed_id[2:]), reported, timestamp
        ))
