"""`quarantine`: each feed in scope with at least `count` reads (default 1) quarantined in the
last `window_seconds` (default 300) — garbage, a bad signature… — optionally only for some
`reasons`."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count

from apps.alerts.models import Rule
from apps.feeds.models import QuarantinedRead

from .base import CodesParam, Context, Reading, RuleKind, WholeParam

DEFAULT_COUNT = 1
DEFAULT_WINDOW_SECONDS = 300


class Quarantine(RuleKind):
    kind = "quarantine"
    label = "Reads quarantined (garbage, bad signature)"
    params = (
        WholeParam("count", "Quarantined reads",
                   f"Quarantine rules: this many reads (default {DEFAULT_COUNT}).",
                   default=DEFAULT_COUNT, low=1, high=10_000),
        WholeParam("window_seconds", "Window (seconds)",
                   f"Quarantine rules: …in this window (default {DEFAULT_WINDOW_SECONDS}).",
                   default=DEFAULT_WINDOW_SECONDS, low=60, high=86400),
        CodesParam("reasons", "Reasons", "Quarantine rules, optional: reason codes separated "
                                         "by spaces, e.g. bad_signature.",
                   example="bad_signature"),
    )

    def feed_reading(self, rule: Rule, row: dict, state: dict, context: Context) -> Reading:
        key = row["key"]
        seconds = int(rule.params.get("window_seconds", DEFAULT_WINDOW_SECONDS))
        reasons = tuple(rule.params.get("reasons") or ())
        count = quarantined(context, row["feed"], seconds, reasons)
        limit = int(rule.params.get("count", DEFAULT_COUNT))
        return Reading(key, count >= limit, str(count),
                       f"{key}: {count} read(s) quarantined in {seconds} s"
                       + (f" ({', '.join(reasons)})" if reasons else ""))


def quarantined(context: Context, feed_id: int, seconds: int, reasons: tuple[str, ...]) -> int:
    """How many of the feed's reads were quarantined in the last `seconds` (for `reasons`)."""
    def load() -> dict[int, int]:
        reads = QuarantinedRead.objects.filter(
            created_at__gte=context.now - timedelta(seconds=seconds))
        if reasons:
            reads = reads.filter(reason__in=reasons)
        return dict(reads.values("feed_id").annotate(n=Count("id")).values_list("feed_id", "n"))
    return context.memo(("quarantine", seconds, reasons), load).get(feed_id, 0)
