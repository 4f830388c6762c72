import random
import time
from dataclasses import replace
from decimal import Decimal

from eth_utils import keccak

from apps.protocols.verification.redstone import DataPoint, gateway_json, sign_package

from ..chain import deploy
from .base import ChainContext, FeedSpec, OnChainSimulator, bytes32
from .http import HttpSimulator, Reply, float_literal, json_reply


class RedStonePush(OnChainSimulator):
    """RedStone's Chainlink-compatible push feed (8 decimals, block-time timestamps)."""

    protocol = "redstone"

    def deploy(self, chain: ChainContext, feed: FeedSpec, price: Decimal) -> None:
        data_feed_id = feed.params.get("data_feed_id", feed.base)
        feed.contract = deploy(chain.w3, "RedStonePriceFeed", bytes32(data_feed_id),
                               "Redstone Price Feed")
        feed.address = feed.contract.address

    def publish(self, chain: ChainContext, feed: FeedSpec, value: int, timestamp: int) -> None:
        chain.send(feed.contract.functions.setValue(value))


def devnet_signer_keys(count: int = 5) -> list[bytes]:
    """The devnet gateway's signing keys (public knowledge: devnet only). Their addresses are
    the devnet's authorised signer set (settings.DEVNET_REDSTONE_SIGNERS)."""
    return [keccak(text=f"oracle-platform devnet redstone signer {i}") for i in range(count)]


class RedStoneGateway(HttpSimulator):
    """RedStone's gateway: GET /data-packages/latest/{dataServiceId} -> {feed id: [one signed
    package per signer]}, each package carrying one data point, signed over its real
    serialization. Each signer observes the market with its own small noise. Under the
    `bad-signature` fault two of the five signers' signatures are corrupted: the feed still
    verifies with three, and the two bad packages are quarantined."""

    protocol = "redstone"
    CORRUPTED_SIGNERS = 2

    def __init__(self, *args, **kwargs) -> None:
        self.keys = devnet_signer_keys()
        self._responses: dict[tuple[str, int, bool], bytes] = {}
        super().__init__(*args, **kwargs)

    @classmethod
    def prepare(cls, feed: FeedSpec) -> None:
        pass  # RedStone feeds are keyed by their data feed id, already in the catalog

    def route(self, path: str, query: list, headers: dict) -> Reply:
        parts = path.strip("/").split("/")
        if parts[:2] != ["data-packages", "latest"] or len(parts) != 3:
            return json_reply(404, {"error": f"no route {path}"})
        service = parts[2]
        feeds = [f for f in self.feeds.values()
                 if f.params.get("data_service_id", "redstone-primary-prod") == service]
        if not feeds:
            return json_reply(400, {"error": f"unknown data service {service}"})
        corrupt = bool(self.devnet.faults.find("bad-signature", self.protocol))
        second = int(time.time())
        key = (service, second, corrupt)
        if key not in self._responses:  # signing is per second, as the gateway publishes
            self._responses = {key: self._packages(service, feeds, second, corrupt)}
        return Reply(200, self._responses[key])

    def _packages(self, service: str, feeds: list[FeedSpec], second: int, corrupt: bool
                  ) -> bytes:
        response = {}
        for feed in feeds:
            quote = self.quote(feed)
            feed_id = feed.params.get("data_feed_id", feed.base)
            rng = random.Random(f"{feed.key}:{second}")
            packages = []
            for index, key in enumerate(self.keys):
                value = quote.price * (1 + Decimal(str(rng.gauss(0, 0.0001))))
                point = DataPoint(feed_id, Decimal(str(float_literal(value))))
                package = sign_package([point], int(quote.timestamp) * 1000, key,
                                       data_package_id=feed_id, data_service_id=service)
                if corrupt and index < self.CORRUPTED_SIGNERS:
                    broken = bytearray(package.signature)
                    broken[10] ^= 0xFF
                    package = replace(package, signature=bytes(broken))
                packages.append(package)
            response[feed_id] = packages
        return gateway_json(response).encode()
