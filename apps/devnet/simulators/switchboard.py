"""Switchboard Crossbar: GET /simulate/{feedHash,…} -> [{"feedHash", "results", "receipts"}].
Shape as in Crossbar's client and route table (protocols.md §6; UNVERIFIED against a live
response). Each feed is simulated by several oracle runs, which disagree a little."""
import random
from decimal import Decimal

from .http import HttpSimulator, Reply, json_reply

ORACLE_RUNS = 5


class Crossbar(HttpSimulator):
    protocol = "switchboard"

    def route(self, path: str, query: list, headers: dict) -> Reply:
        parts = path.strip("/").split("/")
        if parts[0] != "simulate" or len(parts) != 2 or not parts[1]:
            return json_reply(404, {"error": f"no route {path}"})
        by_hash = {f.feed_id: f for f in self.feeds.values()}
        answers = []
        for feed_hash in parts[1].split(","):
            feed = by_hash.get(feed_hash.removeprefix("0x").lower())
            if feed is None:
                return json_reply(400, {"error": f"unknown feed hash {feed_hash}"})
            quote = self.quote(feed)
            rng = random.Random(f"{feed.key}:{int(quote.timestamp)}")
            runs = [quote.price * (1 + Decimal(str(rng.gauss(0, 0.0002))))
                    for _ in range(ORACLE_RUNS)]
            answers.append({"feedHash": feed_hash, "results": [str(v.quantize(Decimal("1e-10")))
                                                               for v in runs],
                            "receipts": None})
        return json_reply(200, answers)
