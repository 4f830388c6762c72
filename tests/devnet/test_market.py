import math
import random
from decimal import Decimal

from apps.devnet.market import Market, observe, should_publish

SYMBOLS = {"BTC": "crypto", "ETH": "crypto", "USDC": "stablecoin", "USD": "fiat"}


def test_same_seed_gives_the_same_market():
    a, b = (Market(SYMBOLS, time_scale=60, seed=7) for _ in range(2))
    for _ in range(100):
        a.advance(1)
        b.advance(1)
    assert a.price("ETH") == b.price("ETH")


def test_realized_volatility_is_close_to_the_profile():
    market = Market({"BTC": "crypto"}, time_scale=60, seed=1)
    market.assets["BTC"].profile = market.assets["BTC"].profile.__class__(
        "BTC", Decimal(95000), 0.5, jumps_per_day=0
    )
    returns, last = [], market.price("BTC")
    for _ in range(20_000):  # about two weeks of market time at one-minute steps
        market.advance(1)
        now = market.price("BTC")
        returns.append(math.log(now / last))
        last = now
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    annualized = math.sqrt(variance * 365 * 24 * 60)
    assert 0.45 < annualized < 0.55


def test_stablecoin_stays_near_one_for_a_month():
    market = Market(SYMBOLS, time_scale=3600, seed=3)
    for _ in range(24 * 30):  # 30 days, hourly steps
        market.advance(1)
        assert abs(market.price("USDC") - 1) < Decimal("0.01")


def test_depeg_and_move_faults_shift_prices_until_cleared():
    market = Market(SYMBOLS, time_scale=60, seed=3)
    market.set_peg("USDC", Decimal("0.95"))
    assert market.price("USDC") == Decimal("0.95")
    before = market.price("ETH")
    market.set_shift("ETH", Decimal("-10"))
    assert market.price("ETH") == (before * Decimal("0.9")).quantize(Decimal("1e-12"))
    market.set_shift("ETH", Decimal(0))
    market.set_peg("USDC", None)
    assert market.price("ETH") == before
    assert abs(market.price("USDC") - 1) < Decimal("0.01")


def test_an_observer_with_lag_sees_the_past():
    market = Market(SYMBOLS, time_scale=60, seed=5)
    start = market.price("ETH")
    for _ in range(30):
        market.advance(1)  # 30 market minutes
    assert market.price_at("ETH", 0) == start
    rng = random.Random(1)
    seen = observe(market, "tellor", "ETH", "USD", rng)  # Tellor lags five market minutes
    five_minutes_ago = market.pair_price("ETH", "USD", market.market_ts - 300)
    assert abs(seen - five_minutes_ago) / five_minutes_ago < Decimal("0.01")


def test_pair_quoted_in_another_asset_divides_the_usd_prices():
    market = Market(SYMBOLS, time_scale=60, seed=5)
    market.set_peg("USDC", Decimal("0.5"))
    assert market.pair_price("ETH", "USDC") == (market.price("ETH") * 2).quantize(Decimal("1e-12"))


def test_push_rule_publishes_on_deviation_or_heartbeat_only():
    rule = dict(last_published=Decimal(100), last_published_at=0.0,
                deviation_bps=Decimal(50), heartbeat_seconds=60)
    assert not should_publish(observed=Decimal("100.49"), now=30, **rule)
    assert should_publish(observed=Decimal("100.50"), now=30, **rule)  # 50 bps: on threshold
    assert should_publish(observed=Decimal("99.50"), now=30, **rule)
    assert should_publish(observed=Decimal(100), now=60, **rule)  # heartbeat expired
    first = dict(rule, last_published=None, last_published_at=None)
    assert should_publish(observed=Decimal(100), now=0, **first)
