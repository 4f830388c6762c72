"""A running devnet on a calm market for tests across apps (registered in tests/conftest.py).

`calm_devnet` is one devnet per test module: one chain, one feed per on-chain protocol, prices
that change only through faults. Tests move time with `clock.step(seconds)`, which ticks the
market and mines the pending writes, so nothing waits on wall-clock timers.
"""
from dataclasses import replace
from decimal import Decimal

import pytest
from django.core.cache import cache

from apps.devnet import chain as evm
from apps.devnet.runtime import ChainConfig, Devnet, DevnetConfig
from apps.devnet.simulators import FeedSpec
from apps.feeds.models import Feed, Pair
from apps.protocols.sync import reset_engine_state
from tests.factories import AssetFactory, ChainFactory, PairFactory, ProtocolFactory

READER = "0x4f7261636c65506c6174666f726d526561646572"


def spec(protocol: str, base: str = "ETH", quote: str = "USD", decimals: int = 8,
         heartbeat: float = 60, deviation: str = "50", **params) -> FeedSpec:
    return FeedSpec(
        key=f"{protocol}-ethereum-{base}-{quote}".lower(), protocol=protocol, chain="ethereum",
        base=base, quote=quote, decimals=decimals, heartbeat_seconds=heartbeat,
        deviation_bps=Decimal(deviation), params=params,
    )


FEEDS = [
    spec("chainlink"),
    spec("chainlink", base="BTC"),
    spec("redstone", data_feed_id="ETH"),
    spec("api3", decimals=18, dapi_name="ETH/USD"),
    spec("band", decimals=18, base="ETH"),
    spec("chronicle", decimals=18, wat="ETH/USD"),
    spec("tellor", decimals=18, query_asset="eth", query_currency="usd"),
    spec("dia", base="BTC", key="BTC/USD"),
    spec("uniswap-v3", quote="USDC", decimals=18, deviation="0", window_seconds=30,
         token0={"symbol": "USDC", "decimals": 6}, token1={"symbol": "WETH", "decimals": 18},
         base_is_token0=False, fee=500),
]


def offchain(protocol: str, base: str = "ETH", decimals: int = 8, **params) -> FeedSpec:
    return FeedSpec(
        key=f"{protocol}-offchain-{base}-usd".lower(), protocol=protocol, chain=None,
        base=base, quote="USD", decimals=decimals, heartbeat_seconds=60,
        deviation_bps=Decimal(0), params=params,
    )


HTTP_FEEDS = [
    offchain("dia", base="BTC", blockchain="Bitcoin",
             address="0x0000000000000000000000000000000000000000"),
    offchain("dia", symbol="ETH"),
    offchain("band", decimals=9, symbol="ETH"),
    offchain("band", base="BTC", decimals=9, symbol="BTC"),
    offchain("switchboard", decimals=18),
    offchain("redstone", data_feed_id="ETH", data_service_id="redstone-primary-prod"),
    replace(offchain("pyth", symbol="Crypto.ETH/USD"),
            feed_id="ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace"),
]
HTTP_SETTINGS = {"dia": "OP_DIA_API_URL", "band": "OP_BAND_REST_URL",
                 "switchboard": "OP_SWITCHBOARD_CROSSBAR_URL",
                 "redstone": "OP_REDSTONE_GATEWAY_URL", "pyth": "OP_PYTH_HERMES_URL"}


@pytest.fixture(scope="module")
def calm_devnet():
    from tests.devnet.conftest import require_anvil

    require_anvil()
    for attempt in range(3):  # a free port can be taken by another process before we bind it
        net = _calm_devnet()
        try:
            net.start()
            break
        except (OSError, evm.AnvilStartError):
            net.stop()
            if attempt == 2:
                raise
    yield net
    net.stop()


def _calm_devnet() -> Devnet:
    config = DevnetConfig(
        chains=(ChainConfig("ethereum", 1, evm.free_port(), evm.free_port()),),
        control_port=evm.free_port(), block_time=1, time_scale=60, reader=READER, seed=42,
        http_ports={protocol: evm.free_port() for protocol in HTTP_SETTINGS},
    )
    feeds = [FeedSpec(**{**f.__dict__, "params": dict(f.params)}) for f in FEEDS]
    http_feeds = [FeedSpec(**{**f.__dict__, "params": dict(f.params)}) for f in HTTP_FEEDS]
    assets = {"ETH": "crypto", "BTC": "crypto", "USDC": "stablecoin", "USD": "fiat"}
    net = Devnet(config, feeds, assets, http_feeds)
    # A calm market: prices change only through faults, so every assertion is exact enough.
    for state in net.market.assets.values():
        state.profile = replace(state.profile, annual_volatility=0.0, jumps_per_day=0.0)
    return net


@pytest.fixture
def clock(calm_devnet):
    """A monotonic clock the test moves; each step also mines the pending writes."""
    devnet = calm_devnet

    class Clock:
        now = devnet.last_tick

        def step(self, seconds: float) -> int:
            self.now += seconds
            published = devnet.tick(self.now)
            evm.rpc(devnet.chains["ethereum"].w3, "evm_mine")
            return published

    clock = Clock()
    yield clock
    devnet.faults.clear()
    clock.step(2)  # publish the cleared state before the next test


@pytest.fixture(scope="module")
def twap_ready(calm_devnet):
    """Give the pool more history than its 30 s TWAP window."""
    w3 = calm_devnet.chains["ethereum"].w3
    evm.rpc(w3, "evm_increaseTime", 40)
    evm.rpc(w3, "evm_mine")
    return calm_devnet


@pytest.fixture
def onchain_feeds(db, twap_ready, clock, settings):
    """The devnet's feeds in the catalog, pointing at its contracts and public RPC."""
    settings.OP_RPC_URLS = {"ethereum": twap_ready.proxies["ethereum"].url}
    settings.OP_CHRONICLE_READER = READER
    reset_engine_state()
    cache.clear()
    chain = ChainFactory(slug="ethereum")
    created = {spec.key: catalog_feed(spec, chain, "evm") for spec in twap_ready.feeds}
    clock.step(2)
    yield created
    reset_engine_state()


@pytest.fixture
def offchain_feeds(db, calm_devnet, settings):
    """The devnet's off-chain feeds in the catalog, pointing at its API simulators."""
    for protocol, setting in HTTP_SETTINGS.items():
        setattr(settings, setting, calm_devnet.simulators[protocol].url)
    reset_engine_state()
    cache.clear()
    yield {spec.key: catalog_feed(spec, None, "stream" if spec.protocol == "pyth" else "http")
           for spec in calm_devnet.http_feeds}
    reset_engine_state()


def catalog_feed(spec: FeedSpec, chain, source_kind: str) -> Feed:
    quote = AssetFactory(symbol=spec.quote, kind="fiat" if spec.quote == "USD" else "crypto")
    pair = (Pair.objects.filter(base__symbol=spec.base, quote__symbol=spec.quote).first()
            or PairFactory(base=AssetFactory(symbol=spec.base), quote=quote))
    return Feed.objects.create(
        key=spec.key, protocol=ProtocolFactory(slug=spec.protocol, name=spec.protocol),
        pair=pair, chain=chain, source_kind=source_kind, address=spec.address,
        feed_id=spec.feed_id, decimals=spec.decimals,
        heartbeat_seconds=int(spec.heartbeat_seconds),
        deviation_threshold_bps=spec.deviation_bps, params=spec.params,
    )
