# pragma version ~=0.4.3
"""
@title Devnet Uniswap v3-style pool (price oracle part only)
@notice slot0 / observe / observations with Uniswap's Oracle library ported
        faithfully: an observation ring buffer written at most once per block,
        a cardinality that grows when the writer reaches the end of the buffer,
        interpolation between observations and the 'OLD' revert.
        The devnet writer moves the price with writeTick; sqrtPriceX96 = 0 means
        "compute it on-chain with Uniswap's TickMath.getSqrtRatioAtTick".
        No swaps, positions or fees: liquidity is a single settable number.
"""

MIN_TICK: constant(int24) = -887272
MAX_TICK: constant(int24) = 887272
MAX_CARDINALITY: constant(uint256) = 65535
MAX_OBSERVE: constant(uint256) = 64
Q160: constant(uint256) = 1 << 160

struct Observation:
    blockTimestamp: uint32
    tickCumulative: int56
    secondsPerLiquidityCumulativeX128: uint160
    initialized: bool

struct Slot0:
    sqrtPriceX96: uint160
    tick: int24
    observationIndex: uint16
    observationCardinality: uint16
    observationCardinalityNext: uint16
    feeProtocol: uint8
    unlocked: bool

event Initialize:
    sqrtPriceX96: uint160
    tick: int24

event Swap:
    sender: indexed(address)
    recipient: indexed(address)
    amount0: int256
    amount1: int256
    sqrtPriceX96: uint160
    liquidity: uint128
    tick: int24

event IncreaseObservationCardinalityNext:
    observationCardinalityNextOld: uint16
    observationCardinalityNextNew: uint16

owner: public(address)
token0: public(address)
token1: public(address)
fee: public(uint24)
tickSpacing: public(int24)
liquidity: public(uint128)
slot0: public(Slot0)
observations: public(Observation[MAX_CARDINALITY])


@deploy
def __init__(
    _token0: address,
    _token1: address,
    _fee: uint24,
    _tickSpacing: int24,
    _tick: int24,
    _liquidity: uint128,
    _cardinalityNext: uint16,
):
    self.owner = msg.sender
    self.token0 = _token0
    self.token1 = _token1
    self.fee = _fee
    self.tickSpacing = _tickSpacing
    self.liquidity = _liquidity
    sqrt_price: uint160 = self._sqrt_ratio_at_tick(_tick)
    # Oracle.initialize: one observation now, cardinality 1.
    self.observations[0] = Observation(
        blockTimestamp=self._block_timestamp(),
        tickCumulative=0,
        secondsPerLiquidityCumulativeX128=0,
        initialized=True,
    )
    self.slot0 = Slot0(
        sqrtPriceX96=sqrt_price,
        tick=_tick,
        observationIndex=0,
        observationCardinality=1,
        observationCardinalityNext=1,
        feeProtocol=0,
        unlocked=True,
    )
    log Initialize(sqrtPriceX96=sqrt_price, tick=_tick)
    self.slot0.observationCardinalityNext = self._grow(1, _cardinalityNext)


# ---- TickMath.getSqrtRatioAtTick, constant for constant ----

