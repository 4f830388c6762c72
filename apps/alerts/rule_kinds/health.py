"""`health_below`: each feed in scope whose health score (0–100 over the last hour:
apps.feeds.health) is below `score`; a feed whose status is unknown has no score and holds its
state."""
from __future__ import annotations

from collections.abc import Iterable

from apps.alerts.models import Rule
from apps.feeds.health import feed_health
from apps.feeds.models import Feed

from .base import Context, Reading, RuleKind, WholeParam, feed_rows


class HealthBelow(RuleKind):
    kind = "health_below"
    label = "Health score below"
    params = (
        WholeParam("score", "Health score below", "Health rules: 0–100.",
                   required="A health rule needs a score.", low=1, high=100),
    )

    def readings(self, rule: Rule, states: Iterable[dict], context: Context) -> list[Reading]:
        rows = [row for state in states for row in feed_rows(rule, state)]
        scores, limit = health(context, rows), int(rule.params["score"])
        return [_reading(row["key"], scores.get(row["feed"]), limit) for row in rows]


def _reading(key: str, score: int | None, limit: int) -> Reading:
    if score is None:
        return Reading(key, None, "", f"{key} has no health score (status unknown)")
    return Reading(key, score < limit, str(score), f"{key} health {score} (limit {limit})")


def health(context: Context, rows: list[dict]) -> dict[int, int | None]:
    """Health scores of these feeds' rows; None while a status is unknown. One computation
    for all the rows asked together."""
    def load() -> dict[int, int | None]:
        by_id = {row["feed"]: row for row in rows}
        feeds = list(Feed.objects.filter(pk__in=by_id))
        return {pk: h.score for pk, h in feed_health(feeds, by_id, context.now).items()}
    return context.memo(("health", frozenset(r["feed"] for r in rows)), load)
