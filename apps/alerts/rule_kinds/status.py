"""`status`: each feed in scope whose status is one of `statuses` (default stale and down).
"unknown" (our own ingestion delayed) neither opens an incident nor resolves one: we cannot
tell, so the rule holds its state."""
from __future__ import annotations

from apps.alerts.models import Rule

from .base import ChoicesParam, Context, Reading, RuleKind

STATUSES = ("late", "stale", "down")
DEFAULT_STATUSES = ("stale", "down")  # a status rule without params.statuses


class FeedStatus(RuleKind):
    kind = "status"
    label = "Feed status"
    params = (
        ChoicesParam("statuses", "Statuses",
                     f"Status rules (default: {', '.join(DEFAULT_STATUSES)}).",
                     default=list(DEFAULT_STATUSES), choices=STATUSES),
    )

    def feed_reading(self, rule: Rule, row: dict, state: dict, context: Context) -> Reading:
        key = row["key"]
        statuses = rule.params.get("statuses") or DEFAULT_STATUSES
        breaching = None if row["status"] == "unknown" else row["status"] in statuses
        return Reading(key, breaching, row["status"],
                       f"{key} is {row['status']}" + (f": {row['reason']}" if row["reason"]
                                                      else ""))

    def summary(self, rule: Rule) -> str:
        return ", ".join((rule.params or {}).get("statuses") or DEFAULT_STATUSES)