@internal
@pure
def _sqrt_ratio_at_tick(tick: int24) -> uint160:
    abs_tick: uint256 = convert(abs(convert(tick, int256)), uint256)
    assert abs_tick <= convert(MAX_TICK, uint256), "T"
    # Vyper reads hex literals as bytes, hence convert(); the constants are
    # TickMath's, left-padded with a zero where the hex has an odd length.
    ratio: uint256 = 1 << 128
    if abs_tick & 1 != 0:
        ratio = convert(0xfffcb933bd6fad37aa2d162d1a594001, uint256)
    if abs_tick & (1 << 1) != 0:
        ratio = (ratio * convert(0xfff97272373d413259a46990580e213a, uint256)) >> 128
    if abs_tick & (1 << 2) != 0:
        ratio = (ratio * convert(0xfff2e50f5f656932ef12357cf3c7fdcc, uint256)) >> 128
    if abs_tick & (1 << 3) != 0:
        ratio = (ratio * convert(0xffe5caca7e10e4e61c3624eaa0941cd0, uint256)) >> 128
    if abs_tick & (1 << 4) != 0:
        ratio = (ratio * convert(0xffcb9843d60f6159c9db58835c926644, uint256)) >> 128
    if abs_tick & (1 << 5) != 0:
        ratio = (ratio * convert(0xff973b41fa98c081472e6896dfb254c0, uint256)) >> 128
    if abs_tick & (1 << 6) != 0:
        ratio = (ratio * convert(0xff2ea16466c96a3843ec78b326b52861, uint256)) >> 128
    if abs_tick & (1 << 7) != 0:
        ratio = (ratio * convert(0xfe5dee046a99a2a811c461f1969c3053, uint256)) >> 128
    if abs_tick & (1 << 8) != 0:
        ratio = (ratio * convert(0xfcbe86c7900a88aedcffc83b479aa3a4, uint256)) >> 128
    if abs_tick & (1 << 9) != 0:
        ratio = (ratio * convert(0xf987a7253ac413176f2b074cf7815e54, uint256)) >> 128
    if abs_tick & (1 << 10) != 0:
        ratio = (ratio * convert(0xf3392b0822b70005940c7a398e4b70f3, uint256)) >> 128
    if abs_tick & (1 << 11) != 0:
        ratio = (ratio * convert(0xe7159475a2c29b7443b29c7fa6e889d9, uint256)) >> 128
    if abs_tick & (1 << 12) != 0:
        ratio = (ratio * convert(0xd097f3bdfd2022b8845ad8f792aa5825, uint256)) >> 128
    if abs_tick & (1 << 13) != 0:
        ratio = (ratio * convert(0xa9f746462d870fdf8a65dc1f90e061e5, uint256)) >> 128
    if abs_tick & (1 << 14) != 0:
        ratio = (ratio * convert(0x70d869a156d2a1b890bb3df62baf32f7, uint256)) >> 128
    if abs_tick & (1 << 15) != 0:
        ratio = (ratio * convert(0x31be135f97d08fd981231505542fcfa6, uint256)) >> 128
    if abs_tick & (1 << 16) != 0:
        ratio = (ratio * convert(0x09aa508b5b7a84e1c677de54f3e99bc9, uint256)) >> 128
    if abs_tick & (1 << 17) != 0:
        ratio = (ratio * convert(0x5d6af8dedb81196699c329225ee604, uint256)) >> 128
    if abs_tick & (1 << 18) != 0:
        ratio = (ratio * convert(0x2216e584f5fa1ea926041bedfe98, uint256)) >> 128
    if abs_tick & (1 << 19) != 0:
        ratio = (ratio * convert(0x048a170391f7dc42444e8fa2, uint256)) >> 128
    if tick > 0:
        ratio = max_value(uint256) // ratio
    # Q128.128 -> Q64.96, rounding up.
    round_up: uint256 = 0
    if ratio % (1 << 32) != 0:
        round_up = 1
    return convert((ratio >> 32) + round_up, uint160)


# ---- Oracle library ----

@internal
@view
def _block_timestamp() -> uint32:
    # Uniswap truncates block time to 32 bits.
    return convert(block.timestamp % (1 << 32), uint32)


@internal
@pure
def _transform(last: Observation, block_timestamp: uint32, tick: int24, liquidity: uint128) -> Observation:
    delta: uint32 = block_timestamp - last.blockTimestamp
    liq: uint256 = max(convert(liquidity, uint256), 1)
    # uint160 arithmetic wraps in Solidity 0.7; reproduce that.
    spl: uint256 = (
        convert(last.secondsPerLiquidityCumulativeX128, uint256)
        + (convert(delta, uint256) << 128) // liq
    ) % Q160
    return Observation(
        blockTimestamp=block_timestamp,
        tickCumulative=last.tickCumulative + convert(tick, int56) * convert(delta, int56),
        secondsPerLiquidityCumulativeX128=convert(spl, uint160),
        initialized=True,
    )


