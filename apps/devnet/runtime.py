"""The running devnet: EVM nodes, the project's oracle contracts, the market that moves them,
the RPC proxies and the control API. `manage.py devnet` runs one; tests drive `tick()` with
their own clock."""
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from django.utils import timezone
from web3 import Web3

from apps.feeds.models import Feed

from . import chain as evm
from .control import ControlServer
from .faults import FaultBook
from .market import Market, observe, should_publish
from .rpc_proxy import RpcProxy
from .simulators import HTTP, ONCHAIN, ChainContext, FeedSpec, HttpSimulator
from .stripe import StripeDouble, double_from_settings

logger = logging.getLogger(__name__)

GARBAGE = {
    "zero": lambda price: Decimal(0),
    "negative": lambda price: -price,
    "jump": lambda price: price * 20,  # absurd, yet not a power-of-ten slip (wrong_scale)
    "decimals": lambda price: price * Decimal(10) ** 10,
}


@dataclass(frozen=True)
class ChainConfig:
    slug: str
    chain_id: int
    port: int  # the public JSON-RPC port, behind the fault-injecting proxy
    anvil_port: int  # where anvil itself listens (the devnet's own writes go there)


@dataclass(frozen=True)
class DevnetConfig:
    chains: tuple[ChainConfig, ...]
    control_port: int
    block_time: float
    time_scale: float
    reader: str
    seed: int | None = None
    http_ports: dict[str, int] = field(default_factory=dict)  # protocol -> simulator port
    stripe_port: int | None = None  # the Stripe double's; None: no double


def feed_spec(feed: Feed) -> FeedSpec:
    return FeedSpec(
        key=feed.key, protocol=feed.protocol.slug, chain=feed.chain.slug if feed.chain else None,
        base=feed.pair.base.symbol, quote=feed.pair.quote.symbol, decimals=feed.decimals,
        heartbeat_seconds=float(feed.heartbeat_seconds),
        deviation_bps=feed.deviation_threshold_bps, params=feed.params, feed_id=feed.feed_id,
    )


