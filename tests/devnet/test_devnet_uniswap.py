"""Uniswap v3-style pool: TickMath-exact slot0 and a TWAP from the observation
ring buffer, read through the real IUniswapV3Pool ABI."""

from __future__ import annotations

import itertools
from decimal import Decimal, localcontext

import pytest
from web3.exceptions import ContractLogicError

from apps.devnet import chain

MIN_TICK, MAX_TICK = -887272, 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

# TickMath.getSqrtRatioAtTick's constants, bit 0..19 (Uniswap/v3-core).
_FACTORS = [
    0xFFFCB933BD6FAD37AA2D162D1A594001, 0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC, 0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644, 0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861, 0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4, 0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3, 0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825, 0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7, 0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9, 0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98, 0x48A170391F7DC42444E8FA2,
]  # fmt: skip


def tick_math_sqrt_ratio(tick: int) -> int:
    """Python port of TickMath.getSqrtRatioAtTick (the reference for the test)."""
    abs_tick = abs(tick)
    assert abs_tick <= MAX_TICK
    ratio = _FACTORS[0] if abs_tick & 1 else 1 << 128
    for bit in range(1, 20):
        if abs_tick & (1 << bit):
            ratio = (ratio * _FACTORS[bit]) >> 128
    if tick > 0:
        ratio = (2**256 - 1) // ratio
    return (ratio >> 32) + (1 if ratio % (1 << 32) else 0)