@internal
def _write(
    index: uint16,
    block_timestamp: uint32,
    tick: int24,
    liquidity: uint128,
    cardinality: uint16,
    cardinality_next: uint16,
) -> (uint16, uint16):
    last: Observation = self.observations[index]
    # At most one observation per block.
    if last.blockTimestamp == block_timestamp:
        return index, cardinality
    cardinality_updated: uint16 = cardinality
    if cardinality_next > cardinality and index == cardinality - 1:
        cardinality_updated = cardinality_next
    index_updated: uint16 = (index + 1) % cardinality_updated
    self.observations[index_updated] = self._transform(last, block_timestamp, tick, liquidity)
    return index_updated, cardinality_updated


@internal
def _grow(current: uint16, next: uint16) -> uint16:
    assert current > 0, "I"
    if next <= current:
        return current
    # Pre-touch the slots like Uniswap; they stay uninitialized.
    for i: uint256 in range(convert(current, uint256), convert(next, uint256), bound=MAX_CARDINALITY):
        self.observations[i].blockTimestamp = 1
    return next


@internal
@pure
def _lte(time: uint32, a: uint32, b: uint32) -> bool:
    # Comparator safe for one wrap of the 32-bit timestamp.
    if a <= time and b <= time:
        return a <= b
    a_adj: uint256 = convert(a, uint256)
    b_adj: uint256 = convert(b, uint256)
    if a <= time:
        a_adj += 1 << 32
    if b <= time:
        b_adj += 1 << 32
    return a_adj <= b_adj


@internal
@view
def _binary_search(
    time: uint32, target: uint32, index: uint16, cardinality: uint16
) -> (Observation, Observation):
    card: uint256 = convert(cardinality, uint256)
    lo: uint256 = (convert(index, uint256) + 1) % card
    hi: uint256 = lo + card - 1
    before: Observation = empty(Observation)
    after: Observation = empty(Observation)
    for _: uint256 in range(256):
        i: uint256 = (lo + hi) // 2
        before = self.observations[i % card]
        if not before.initialized:
            lo = i + 1
            continue
        after = self.observations[(i + 1) % card]
        target_at_or_after: bool = self._lte(time, before.blockTimestamp, target)
        if target_at_or_after and self._lte(time, target, after.blockTimestamp):
            return before, after
        if not target_at_or_after:
            hi = i - 1
        else:
            lo = i + 1
    raise "binary search"


@internal
@view
def _surrounding(
    time: uint32, target: uint32, tick: int24, index: uint16, liquidity: uint128, cardinality: uint16
) -> (Observation, Observation):
    before: Observation = self.observations[index]
    if self._lte(time, before.blockTimestamp, target):
        if before.blockTimestamp == target:
            return before, empty(Observation)
        return before, self._transform(before, target, tick, liquidity)
    before = self.observations[(index + 1) % cardinality]
    if not before.initialized:
        before = self.observations[0]
    assert self._lte(time, before.blockTimestamp, target), "OLD"
    return self._binary_search(time, target, index, cardinality)


@internal
@view
def _observe_single(
    time: uint32, seconds_ago: uint32, tick: int24, index: uint16, liquidity: uint128, cardinality: uint16
) -> (int56, uint160):
    if seconds_ago == 0:
        last: Observation = self.observations[index]
        if last.blockTimestamp != time:
            last = self._transform(last, time, tick, liquidity)
        return last.tickCumulative, last.secondsPerLiquidityCumulativeX128

    target: uint32 = time - seconds_ago
    before: Observation = empty(Observation)
    after: Observation = empty(Observation)
    before, after = self._surrounding(time, target, tick, index, liquidity, cardinality)

    if target == before.blockTimestamp:
        return before.tickCumulative, before.secondsPerLiquidityCumulativeX128
    if target == after.blockTimestamp:
        return after.tickCumulative, after.secondsPerLiquidityCumulativeX128
    # In between: interpolate (int56 division truncates toward zero, as in Solidity).
    observation_delta: uint32 = after.blockTimestamp - before.blockTimestamp
    target_delta: uint32 = target - before.blockTimestamp
    tick_cumulative: int56 = before.tickCumulative + (
        (after.tickCumulative - before.tickCumulative) // convert(observation_delta, int56)
    ) * convert(target_delta, int56)
    spl_delta: uint256 = (
        convert(after.secondsPerLiquidityCumulativeX128, uint256) + Q160
        - convert(before.secondsPerLiquidityCumulativeX128, uint256)
    ) % Q160
    spl: uint256 = (
        convert(before.secondsPerLiquidityCumulativeX128, uint256)
        + spl_delta * convert(target_delta, uint256) // convert(observation_delta, uint256)
    ) % Q160
    return tick_cumulative, convert(spl, uint160)


