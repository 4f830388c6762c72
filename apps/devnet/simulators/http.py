"""The base of the devnet's HTTP simulators: a loopback server speaking a protocol's real
paths and JSON, quoting the devnet's market, and honouring the faults (pause, freeze, move,
outlier, garbage on feeds; http-429, http-500, http-slow on the protocol)."""
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from urllib.parse import parse_qsl, urlsplit

from eth_utils import keccak

from ..loopback import JsonHandler, LoopbackServer
from ..market import observe
from .base import Devnet, FeedSpec


@dataclass(frozen=True)
class Quote:
    price: Decimal
    timestamp: float  # unix seconds


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict | None = None


def json_reply(status: int, payload: object, headers: dict | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers=headers)


def float_literal(price: Decimal) -> float:
    """The price as an API holding float64 prices serves it (DIA, Crossbar, RedStone's JSON
    renderings): the shortest repr of the double, a JSON number. Only the simulator does this;
    adapters parse such numbers with parse_float=Decimal."""
    return float(price)


def scaled_int(price: Decimal, decimals: int) -> int:
    return int(price.scaleb(decimals).to_integral_value(ROUND_HALF_EVEN))


def rfc3339(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


class HttpSimulator(LoopbackServer):
    protocol: str

    def __init__(self, devnet: Devnet, feeds: list[FeedSpec], port: int) -> None:
        self.devnet = devnet
        self.feeds = {feed.key: feed for feed in feeds}
        self.name = f"devnet-{self.protocol}"
        self._quotes: dict[str, tuple[Quote, tuple[int, ...]]] = {}
        self._lock = threading.Lock()
        super().__init__(port)

    @classmethod
    def prepare(cls, feed: FeedSpec) -> None:
        """Give a feed the id the simulated API knows it by, when the catalog has none (the
        devnet's counterpart of deploying a contract)."""
        if not feed.feed_id:
            feed.feed_id = keccak(text=f"devnet:{feed.key}").hex()

    # --- prices --------------------------------------------------------------------------
    def quote(self, feed: FeedSpec, now: float | None = None) -> Quote:
        """The feed's current price, refreshed at most once a second, as the API would serve
        it; a paused protocol or frozen feed keeps serving its last quote (it goes stale)."""
        now = time.time() if now is None else now
        faults = self.devnet.faults
        with self._lock:
            last, signature = self._quotes.get(feed.key, (None, ()))
            stuck = faults.find("pause", feed.protocol) or faults.find("freeze", feed.key)
            # A fault injected or cleared for the feed changes its quote at once.
            current = tuple(f.id for f in faults.active()
                            if f.target in (feed.key, feed.protocol, feed.base, feed.quote))
            if last and (stuck or (int(last.timestamp) == int(now) and signature == current)):
                return last
            with self.devnet.lock:
                observed = observe(self.devnet.market, feed.protocol, feed.base, feed.quote,
                                   self.devnet.rng)
            quote = Quote(self.devnet.faulted_price(feed, observed), now)
            self._quotes[feed.key] = (quote, current)
            return quote

    # --- HTTP ----------------------------------------------------------------------------
    def route(self, path: str, query: list[tuple[str, str]], headers: dict) -> Reply:
        raise NotImplementedError

    def handler_class(self) -> type[JsonHandler]:
        simulator = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                faults = simulator.devnet.faults
                slow = faults.find("http-slow", simulator.protocol)
                if slow:
                    time.sleep(slow.params["ms"] / 1000)
                limited = faults.find("http-429", simulator.protocol)
                if limited:
                    seconds = str(limited.params["seconds"])
                    self.send_json(429, {"error": "Too Many Requests"},
                                   headers={"Retry-After": seconds})
                    return
                failing = faults.find("http-500", simulator.protocol)
                if failing and random.random() < float(failing.params["rate"]):
                    self.send_body(500, b"Internal Server Error", "text/plain")
                    return
                url = urlsplit(self.path)
                reply = simulator.route(url.path, parse_qsl(url.query), dict(self.headers))
                self.send_body(reply.status, reply.body, reply.content_type, reply.headers)

        return Handler
