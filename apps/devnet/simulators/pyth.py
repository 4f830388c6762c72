"""Pyth Hermes (v2) on loopback, serving real signed PNAU updates.

    GET /v2/price_feeds?query=&asset_type=          feed discovery
    GET /v2/updates/price/latest?ids[]=…            the latest update for the ids
    GET /v2/updates/price/{publish_time}?ids[]=…    the update at a past second (gap backfill)
    GET /v2/updates/price/stream?ids[]=…            SSE: one `data: {PriceUpdate}` a second
Each update is a PNAU accumulator update whose VAA the devnet's own Wormhole guardian set signs
(apps/devnet/pyth_updates.py), with Merkle proofs per price message, exactly as Hermes serves
mainnet's. Requests need `Authorization: Bearer <OP_PYTH_API_KEY>` when a key is configured.
Faults: bad-signature (a guardian signature is corrupted), drop-stream (streams are cut and
refused while it lasts), plus the common feed and HTTP faults.
"""
import json
import threading
import time
from collections import OrderedDict
from decimal import ROUND_HALF_EVEN
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from eth_utils import keccak

from apps.protocols.verification.pyth import PriceFeedMessage

from ..loopback import JsonHandler
from ..pyth_updates import DevnetGuardians, Fault, PythUpdateSigner, devnet_guardian_keys
from .base import FeedSpec
from .http import HttpSimulator, Reply, json_reply

EXPO = -8
HISTORY_SECONDS = 900  # how far back /v2/updates/price/{publish_time} can reach
SLOTS_PER_SECOND = 2.5  # Pythnet's ~400 ms slots


