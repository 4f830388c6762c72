import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from web3 import Web3

from ..chain import deploy
from ..faults import FaultBook
from ..market import Market

GAS = 1_000_000  # explicit, so a write is one eth_sendTransaction (no eth_estimateGas)


def bytes32(text: str) -> bytes:
    """A short ASCII id right-padded with zeros, as oracles key their feeds."""
    raw = text.encode()
    if len(raw) > 32:
        raise ValueError(f"{text!r} does not fit in bytes32")
    return raw.ljust(32, b"\0")


@dataclass
class ChainContext:
    """One devnet chain as the simulators see it."""

    slug: str
    w3: Web3
    owner: str
    reader: str  # the address the platform reads Chronicle with (whitelisted)
    shared: dict[str, Any] = field(default_factory=dict)  # one-per-chain contracts

    def shared_contract(self, artifact: str, *args: Any, key: str | None = None) -> Any:
        """A contract deployed once per chain (Band, Tellor, DIA, tokens)."""
        key = key or artifact
        if key not in self.shared:
            self.shared[key] = deploy(self.w3, artifact, *args)
        return self.shared[key]

    def send(self, call: Any) -> bytes:
        """Send a write without waiting for it to be mined; returns the transaction hash."""
        return call.transact({"from": self.owner, "gas": GAS})


@dataclass
class FeedSpec:
    """A devnet feed: catalog facts plus what the devnet deployed and last published."""

    key: str
    protocol: str
    chain: str | None
    base: str
    quote: str
    decimals: int
    heartbeat_seconds: float
    deviation_bps: Decimal
    params: dict
    address: str = ""
    feed_id: str = ""
    contract: Any = None
    last_value: Decimal | None = None  # the true observed price behind the last publication
    last_published_at: float | None = None  # monotonic seconds
    last_chain_ts: int = 0
    published: int = 0
    fault_signature: tuple[int, ...] = ()  # ids of the faults behind the last publication


class OnChainSimulator:
    """Deploys a protocol's contracts on a devnet chain and publishes to them."""

    protocol: str
    min_interval: float = 1.0  # wall seconds between two publications of one feed

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        """Deploy (or reuse) the feed's contract; set feed.address (and feed.feed_id).
        `price` is the market's price for the feed at deployment."""
        raise NotImplementedError

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        """Write `value` (an integer at the feed's decimals, possibly garbage) on-chain."""
        raise NotImplementedError


def unsigned(value: int, bits: int) -> int:
    """Clamp to an unsigned type: such oracles cannot even express a negative price."""
    return min(max(value, 0), 2**bits - 1)


class Devnet(Protocol):
    """What an off-chain simulator reads of the running devnet (runtime.Devnet is one): the
    market, the faults and the lock around them. Typed here so simulators never import the
    runtime, which imports them."""

    market: Market
    rng: random.Random
    faults: FaultBook
    lock: threading.Lock

    def faulted_price(self, feed: "FeedSpec", price: Decimal) -> Decimal: ...