class Devnet:
    def __init__(self, config: DevnetConfig, feeds: list[FeedSpec], assets: dict[str, str],
                 http_feeds: Sequence[FeedSpec] = ()) -> None:
        self.config = config
        self.feeds = feeds  # on-chain: the market loop publishes them
        self.http_feeds = list(http_feeds)  # off-chain: the simulators serve them on request
        for feed in self.http_feeds:
            HTTP[feed.protocol].prepare(feed)
        self.market = Market(assets, time_scale=config.time_scale, seed=config.seed)
        self.rng = random.Random(config.seed)
        every_feed = [*feeds, *self.http_feeds]
        self.faults = FaultBook({
            "protocol": {f.protocol for f in every_feed},
            "feed": {f.key for f in every_feed},
            "asset": set(assets),
            "chain": {c.slug for c in config.chains},
        })
        self.nodes: dict[str, evm.AnvilNode] = {}
        self.chains: dict[str, ChainContext] = {}
        self.proxies: dict[str, RpcProxy] = {}
        self.simulators: dict[str, HttpSimulator] = {}
        self.control: ControlServer | None = None
        self.stripe: StripeDouble | None = None
        self.last_tick: float | None = None  # monotonic time of the last tick
        self._stop = threading.Event()
        self.lock = threading.Lock()

    @classmethod
    def from_database(cls, config: DevnetConfig) -> "Devnet":
        """Every enabled feed of the loaded (devnet) catalog; on-chain ones get contracts."""
        chain_slugs = {c.slug for c in config.chains}
        all_feeds = list(
            Feed.objects.filter(enabled=True).select_related(
                "protocol", "pair__base", "pair__quote", "chain"
            )
        )
        assets = {}
        for feed in all_feeds:
            for asset in (feed.pair.base, feed.pair.quote):
                assets[asset.symbol] = asset.kind
        onchain: list[FeedSpec] = []
        offchain: list[FeedSpec] = []
        unserved: Counter[str] = Counter()
        for feed in all_feeds:
            if feed.source_kind == Feed.SourceKind.EVM and feed.chain:
                if feed.chain.slug in chain_slugs and feed.protocol.slug in ONCHAIN:
                    onchain.append(feed_spec(feed))
                    continue
            elif feed.protocol.slug in HTTP and feed.protocol.slug in config.http_ports:
                offchain.append(feed_spec(feed))
                continue
            unserved[feed.protocol.slug] += 1
        for protocol, count in unserved.items():
            logger.warning("the devnet has no simulator for %d %s feed(s)", count, protocol)
        return cls(config, onchain, assets, offchain)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self, *, deploy_only: bool = False) -> None:
        for chain_config in self.config.chains:
            node = evm.start_anvil(chain_config.chain_id, chain_config.anvil_port, block_time=None)
            self.nodes[chain_config.slug] = node
            w3 = node.web3()
            evm.install_multicall3(w3)
            self.chains[chain_config.slug] = ChainContext(
                slug=chain_config.slug, w3=w3, owner=w3.eth.accounts[0],
                reader=Web3.to_checksum_address(self.config.reader),
            )
        for feed in self.feeds:
            price = self.market.pair_price(feed.base, feed.quote)
            ONCHAIN[feed.protocol].deploy(self._chain_of(feed), feed, price)
        logger.info("devnet deployed %d feed contracts on %s", len(self.feeds),
                    ", ".join(self.chains))
        self.tick()  # every feed publishes once before anyone reads
        if deploy_only:
            return
        for chain_config in self.config.chains:
            # Deployed with automine (fast); from now on blocks come on a timer, as on a chain.
            evm.rpc(self.chains[chain_config.slug].w3, "evm_setIntervalMining",
                    max(1, round(self.config.block_time)))
            proxy = RpcProxy(chain_config.slug, self.nodes[chain_config.slug].url, self.faults,
                             chain_config.port)
            proxy.start()
            self.proxies[chain_config.slug] = proxy
        for protocol in sorted({f.protocol for f in self.http_feeds}):
            simulator = HTTP[protocol](
                self, [f for f in self.http_feeds if f.protocol == protocol],
                self.config.http_ports[protocol],
            )
            simulator.start()
            self.simulators[protocol] = simulator
        self.control = ControlServer(self.faults, self.status, self.config.control_port)
        self.control.start()
        if self.config.stripe_port is not None:
            self.stripe = double_from_settings(self.config.stripe_port)
            self.stripe.start()

    def publish_addresses(self) -> None:
        """Write the deployed addresses (and derived ids) into the catalog's devnet profile."""
        for feed in self.feeds:
            Feed.objects.filter(key=feed.key).update(address=feed.address, feed_id=feed.feed_id)
        for feed in self.http_feeds:
            Feed.objects.filter(key=feed.key).update(feed_id=feed.feed_id)

    def run(self, interval: float = 1.0) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick()
            self.faults.changed.wait(max(0.0, interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        self.faults.changed.set()
        if self.control:
            self.control.stop()
        if self.stripe:
            self.stripe.stop()
        for simulator in self.simulators.values():
            simulator.stop()
        for proxy in self.proxies.values():
            proxy.stop()
        for node in self.nodes.values():
            node.stop()

    # --- the market loop ----------------------------------------------------------------------
    def tick(self, now: float | None = None) -> int:
        """Advance the market to `now` (monotonic seconds) and publish what the push rules and
        the faults say; returns how many feeds published."""
        now = time.monotonic() if now is None else now
        if self.last_tick is not None:
            with self.lock:  # the HTTP simulators read the market from their own threads
                self.market.advance(max(0.0, now - self.last_tick))
        self.last_tick = now
        self.faults.changed.clear()
        active = self.faults.active()
        self._apply_market_faults()
        chain_time = int(time.time())
        published = 0
        for feed in self.feeds:
            if self.faults.find("pause", feed.protocol) or self.faults.find("freeze", feed.key):
                continue
            simulator = ONCHAIN[feed.protocol]
            if feed.last_published_at is not None and (
                now - feed.last_published_at < simulator.min_interval
            ):
                continue
            with self.lock:
                observed = observe(self.market, feed.protocol, feed.base, feed.quote, self.rng)
            price = self.faulted_price(feed, observed)
            # A fault injected or cleared for this feed shows on-chain at the next tick.
            signature = tuple(
                f.id for f in active if f.target in (feed.key, feed.protocol, feed.base, feed.quote)
            )
            forced = signature != feed.fault_signature
            if not forced and not should_publish(
                observed=price, last_published=feed.last_value,
                last_published_at=feed.last_published_at, now=now,
                deviation_bps=feed.deviation_bps, heartbeat_seconds=feed.heartbeat_seconds,
            ):
                continue
            value = int((price.scaleb(feed.decimals)).to_integral_value(ROUND_HALF_EVEN))
            try:
                simulator.publish(self._chain_of(feed), feed, value, chain_time)
            except Exception:  # one feed's failure must not stop the market
                logger.exception("devnet could not publish %s", feed.key)
                continue
            feed.last_value, feed.last_published_at = price, now
            feed.fault_signature = signature
            feed.published += 1
            published += 1
        return published

    def _chain_of(self, feed: FeedSpec) -> ChainContext:
        """An on-chain feed's chain (every feed in self.feeds is on-chain)."""
        if feed.chain is None:
            raise ValueError(f"{feed.key} is not an on-chain feed")
        return self.chains[feed.chain]

    def _apply_market_faults(self) -> None:
        moved = {f.target: f.params["percent"] for f in self.faults.active() if f.kind == "move"}
        pegged = {f.target: f.params["price"] for f in self.faults.active() if f.kind == "depeg"}
        for symbol in self.market.assets:
            self.market.set_shift(symbol, moved.get(symbol, Decimal(0)))
            self.market.set_peg(symbol, pegged.get(symbol))

    def faulted_price(self, feed: FeedSpec, price: Decimal) -> Decimal:
        """`price` as the feed publishes it under its faults (move, outlier, garbage)."""
        for kind in ("move", "outlier"):
            fault = self.faults.find(kind, feed.key)
            if fault:
                price = price * (1 + fault.params["percent"] / 100)
        garbage = self.faults.find("garbage", feed.key)
        if garbage:
            price = GARBAGE[garbage.params["mode"]](price)
        return price

    # --- status -------------------------------------------------------------------------------
    def status(self) -> dict:
        chains = []
        for config in self.config.chains:
            context = self.chains.get(config.slug)
            chains.append({
                "slug": config.slug, "chain_id": config.chain_id,
                "rpc_url": self.proxies[config.slug].url if config.slug in self.proxies else None,
                "block_number": context.w3.eth.block_number if context else None,
            })
        return {
            "network": "devnet",
            "protocols": sorted({f.protocol for f in [*self.feeds, *self.http_feeds]}),
            "label": "DEVNET — simulated market",
            "time": timezone.now().isoformat(),
            "time_scale": self.config.time_scale,
            "chains": chains,
            "feeds": [
                {"key": f.key, "protocol": f.protocol, "chain": f.chain, "address": f.address,
                 "last_price": str(f.last_value) if f.last_value is not None else None,
                 "published": f.published}
                for f in self.feeds
            ],
            "apis": {protocol: sim.url for protocol, sim in self.simulators.items()},
            "market": {s: str(self.market.price(s)) for s in sorted(self.market.assets)},
            "faults": [f.as_json() for f in self.faults.active()],
        }
