"""Pyth through Hermes v2: GET /v2/updates/price/latest?ids[]=… (all ids in one request) and
the SSE stream /v2/updates/price/stream (apps/protocols/streams.py), both giving `PriceUpdate`
objects: `binary` (the signed PNAU accumulator update) and `parsed` (price, conf, expo,
publish_time; ids without 0x; amounts as strings).

Every update is verified (apps/protocols/verification/pyth.py: Wormhole guardian signatures,
Merkle proofs, parsed = signed). A value that fails is stored with verified=false and its
reason is quarantined; consensus ignores it.
"""
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings

from apps.feeds.models import Feed

from ..verification.pyth import check_price_update, decode_binary
from ..verification.wormhole import GuardianSets, mainnet_guardian_sets
from .base import Payload, Problem, ProblemKind, ReadResult, observation, rejected, unix_time
from .http import HttpAdapter

IDS_PER_REQUEST = 100


@cache
def _guardian_sets(which: str) -> GuardianSets:
    if which == "devnet":
        return GuardianSets.from_addresses(0, settings.DEVNET_WORMHOLE_GUARDIANS)
    return mainnet_guardian_sets()


def guardian_sets() -> GuardianSets:
    return _guardian_sets(settings.OP_PYTH_GUARDIANS)


def feed_id_of(feed: Feed) -> str:
    return feed.feed_id.removeprefix("0x").lower()


class PythHermesAdapter(HttpAdapter):
    protocol = "pyth"
    url_setting = "OP_PYTH_HERMES_URL"

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if settings.OP_PYTH_API_KEY:
            headers["Authorization"] = f"Bearer {settings.OP_PYTH_API_KEY}"
        return headers

    @staticmethod
    def query(feeds: Sequence[Feed]) -> list[tuple[str, str]]:
        return [("ids[]", feed_id_of(f)) for f in feeds] + [
            ("encoding", "hex"), ("parsed", "true"), ("ignore_invalid_price_ids", "true")]

    def discover(self, feeds: Sequence[Feed]) -> None:
        """Find the price feed ids of feeds that have none yet, by symbol, through
        /v2/price_feeds (e.g. a catalog entry whose id could not be cited), and keep them."""
        for feed in feeds:
            symbol = feed.params.get("symbol")
            if len(feed_id_of(feed)) == 64 or not symbol:
                continue
            base = symbol.split(".")[-1].split("/")[0]
            items = self.client().get_json("/v2/price_feeds",
                                           [("query", base), ("asset_type", "crypto")])
            found = next((item["id"] for item in items
                          if item.get("attributes", {}).get("symbol") == symbol), None)
            if found:
                feed.feed_id = str(found).removeprefix("0x").lower()
                Feed.objects.filter(pk=feed.pk).update(feed_id=feed.feed_id)

    def read(self, feeds: Sequence[Feed], *, now: datetime) -> ReadResult:
        result = ReadResult()
        self.discover(feeds)
        known = [f for f in feeds if len(feed_id_of(f)) == 64]
        for feed in set(feeds) - set(known):
            result.problems.append(Problem(feed, ProblemKind.PERMANENT, "misconfigured",
                                           "no 32-byte Pyth price feed id"))
        for start in range(0, len(known), IDS_PER_REQUEST):
            chunk = known[start:start + IDS_PER_REQUEST]
            body = self.client().get_json("/v2/updates/price/latest", self.query(chunk))
            result.extend(self.from_update(body, chunk, now=now))
        return result

    def from_update(self, body: Mapping[str, Any], feeds: Sequence[Feed], *, now: datetime,
                    historical: bool = False) -> ReadResult:
        """Observations of one PriceUpdate (a REST body or one stream event), verified."""
        result = ReadResult()
        by_id = {feed_id_of(f): f for f in feeds}
        parsed = body.get("parsed") or []
        check = check_price_update(body.get("binary"), parsed, guardian_sets=guardian_sets(),
                                   now=now, historical=historical)
        covers = {by_id[i].key: int(item["price"]["publish_time"]) for item in parsed
                  if (i := str(item.get("id", "")).removeprefix("0x").lower()) in by_id}
        try:
            blobs = decode_binary(body.get("binary"))
        except ValueError:
            blobs = []  # the check above has already said why; nothing to keep
        result.payloads += [Payload("pyth-pnau", blob, covers, check.verified) for blob in blobs]
        for item in parsed:
            feed = by_id.get(str(item.get("id", "")).removeprefix("0x").lower())
            if feed is None:
                continue
            try:
                price, expo = int(item["price"]["price"]), int(item["price"]["expo"])
                conf = int(item["price"]["conf"])
                moment = unix_time(int(item["price"]["publish_time"]))
            except (KeyError, TypeError, ValueError) as error:
                result.problems.append(Problem(feed, ProblemKind.PERMANENT, "bad_response",
                                               repr(error)))
                continue
            raw, decimals = (price, -expo) if expo <= 0 else (price * 10**expo, 0)
            result.observations.append(observation(
                feed, raw, moment, fetched_at=now, decimals=decimals,
                confidence=Decimal(conf).scaleb(expo), verified=check.verified,
            ))
            if not check.verified:
                result.problems.append(rejected(feed, check.reason or "unverified", raw,
                                                check.detail or "", moment))
        return result
