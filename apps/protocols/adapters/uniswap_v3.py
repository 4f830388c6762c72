"""Uniswap v3 TWAP: observe([window, 0]) -> tick cumulatives; the arithmetic-mean tick over the
window (rounded toward −∞, as OracleLibrary.consult does) gives 1.0001**tick token1 per
token0 in raw units. The price is quoted in the pool's quote token (e.g. USDC), not USD:
consensus decides how to use it. Stored with the feed's decimals (18)."""
from datetime import datetime
from decimal import Decimal, localcontext

from apps.feeds.models import Feed, PriceObservation

from ..abi import Function
from .base import Problem, ProblemKind, observation, scaled
from .evm import Block, CallResult, EvmAdapter, EvmCall, decode_or_problem, revert_reason

OBSERVE = Function("observe(uint32[])", ("int56[]", "uint160[]"))


def mean_tick(tick_cumulatives: tuple[int, int], window: int) -> int:
    # Python's // already rounds toward −∞, as the library's decrement does.
    return (tick_cumulatives[1] - tick_cumulatives[0]) // window


def price_at_tick(tick: int, *, decimals0: int, decimals1: int, base_is_token0: bool) -> Decimal:
    """Human price of one base token in quote tokens at `tick`."""
    with localcontext() as context:
        context.prec = 60
        token0_in_token1 = Decimal("1.0001") ** tick * Decimal(10) ** (decimals0 - decimals1)
        return +(token0_in_token1 if base_is_token0 else 1 / token0_in_token1)


class UniswapV3Adapter(EvmAdapter):
    protocol = "uniswap-v3"

    def calls(self, feed: Feed) -> list[EvmCall]:
        window = int(feed.params["window_seconds"])
        return [EvmCall(feed.address, OBSERVE.encode([window, 0]))]

    def decode(self, feed: Feed, results: list[CallResult], block: Block,
               fetched_at: datetime) -> PriceObservation | Problem:
        result = results[0]
        if not result.success and revert_reason(result.data) == "OLD":
            return Problem(feed, ProblemKind.PERMANENT, "window_too_long",
                           "the pool has less observation history than the TWAP window")
        data = decode_or_problem(feed, OBSERVE, result)
        if isinstance(data, Problem):
            return data
        tick_cumulatives, _ = data
        params = feed.params
        tick = mean_tick(tick_cumulatives, int(params["window_seconds"]))
        price = price_at_tick(
            tick, decimals0=params["token0"]["decimals"], decimals1=params["token1"]["decimals"],
            base_is_token0=params.get("base_is_token0", False),
        )
        return observation(feed, scaled(price, feed.decimals), block.timestamp,
                           fetched_at=fetched_at, block_number=block.number)
