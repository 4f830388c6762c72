"""The devnet's market: true prices that move like real markets, and the rules by which each
oracle observes and publishes them.

Time is scaled: one wall-clock second is `time_scale` market seconds (the devnet catalog
profile divides heartbeats by the same factor), so an hour of market happens in a minute and
a feed with a one-hour heartbeat publishes at least every minute.

Prices are Decimals; the random draws are floats, which is fine for a simulation whose
outputs are rounded to each feed's integer scale before they are published.
"""
import math
import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

SECONDS_PER_YEAR = 365 * 24 * 3600
_PRICE_QUANTUM = Decimal("1e-12")


@dataclass(frozen=True)
class AssetProfile:
    symbol: str
    start: Decimal
    annual_volatility: float
    kind: str = "crypto"  # crypto | stablecoin | fiat
    jumps_per_day: float = 1.0
    jump_size: float = 0.03  # standard deviation of a jump's log-return


# Start levels and volatilities of the simulation (rough 2025-26 magnitudes, not quotes).
_CRYPTO = {
    "BTC": ("95000", 0.50), "ETH": ("3400", 0.65), "SOL": ("180", 0.85), "BNB": ("650", 0.55),
    "LINK": ("18", 0.85), "UNI": ("9", 0.90), "AAVE": ("240", 0.90), "MKR": ("1700", 0.85),
    "SNX": ("2.4", 1.00), "COMP": ("55", 0.90), "YFI": ("6500", 0.90), "MATIC": ("0.45", 0.90),
    "POL": ("0.45", 0.90), "AVAX": ("32", 0.90), "NEAR": ("4.5", 0.95), "ATOM": ("6.5", 0.85),
    "DOT": ("6", 0.85), "CRV": ("0.6", 1.00), "LDO": ("1.6", 1.00), "ARB": ("0.7", 0.95),
    "OP": ("1.8", 0.95), "DOGE": ("0.32", 0.95), "LTC": ("95", 0.75), "XRP": ("2.2", 0.85),
    "ADA": ("0.75", 0.85), "TRX": ("0.24", 0.55), "STETH": ("3400", 0.65),
    "WSTETH": ("4000", 0.65), "CBETH": ("3650", 0.65), "RETH": ("3800", 0.65),
    "WBTC": ("95000", 0.50), "WETH": ("3400", 0.65),
}
_STABLE = {"USDC", "USDT", "DAI", "FRAX", "LUSD", "GHO", "TUSD", "PYUSD", "USDS", "USDE", "FDUSD"}
_FIAT = {"USD": ("1", 0.0), "EUR": ("1.08", 0.07), "GBP": ("1.27", 0.08), "JPY": ("0.0067", 0.09),
         "XAU": ("2650", 0.15)}


def default_profile(symbol: str, kind: str = "crypto") -> AssetProfile:
    symbol = symbol.upper()
    if symbol in _FIAT:
        start, vol = _FIAT[symbol]
        return AssetProfile(symbol, Decimal(start), vol, "fiat", jumps_per_day=0.1, jump_size=0.005)
    if symbol in _STABLE or kind == "stablecoin":
        return AssetProfile(symbol, Decimal(1), 0.004, "stablecoin", jumps_per_day=0.0)
    start, vol = _CRYPTO.get(symbol, ("10", 0.95))
    return AssetProfile(symbol, Decimal(start), vol)


@dataclass
class _AssetState:
    profile: AssetProfile
    price: Decimal
    shift: Decimal = Decimal(1)  # a fault's persistent multiplier ("move", "depeg")
    peg: Decimal | None = None  # a depeg fault's target, for stablecoins
    history: deque = field(default_factory=lambda: deque(maxlen=600))  # (market_ts, price)