@external
@view
def observe(
    secondsAgos: DynArray[uint32, MAX_OBSERVE]
) -> (DynArray[int56, MAX_OBSERVE], DynArray[uint160, MAX_OBSERVE]):
    s: Slot0 = self.slot0
    assert s.observationCardinality > 0, "I"
    time: uint32 = self._block_timestamp()
    tick_cumulatives: DynArray[int56, MAX_OBSERVE] = []
    spl_cumulatives: DynArray[uint160, MAX_OBSERVE] = []
    for seconds_ago: uint32 in secondsAgos:
        tc: int56 = 0
        spl: uint160 = 0
        tc, spl = self._observe_single(
            time, seconds_ago, s.tick, s.observationIndex, self.liquidity, s.observationCardinality
        )
        tick_cumulatives.append(tc)
        spl_cumulatives.append(spl)
    return tick_cumulatives, spl_cumulatives


@external
def increaseObservationCardinalityNext(observationCardinalityNext: uint16):
    # Anyone may pay to grow the buffer, as on mainnet.
    old: uint16 = self.slot0.observationCardinalityNext
    new: uint16 = self._grow(old, observationCardinalityNext)
    self.slot0.observationCardinalityNext = new
    if old != new:
        log IncreaseObservationCardinalityNext(
            observationCardinalityNextOld=old, observationCardinalityNextNew=new
        )


# ---- devnet writer ----

@internal
def _record_observation():
    s: Slot0 = self.slot0
    index: uint16 = 0
    cardinality: uint16 = 0
    index, cardinality = self._write(
        s.observationIndex,
        self._block_timestamp(),
        s.tick,
        self.liquidity,
        s.observationCardinality,
        s.observationCardinalityNext,
    )
    self.slot0.observationIndex = index
    self.slot0.observationCardinality = cardinality


@external
def writeTick(tick: int24, sqrtPriceX96: uint160):
    """
    @notice Move the pool to `tick`, as a swap would: first the elapsed time is
            accounted to the old tick in a new observation (once per block),
            then slot0 takes the new tick. Pass sqrtPriceX96 = 0 to store
            TickMath's exact value for the tick; a non-zero value is stored as
            given (to inject an inconsistent slot0).
    """
    assert msg.sender == self.owner, "only owner"
    assert tick >= MIN_TICK and tick <= MAX_TICK, "T"
    self._record_observation()
    sqrt_price: uint160 = sqrtPriceX96
    if sqrt_price == 0:
        sqrt_price = self._sqrt_ratio_at_tick(tick)
    self.slot0.sqrtPriceX96 = sqrt_price
    self.slot0.tick = tick
    log Swap(
        sender=msg.sender, recipient=msg.sender, amount0=0, amount1=0,
        sqrtPriceX96=sqrt_price, liquidity=self.liquidity, tick=tick,
    )


@external
def setLiquidity(_liquidity: uint128):
    # Account elapsed time to the old liquidity first, as a mint/burn would.
    assert msg.sender == self.owner, "only owner"
    self._record_observation()
    self.liquidity = _liquidity


@external
@pure
def getSqrtRatioAtTick(tick: int24) -> uint160:
    """
    @notice TickMath.getSqrtRatioAtTick, exposed so off-chain code can check it.
    """
    return self._sqrt_ratio_at_tick(tick)
