import math
from decimal import Decimal

from ..chain import deploy
from .base import ChainContext, FeedSpec, OnChainSimulator

MIN_TICK, MAX_TICK = -887272, 887272
LIQUIDITY = 10**18
CARDINALITY = 512  # enough one-per-block observations for the devnet's scaled TWAP windows


def tick_for_price(price: Decimal, *, base_is_token0: bool, decimals0: int, decimals1: int) -> int:
    """The pool tick at which one base token is worth `price` quote tokens.

    1.0001**tick is token1 per token0 in raw units; a human price multiplies that by
    10**(decimals0 - decimals1)."""
    if price <= 0:
        return MIN_TICK if base_is_token0 else MAX_TICK
    scale = 10.0 ** (decimals1 - decimals0)
    ratio = float(price) * scale if base_is_token0 else scale / float(price)
    tick = math.floor(math.log(ratio) / math.log(1.0001))
    return min(max(tick, MIN_TICK), MAX_TICK)


class UniswapV3(OnChainSimulator):
    """A USDC-quoted pool whose tick the market moves; the platform reads its TWAP."""

    protocol = "uniswap-v3"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        token0, token1 = (
            chain.shared_contract("ERC20Stub", token["symbol"], token["symbol"],
                                  token["decimals"], key=f"token:{token['symbol']}")
            for token in (feed.params["token0"], feed.params["token1"])
        )
        # The pool opens at the market price: a TWAP window must not average in tick 0.
        feed.contract = deploy(
            chain.w3, "UniswapV3Pool", token0.address, token1.address,
            feed.params.get("fee", 500), 10, self._tick(feed, price), LIQUIDITY, CARDINALITY,
        )
        feed.address = feed.contract.address

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        tick = self._tick(feed, Decimal(value).scaleb(-feed.decimals))
        chain.send(feed.contract.functions.writeTick(tick, 0))

    @staticmethod
    def _tick(feed: FeedSpec, price: Decimal) -> int:
        return tick_for_price(
            price,
            base_is_token0=feed.params.get("base_is_token0", False),
            decimals0=feed.params["token0"]["decimals"],
            decimals1=feed.params["token1"]["decimals"],
        )