class Market:
    """True USD prices of every asset, advanced in steps of market time."""

    def __init__(
        self, symbols: dict[str, str], *, time_scale: float, seed: int | None = None,
        start_ts: float = 0.0, correlation: float = 0.7,
    ) -> None:
        """`symbols` maps each asset symbol to its kind (crypto, stablecoin, fiat)."""
        self.rng = random.Random(seed)
        self.time_scale = time_scale
        self.correlation = correlation
        self.market_ts = start_ts
        self.assets = {
            s: _AssetState(default_profile(s, k), default_profile(s, k).start)
            for s, k in symbols.items()
        }
        for state in self.assets.values():
            state.history.append((start_ts, state.price))

    def price(self, symbol: str) -> Decimal:
        state = self.assets[symbol]
        target = state.peg if state.peg is not None else state.price
        return (target * state.shift).quantize(_PRICE_QUANTUM)

    def price_at(self, symbol: str, market_ts: float) -> Decimal:
        """The price as it was at `market_ts` (observers with a lag see the past)."""
        state = self.assets[symbol]
        seen = state.history[0][1]
        for ts, price in state.history:
            if ts > market_ts:
                break
            seen = price
        target = state.peg if state.peg is not None else seen
        return (target * state.shift).quantize(_PRICE_QUANTUM)

    def pair_price(self, base: str, quote: str, market_ts: float | None = None) -> Decimal:
        get = self.price if market_ts is None else (lambda s: self.price_at(s, market_ts))
        base_usd = Decimal(1) if base == "USD" else get(base)
        quote_usd = Decimal(1) if quote == "USD" else get(quote)
        return (base_usd / quote_usd).quantize(_PRICE_QUANTUM)

    def advance(self, wall_seconds: float) -> None:
        """Move every asset forward by `wall_seconds` × time_scale of market time."""
        dt_seconds = wall_seconds * self.time_scale
        dt_years = dt_seconds / SECONDS_PER_YEAR
        self.market_ts += dt_seconds
        common = self.rng.gauss(0.0, 1.0)
        for state in self.assets.values():
            profile = state.profile
            if profile.symbol == "USD":
                continue
            if profile.kind == "stablecoin":
                # Mean-reverting around 1: pulled back within about an hour of market time.
                pull = 1 - math.exp(-dt_seconds / 3600)
                noise = profile.annual_volatility * math.sqrt(dt_years) * self.rng.gauss(0, 1)
                level = float(state.price)
                state.price = Decimal(str(level + (1 - level) * pull + noise))
            else:
                own = self.rng.gauss(0, 1)
                z = self.correlation * common + math.sqrt(1 - self.correlation**2) * own
                sigma = profile.annual_volatility
                log_return = -0.5 * sigma**2 * dt_years + sigma * math.sqrt(dt_years) * z
                if self.rng.random() < profile.jumps_per_day * dt_seconds / 86400:
                    log_return += self.rng.gauss(0.0, profile.jump_size)
                state.price = state.price * Decimal(str(math.exp(log_return)))
            state.price = state.price.quantize(_PRICE_QUANTUM)
            state.history.append((self.market_ts, state.price))

    # --- faults -----------------------------------------------------------------------------
    def set_shift(self, symbol: str, percent: Decimal) -> None:
        self.assets[symbol].shift = 1 + percent / 100

    def set_peg(self, symbol: str, price: Decimal | None) -> None:
        self.assets[symbol].peg = price


@dataclass(frozen=True)
class ObserverProfile:
    """How one protocol sees the market: its noise and how far behind it is."""

    noise_bps: float
    lag_seconds: float  # market seconds


OBSERVERS: dict[str, ObserverProfile] = {
    "chainlink": ObserverProfile(3, 20),
    "pyth": ObserverProfile(2, 1),
    "band": ObserverProfile(6, 60),
    "api3": ObserverProfile(4, 30),
    "redstone": ObserverProfile(3, 10),
    "switchboard": ObserverProfile(5, 5),
    "dia": ObserverProfile(8, 120),
    "chronicle": ObserverProfile(4, 30),
    "tellor": ObserverProfile(12, 300),
    "uniswap-v3": ObserverProfile(10, 0),
}


def observe(
    market: Market, protocol: str, base: str, quote: str, rng: random.Random
) -> Decimal:
    """What `protocol` would report for base/quote now."""
    profile = OBSERVERS.get(protocol, ObserverProfile(5, 30))
    seen = market.pair_price(base, quote, market.market_ts - profile.lag_seconds)
    noise = Decimal(str(rng.gauss(0.0, profile.noise_bps / 10_000)))
    return (seen * (1 + noise)).quantize(_PRICE_QUANTUM)


def should_publish(
    *, observed: Decimal, last_published: Decimal | None, last_published_at: float | None,
    now: float, deviation_bps: Decimal, heartbeat_seconds: float,
) -> bool:
    """A push oracle's rule: publish on a deviation beyond the threshold or when the heartbeat
    expires (times in wall seconds; the heartbeat is the devnet's scaled one)."""
    if last_published is None or last_published_at is None:
        return True
    if now - last_published_at >= heartbeat_seconds:
        return True
    if deviation_bps <= 0:
        return True  # a continuous publisher
    if last_published == 0:
        return observed != 0
    moved_bps = abs(observed - last_published) / abs(last_published) * 10_000
    return moved_bps >= deviation_bps
