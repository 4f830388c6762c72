"""Switchboard On-Demand through Crossbar: GET /simulate/{feedHash,feedHash,…} ->
[{"feedHash", "results": [one value per oracle run, number or string], "receipts"}].
The simulation runs the feed's jobs when asked, so the fetch time is the source time.

Source format UNVERIFIED: no complete real Crossbar response is on file; this follows the
shape in Crossbar's client and route table (protocols.md §6). The value is the median of
`results`; its sample standard deviation, where there are several, is the confidence.
Feeds are keyed by their 32-byte feed hash (hex, no 0x)."""
import statistics
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

from apps.feeds.models import Feed

from .base import (
    Problem,
    ProblemKind,
    ReadResult,
    TransientError,
    observation,
    rejected,
    scaled,
)
from .http import HttpAdapter


class SwitchboardAdapter(HttpAdapter):
    protocol = "switchboard"
    url_setting = "OP_SWITCHBOARD_CROSSBAR_URL"

    def read(self, feeds: Sequence[Feed], *, now: datetime) -> ReadResult:
        result = ReadResult()
        by_hash: dict[str, Feed] = {}
        for feed in feeds:
            feed_hash = (feed.feed_id or feed.params.get("feed_hash") or "").removeprefix("0x")
            if len(feed_hash) != 64:
                result.problems.append(Problem(feed, ProblemKind.PERMANENT, "misconfigured",
                                               "no 32-byte feed hash"))
                continue
            by_hash[feed_hash.lower()] = feed
        if not by_hash:
            return result
        body = self.client().get_json("/simulate/" + ",".join(by_hash))
        try:
            answers = {str(item["feedHash"]).removeprefix("0x").lower(): item for item in body}
        except (KeyError, TypeError) as error:
            raise TransientError(f"unexpected reply: {error!r}", reason="bad_response") from error
        for feed_hash, feed in by_hash.items():
            item = answers.get(feed_hash)
            try:
                values = [Decimal(str(v)) for v in (item or {}).get("results") or []]
            except InvalidOperation:
                result.problems.append(rejected(feed, "bad_value", item, "results not numbers"))
                continue
            if not values:
                result.problems.append(Problem(feed, ProblemKind.PERMANENT, "no_data",
                                               f"Crossbar returned no results for {feed_hash}"))
                continue
            median = statistics.median(values)
            spread = statistics.stdev(values) if len(values) > 1 else None
            result.observations.append(observation(
                feed, scaled(median, feed.decimals), now, fetched_at=now, confidence=spread))
        return result