def exact_sqrt_price_x96(tick: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return (Decimal("1.0001") ** tick).sqrt() * (Decimal(2) ** 96)


def consult_mean_tick(tick_cumulatives: list[int], window: int) -> int:
    """OracleLibrary.consult: truncate (Solidity), then round toward -inf when negative."""
    delta = tick_cumulatives[1] - tick_cumulatives[0]
    mean = abs(delta) // window * (1 if delta >= 0 else -1)
    if delta < 0 and delta % window != 0:
        mean -= 1
    return mean


KNOWN_TICKS = [0, 1, -1, 887272, -887272, 200000, -200000, 50, -12345, 195_000]


def test_tick_math_reference_matches_uniswap_constants() -> None:
    assert tick_math_sqrt_ratio(0) == 2**96
    assert tick_math_sqrt_ratio(MIN_TICK) == MIN_SQRT_RATIO
    assert tick_math_sqrt_ratio(MAX_TICK) == MAX_SQRT_RATIO
    assert tick_math_sqrt_ratio(1) == 79232123823359799118286999568
    assert tick_math_sqrt_ratio(-1) == 79224201403219477170569942574
    for tick in KNOWN_TICKS:
        exact = exact_sqrt_price_x96(tick)
        # TickMath's 128-bit constants are good to ~3e-20 relative at the extremes.
        error = abs(Decimal(tick_math_sqrt_ratio(tick)) - exact)
        assert error <= max(Decimal(2), exact * Decimal("1e-18"))


@pytest.mark.parametrize(
    "tick", KNOWN_TICKS + [1 << b for b in range(20)] + [-(1 << b) for b in range(20)]
)
def test_on_chain_tick_math_equals_uniswap_tick_math(devnet, tick: int) -> None:
    assert devnet.pool.functions.getSqrtRatioAtTick(tick).call() == tick_math_sqrt_ratio(tick)


def test_tick_outside_range_is_rejected(devnet) -> None:
    with pytest.raises(ContractLogicError):
        devnet.pool.functions.getSqrtRatioAtTick(MAX_TICK + 1).call()
    with pytest.raises(ContractLogicError):
        devnet.pool.functions.writeTick(MIN_TICK - 1, 0).call({"from": devnet.owner})


def test_slot0_sqrt_price_is_consistent_with_the_written_tick(devnet) -> None:
    pool = devnet.iface("IUniswapV3Pool", devnet.pool.address)
    for tick in [0, 1, -1, 887272, -887272, 200000]:
        devnet.transact(devnet.pool.functions.writeTick(tick, 0))
        sqrt_price, got_tick, *_rest, unlocked = pool.functions.slot0().call()
        assert (sqrt_price, got_tick, unlocked) == (tick_math_sqrt_ratio(tick), tick, True)


def test_write_tick_can_store_an_inconsistent_sqrt_price_on_purpose(devnet) -> None:
    pool = devnet.iface("IUniswapV3Pool", devnet.pool.address)
    devnet.transact(devnet.pool.functions.writeTick(100, 12345))
    assert pool.functions.slot0().call()[:2] == [12345, 100]


def test_pool_metadata_and_token_decimals(devnet) -> None:
    pool = devnet.iface("IUniswapV3Pool", devnet.pool.address)
    assert pool.functions.token0().call() == devnet.usdc.address
    assert pool.functions.token1().call() == devnet.weth.address
    assert pool.functions.fee().call() == 500
    assert pool.functions.tickSpacing().call() == 10
    assert pool.functions.liquidity().call() == 10**18
    decimals = [
        devnet.iface("IERC20Metadata", pool.functions.token0().call()).functions.decimals().call(),
        devnet.iface("IERC20Metadata", pool.functions.token1().call()).functions.decimals().call(),
    ]
    assert decimals == [6, 18]


def _write_ticks(devnet, pool, schedule: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Write (tick, then wait seconds); return [(block time, tick)] segments."""
    segments = []
    for tick, wait in schedule:
        receipt = devnet.transact(pool.functions.writeTick(tick, 0))
        segments.append((int(devnet.w3.eth.get_block(receipt["blockNumber"])["timestamp"]), tick))
        devnet.rpc("evm_increaseTime", wait)
    devnet.rpc("evm_mine")
    return segments


def _integral(segments: list[tuple[int, int]], start: int, end: int, before: int) -> int:
    """Exact integral of the piecewise-constant tick over [start, end]."""
    bounds = [*segments, (end, None)]
    total = 0
    if start < segments[0][0]:
        total += before * (segments[0][0] - start)
    for (seg_start, tick), (seg_end, _) in itertools.pairwise(bounds):
        lo, hi = max(seg_start, start), min(seg_end, end)
        if hi > lo:
            total += tick * (hi - lo)
    return total


def test_twap_equals_time_weighted_mean_rounded_toward_negative_infinity(devnet) -> None:
    pool = devnet.iface("IUniswapV3Pool", devnet.pool.address)
    segments = _write_ticks(devnet, devnet.pool, [(1000, 60), (-500, 120), (-3001, 45)])
    now = devnet.latest_timestamp()
    window = now - (segments[0][0] + 17)  # starts between two observations

    tick_cumulatives, seconds_per_liquidity = pool.functions.observe([window, 0]).call(
        block_identifier="latest"
    )
    delta = tick_cumulatives[1] - tick_cumulatives[0]
    assert delta == _integral(segments, now - window, now, before=200_000)
    assert delta < 0 and delta % window != 0  # exercises the rounding branch
    expected = _integral(segments, now - window, now, before=200_000) // window  # floor
    assert consult_mean_tick(tick_cumulatives, window) == expected
    assert expected == int(delta / window) - 1
    # Each transform and the interpolation floor once: allow that much rounding.
    spl_delta = seconds_per_liquidity[1] - seconds_per_liquidity[0]
    assert abs(spl_delta - (window << 128) // 10**18) <= 4


def test_twap_with_window_reaching_back_before_the_first_write(devnet) -> None:
    pool = devnet.iface("IUniswapV3Pool", devnet.pool.address)
    start = devnet.latest_timestamp()
    devnet.rpc("evm_increaseTime", 30)
    segments = _write_ticks(devnet, devnet.pool, [(-100, 90)])
    now = devnet.latest_timestamp()
    window = now - start - 5
    tick_cumulatives, _ = pool.functions.observe([window, 0]).call(block_identifier="latest")
    assert tick_cumulatives[1] - tick_cumulatives[0] == _integral(
        segments, now - window, now, 200_000
    )


def test_ring_buffer_wraps_and_old_windows_revert(devnet) -> None:
    small = chain.deploy(
        devnet.w3, "UniswapV3Pool", devnet.usdc.address, devnet.weth.address, 500, 10, 0, 10**18, 4
    )
    pool = devnet.iface("IUniswapV3Pool", small.address)
    devnet.rpc("evm_increaseTime", 5)  # one observation per block time: leave deploy's second
    segments = _write_ticks(devnet, small, [(t, 10) for t in (10, 20, 30, 40, 50, 60, 70)])
    _, tick, index, cardinality, cardinality_next, *_ = pool.functions.slot0().call()
    assert (tick, cardinality, cardinality_next) == (70, 4, 4)
    assert index == 7 % 4  # 1 initial + 7 writes into a 4-slot ring
    now = devnet.latest_timestamp()
    oldest = min(pool.functions.observations(i).call()[0] for i in range(4))

    window = now - oldest
    tick_cumulatives, _ = pool.functions.observe([window, 0]).call(block_identifier="latest")
    assert tick_cumulatives[1] - tick_cumulatives[0] == _integral(segments, oldest, now, 0)
    with pytest.raises(ContractLogicError, match="OLD"):
        pool.functions.observe([window + 1, 0]).call(block_identifier="latest")


def test_cardinality_grows_when_the_index_reaches_the_end(devnet) -> None:
    grown = chain.deploy(
        devnet.w3, "UniswapV3Pool", devnet.usdc.address, devnet.weth.address, 500, 10, 0, 10**18, 1
    )
    pool = devnet.iface("IUniswapV3Pool", grown.address)
    assert pool.functions.slot0().call()[3:5] == [1, 1]
    devnet.transact(pool.functions.increaseObservationCardinalityNext(3), sender=devnet.outsider)
    assert pool.functions.slot0().call()[3:5] == [1, 3]
    devnet.rpc("evm_increaseTime", 5)
    _write_ticks(devnet, grown, [(5, 1)])
    assert pool.functions.slot0().call()[2:5] == [1, 3, 3]