class Hermes(HttpSimulator):
    protocol = "pyth"

    def __init__(self, *args, **kwargs) -> None:
        self.api_key = settings.OP_PYTH_API_KEY  # the devnet asks for the key the platform has
        self.signer = PythUpdateSigner(DevnetGuardians(devnet_guardian_keys()))
        self._history: dict[str, OrderedDict[int, PriceFeedMessage]] = {}
        self._history_lock = threading.Lock()
        self._stopping = threading.Event()
        super().__init__(*args, **kwargs)

    @classmethod
    def prepare(cls, feed: FeedSpec) -> None:
        if not feed.feed_id:  # a catalog feed without a cited mainnet id: make one up
            feed.feed_id = keccak(text=f"devnet:pyth:{feed.key}").hex()
        feed.feed_id = feed.feed_id.removeprefix("0x").lower()

    def start(self) -> None:
        super().start()
        threading.Thread(target=self._record, daemon=True, name="devnet-hermes-record").start()

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def _record(self) -> None:
        """Make every feed's message every second, asked for or not, so a client that missed
        some (a dropped stream) can fetch exactly what was published."""
        while not self._stopping.wait(max(0.0, 1 - time.time() % 1)):
            second = int(time.time())
            for feed in list(self.feeds.values()):
                self.message(feed, second)

    # --- prices -----------------------------------------------------------------------------
    def message(self, feed: FeedSpec, second: int) -> PriceFeedMessage | None:
        """The feed's signed price message for `second` (made when first asked for)."""
        with self._history_lock:
            history = self._history.setdefault(feed.key, OrderedDict())
            if second in history:
                return history[second]
            if history and second < next(iter(history)):
                return None  # older than we keep
            quote = self.quote(feed, now=second)
            price = int(quote.price.scaleb(-EXPO).to_integral_value(ROUND_HALF_EVEN))
            publish_time = int(quote.timestamp)
            previous = next(reversed(history.values()), None)
            if previous and previous.publish_time == publish_time:  # a frozen feed
                history[second] = previous
                return previous
            conf = abs(price) // 5000  # 2 bps of confidence
            message = PriceFeedMessage(
                bytes.fromhex(feed.feed_id), price, conf, EXPO, publish_time,
                previous.publish_time if previous else publish_time - 1,
                (price + previous.ema_price * 9) // 10 if previous else price, conf,
            )
            history[second] = message
            while len(history) > HISTORY_SECONDS:
                history.popitem(last=False)
            return message

    def update(self, feeds: list[FeedSpec], second: int) -> dict | None:
        messages = [m for f in feeds if (m := self.message(f, second)) is not None]
        if not messages:
            return None
        fault: Fault | None = (
            "bad_signature" if self.devnet.faults.find("bad-signature", "pyth") else None)
        slot = int(second * SLOTS_PER_SECOND)
        signed = self.signer.build(messages, slot=slot, timestamp=second, fault=fault)
        return signed.hermes_json()

    # --- HTTP -------------------------------------------------------------------------------
    def _feeds_for(self, query: list[tuple[str, str]]) -> tuple[list[FeedSpec], list[str]]:
        by_id = {f.feed_id: f for f in self.feeds.values()}
        asked = [v.removeprefix("0x").lower() for k, v in query if k in ("ids[]", "ids")]
        return [by_id[i] for i in asked if i in by_id], [i for i in asked if i not in by_id]

    def route(self, path: str, query: list, headers: dict) -> Reply:
        if self.api_key and headers.get("Authorization") != f"Bearer {self.api_key}":
            return Reply(401, b"Unauthorized: an API key (Bearer) is required", "text/plain")
        if path == "/v2/price_feeds":
            return json_reply(200, self._price_feeds(dict(query)))
        if not path.startswith("/v2/updates/price/"):
            return Reply(404, b"Not Found", "text/plain")
        feeds, unknown = self._feeds_for(query)
        if unknown and dict(query).get("ignore_invalid_price_ids") != "true":
            return Reply(404, f"Price ids not found: {', '.join(unknown)}".encode(), "text/plain")
        if not feeds:
            return Reply(400, b"No price ids given", "text/plain")
        which = path.removeprefix("/v2/updates/price/")
        second = int(time.time()) if which == "latest" else _int(which)
        if second is None or second > time.time() + 1:
            return Reply(400, b"publish_time must be a unix time in the past", "text/plain")
        body = self.update(feeds, second)
        if body is None:
            return Reply(404, b"Update data not found", "text/plain")
        return json_reply(200, body)

    def _price_feeds(self, query: dict) -> list[dict]:
        needle = query.get("query", "").lower()
        items = []
        for feed in self.feeds.values():
            symbol = feed.params.get("symbol", f"Crypto.{feed.base}/{feed.quote}")
            if needle and needle not in symbol.lower():
                continue
            items.append({"id": feed.feed_id, "attributes": {
                "asset_type": "Crypto", "base": feed.base, "quote_currency": feed.quote,
                "description": f"{feed.base} / {feed.quote}", "symbol": symbol,
                "display_symbol": f"{feed.base}/{feed.quote}",
                "generic_symbol": f"{feed.base}{feed.quote}",
            }})
        return items

    def handler_class(self) -> type[JsonHandler]:
        # HttpSimulator's handler, a class made per instance: mypy cannot check a base class
        # that is not known statically, so it is Any here.
        base: Any = super().handler_class()
        simulator = self

        class Handler(base):
            def do_GET(self) -> None:
                if self.path.startswith("/v2/updates/price/stream"):
                    self._stream()
                else:
                    super().do_GET()

            def _stream(self) -> None:
                query = parse_qsl(urlsplit(self.path).query)
                if simulator.api_key and (self.headers.get("Authorization")
                                          != f"Bearer {simulator.api_key}"):
                    self.send_body(401, b"Unauthorized", "text/plain")
                    return
                feeds, _ = simulator._feeds_for(query)
                if not feeds or simulator.devnet.faults.find("drop-stream", "pyth"):
                    self.send_body(503 if feeds else 400, b"stream unavailable", "text/plain")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                second = int(time.time())
                try:
                    while not simulator._stopping.is_set():
                        if simulator.devnet.faults.find("drop-stream", "pyth"):
                            return  # cut, as Hermes does after 24 h or on a redeploy
                        body = simulator.update(feeds, second)
                        if body is not None:
                            self.wfile.write(b"data: " + json.dumps(body).encode() + b"\n\n")
                        else:
                            self.wfile.write(b": No update available\n\n")
                        self.wfile.flush()
                        second += 1
                        time.sleep(max(0.0, second - time.time()))
                except OSError:
                    return  # the client went away

        return Handler


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None

