"""Rule evaluation: the pairs' latest states (what refresh_pairs computes) against every
enabled rule, turning conditions into incidents.

Per (rule, subject) a Condition remembers since when it breaches or is clear, so an incident
opens only once the condition has held for `for_seconds`, and resolves only once it has been
clear for `resolve_after_seconds` — price rules also have a hysteresis band, so a value
hovering at the threshold neither flaps nor spams. Incidents, their `alert.opened` /
`alert.resolved` webhook messages and the notices for the rule's channels are written in one
transaction (apps/alerts/notices.py sends them): one notification per rule for all the subjects
that opened together — a whole protocol going stale is one message, not forty.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.common.enqueue import enqueue

from . import notices, services
from .models import Condition, Event, Incident, IncidentEvent, Rule

FEED_KINDS = {Rule.Kind.DEVIATION, Rule.Kind.STATUS, Rule.Kind.QUARANTINE,
              Rule.Kind.HEALTH_BELOW}
PRICE_KINDS = {Rule.Kind.PRICE_ABOVE, Rule.Kind.PRICE_BELOW, Rule.Kind.PRICE_MOVE}
DEFAULT_HYSTERESIS_BPS = Decimal("10")
DEFAULT_BAND_MULTIPLE = 2  # a deviation rule without bps: twice the feed's own deviation band
MIN_DEFAULT_BPS = Decimal("10")
DYNAMIC_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Reading:
    subject: str
    breaching: bool | None  # None: inside a hysteresis band, keep the current state
    value: str
    summary: str


class Context:
    """What some rules need beyond the states, read once per evaluation and only if asked:
    quarantined reads, past prices, the feeds' own deviation bands, deviation statistics."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._cache: dict = {}

    def _memo(self, key: tuple, load):
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def quarantined(self, feed_id: int, seconds: int, reasons: tuple[str, ...]) -> int:
        def load() -> dict[int, int]:
            from django.db.models import Count

            from apps.feeds.models import QuarantinedRead

            reads = QuarantinedRead.objects.filter(
                created_at__gte=self.now - timedelta(seconds=seconds))
            if reasons:
                reads = reads.filter(reason__in=reasons)
            return dict(reads.values("feed_id").annotate(n=Count("id"))
                        .values_list("feed_id", "n"))
        return self._memo(("quarantine", seconds, reasons), load).get(feed_id, 0)

    def band_bps(self, feed_id: int) -> Decimal | None:
        def load() -> dict[int, Decimal]:
            from apps.feeds.models import Feed

            return dict(Feed.objects.values_list("pk", "deviation_threshold_bps"))
        return self._memo(("bands",), load).get(feed_id)

    def price_ago(self, subject: tuple[str, int | str], seconds: int) -> Decimal | None:
        """The close of the 1-minute bar in which `seconds` ago fell (feed id or pair slug)."""
        def load() -> Decimal | None:
            from apps.feeds.models import ConsensusBar, FeedBar

            kind, key = subject
            bars = FeedBar.objects.filter(feed_id=key) if kind == "feed" \
                else ConsensusBar.objects.filter(pair__slug=key)
            return (bars.filter(resolution=60, start__lte=self.now - timedelta(seconds=seconds))
                    .order_by("-start").values_list("close", flat=True).first())
        return self._memo(("ago", subject, seconds), load)

    def health(self, rows: list[dict]) -> dict[int, int | None]:
        """Health scores (apps.feeds.health, over the last hour) of these feeds' rows; None
        while a status is unknown. One computation for all the rows asked together."""
        def load() -> dict[int, int | None]:
            from apps.feeds.health import feed_health
            from apps.feeds.models import Feed

            by_id = {row["feed"]: row for row in rows}
            feeds = list(Feed.objects.filter(pk__in=by_id))
            return {pk: h.score for pk, h in feed_health(feeds, by_id, self.now).items()}
        return self._memo(("health", frozenset(r["feed"] for r in rows)), load)

    def deviation_spread(self, feed_id: int, pair: str) -> Decimal | None:
        """Standard deviation (bps) of the feed's minute closes against the consensus's over
        the last hour, or None with fewer than 10 minutes of both."""
        def load() -> Decimal | None:
            import statistics

            from apps.feeds.models import ConsensusBar, FeedBar

            since = self.now - DYNAMIC_WINDOW
            feed = dict(FeedBar.objects.filter(feed_id=feed_id, resolution=60, start__gte=since)
                        .values_list("start", "close"))
            consensus = dict(ConsensusBar.objects.filter(pair__slug=pair, resolution=60,
                                                         start__gte=since)
                             .values_list("start", "close"))
            series = [(feed[t] - consensus[t]) / consensus[t] * 10_000
                      for t in feed.keys() & consensus.keys() if consensus[t]]
            return statistics.stdev(series) if len(series) >= 10 else None
        return self._memo(("spread", feed_id), load)


def readings(rule: Rule, states: Iterable[dict], context: Context | None = None
             ) -> list[Reading]:
    """The rule's subjects among these pair states, each breaching or not."""
    context = context or Context(timezone.now())
    states = list(states)
    if rule.kind == Rule.Kind.HEALTH_BELOW:
        return _health_readings(rule, states, context)
    found = []
    for state in states:
        if rule.kind in FEED_KINDS or (rule.kind in PRICE_KINDS
                                       and rule.scope == Rule.Scope.FEED):
            found += [_feed_reading(rule, row, state, context) for row in state["feeds"]
                      if row["converted_from"] is None and _feed_in_scope(rule, state, row)]
        elif _pair_in_scope(rule, state):
            found.append(_pair_reading(rule, state, context))
    return [r for r in found if r is not None]


def _health_readings(rule: Rule, states: list[dict], context: Context) -> list[Reading]:
    rows = [row for state in states for row in state["feeds"]
            if row["converted_from"] is None and _feed_in_scope(rule, state, row)]
    scores, limit = context.health(rows), int(rule.params["score"])
    return [Reading(row["key"], None, "", f"{row['key']} has no health score (status unknown)")
            if scores.get(row["feed"]) is None else
            Reading(row["key"], scores[row["feed"]] < limit, str(scores[row["feed"]]),
                    f"{row['key']} health {scores[row['feed']]} (limit {limit})")
            for row in rows]


def _feed_in_scope(rule: Rule, state: dict, row: dict) -> bool:
    return {Rule.Scope.FEED: row["key"] == rule.target,
            Rule.Scope.PAIR: state["pair"] == rule.target,
            Rule.Scope.PROTOCOL: row["protocol"] == rule.target,
            Rule.Scope.ALL: True}[rule.scope]


def _pair_in_scope(rule: Rule, state: dict) -> bool:
    return rule.scope == Rule.Scope.ALL or (rule.scope == Rule.Scope.PAIR
                                            and state["pair"] == rule.target)


def _feed_reading(rule: Rule, row: dict, state: dict, context: Context) -> Reading | None:
    key = row["key"]
    if rule.kind == Rule.Kind.STATUS:
        statuses = rule.params.get("statuses") or Rule.DEFAULT_STATUSES
        # "unknown" (our own ingestion delayed) never opens an incident, nor resolves one: we
        # cannot tell, so the rule holds its state.
        breaching = None if row["status"] == "unknown" else row["status"] in statuses
        return Reading(key, breaching, row["status"],
                       f"{key} is {row['status']}" + (f": {row['reason']}" if row["reason"]
                                                      else ""))
    if rule.kind == Rule.Kind.DEVIATION:
        return _deviation_reading(rule, row, state, context)
    if rule.kind == Rule.Kind.QUARANTINE:
        seconds = int(rule.params.get("window_seconds", 300))
        reasons = tuple(rule.params.get("reasons") or ())
        count, limit = context.quarantined(row["feed"], seconds, reasons), \
            int(rule.params.get("count", 1))
        return Reading(key, count >= limit, str(count),
                       f"{key}: {count} read(s) quarantined in {seconds} s"
                       + (f" ({', '.join(reasons)})" if reasons else ""))
    if rule.kind == Rule.Kind.PRICE_MOVE:
        return _move_reading(rule, key, row["price"], ("feed", row["feed"]), context)
    return _price_reading(rule, key, row["price"])


def _deviation_reading(rule: Rule, row: dict, state: dict, context: Context) -> Reading:
    key = row["key"]
    if row.get("deviation_bps") is None:
        # No consensus to deviate from (too few fresh votes): unknown, not clear.
        return Reading(key, None, "", f"{key} has no deviation (no consensus)")
    deviation = Decimal(row["deviation_bps"])
    if "bps" in rule.params:
        limit, why = Decimal(str(rule.params["bps"])), ""
    else:  # relative to the feed's own deviation band (Chainlink's 0.5 % → 100 bps)
        band = context.band_bps(row["feed"]) or Decimal(0)
        limit = max(MIN_DEFAULT_BPS, band * DEFAULT_BAND_MULTIPLE)
        why = f", {DEFAULT_BAND_MULTIPLE}× its {band} bps band"
    if rule.params.get("dynamic_k") is not None:
        spread = context.deviation_spread(row["feed"], state["pair"])
        if spread is not None:
            dynamic = Decimal(str(rule.params["dynamic_k"])) * Decimal(str(spread))
            if dynamic > limit:
                limit = dynamic.quantize(Decimal("0.01"))
                why = f", {rule.params['dynamic_k']}× its hour's {Decimal(str(spread)):.2f} " \
                      "bps spread"
    return Reading(key, abs(deviation) > limit, row["deviation_bps"],
                   f"{key} is {deviation} bps from consensus (limit {limit}{why})")


def _move_reading(rule: Rule, subject: str, price: str | None, series: tuple,
                  context: Context) -> Reading | None:
    seconds = int(rule.params.get("window_seconds", 3600))
    before = context.price_ago(series, seconds)
    if price is None or not before:
        return None  # no price now or no history that far back: nothing to compare
    change = (Decimal(price) - before) / before * 100
    limit = Decimal(str(rule.params["percent"]))
    return Reading(subject, abs(change) >= limit, f"{change:.2f}",
                   f"{subject} moved {change:+.2f} % in {seconds // 60} min (limit {limit} %)")


def _pair_reading(rule: Rule, state: dict, context: Context) -> Reading | None:
    pair = state["pair"]
    if rule.kind == Rule.Kind.CONSENSUS_UNAVAILABLE:
        missing = state["consensus"] is None
        return Reading(pair, missing, state["reason"] if missing else state["consensus"],
                       f"{pair} has no consensus: {state['reason']}" if missing
                       else f"{pair} consensus {state['consensus']}")
    if rule.kind == Rule.Kind.PRICE_MOVE:
        return _move_reading(rule, pair, state["consensus"], ("pair", pair), context)
    return _price_reading(rule, pair, state["consensus"])


def _price_reading(rule: Rule, subject: str, price: str | None) -> Reading | None:
    if price is None:
        return None  # no price: nothing to compare (other rules cover a missing price)
    value, threshold = Decimal(price), Decimal(str(rule.params["price"]))
    band = threshold * Decimal(str(rule.params.get("hysteresis_bps",
                                                   DEFAULT_HYSTERESIS_BPS))) / 10_000
    above = rule.kind == Rule.Kind.PRICE_ABOVE
    if (value > threshold) if above else (value < threshold):
        breaching = True
    elif (value < threshold - band) if above else (value > threshold + band):
        breaching = False
    else:
        breaching = None
    word = "above" if above else "below"
    return Reading(subject, breaching, price, f"{subject} at {price}, {word} {threshold}"
                   if breaching else f"{subject} at {price} (threshold {threshold})")


# --- applying readings --------------------------------------------------------------------------

def evaluate(states: Iterable[dict], *, now: datetime | None = None,
             rules: Iterable[Rule] | None = None) -> dict[str, list[Incident]]:
    """Evaluate every enabled rule (or `rules`) against these pair states; returns the incidents
    opened and resolved."""
    now = now or timezone.now()
    states = list(states)
    rules = list(rules if rules is not None else
                 Rule.objects.filter(enabled=True).select_related("organization")
                 .prefetch_related("channels"))
    context = Context(now)
    by_rule = {rule: readings(rule, states, context) for rule in rules}
    by_rule = {rule: found for rule, found in by_rule.items() if found}
    if not by_rule:
        return {"opened": [], "resolved": []}
    with transaction.atomic():
        opened, resolved = _apply(by_rule, now)
        notices.queue_transitions(opened, resolved, now)
        if opened or resolved:
            # Deliver now rather than at the next periodic tick (which remains the safety net).
            from .tasks import deliver_now

            changed = sorted(i.pk for i in opened + resolved)
            transaction.on_commit(lambda: enqueue(deliver_now, changed))
    return {"opened": opened, "resolved": resolved}


def _apply(by_rule: dict[Rule, list[Reading]], now: datetime
           ) -> tuple[list[Incident], list[Incident]]:
    """Move each (rule, subject)'s condition on, then open and resolve incidents in bulk: an
    evaluation that opens a hundred incidents is a handful of statements, not hundreds."""
    pairs = [(rule.pk, r.subject) for rule, found in by_rule.items() for r in found]
    rule_ids, subjects = {p[0] for p in pairs}, {p[1] for p in pairs}
    conditions = {(c.rule_id, c.subject): c for c in Condition.objects.select_for_update()
                  .filter(rule_id__in=rule_ids, subject__in=subjects)}
    rules = {rule.pk: rule for rule in by_rule}
    incidents = {(i.rule_id, i.subject): i for i in Incident.objects.select_for_update()
                 .filter(rule_id__in=rule_ids, subject__in=subjects)
                 .exclude(state=Incident.State.RESOLVED)}
    for incident in incidents.values():
        incident.rule = rules[incident.rule_id]  # already loaded, with its organization
    to_open: list[tuple[Rule, Reading]] = []
    to_resolve: list[tuple[Incident, Reading]] = []
    created, changed = [], []
    for rule, found in by_rule.items():
        for reading in found:
            key = (rule.pk, reading.subject)
            condition = conditions.get(key)
            if condition is None:
                condition = Condition(rule=rule, subject=reading.subject)
                created.append(condition)
            before = (condition.breaching_since, condition.clear_since)
            incident = incidents.get(key)
            if reading.breaching is None and incident is None:
                continue  # unknown (or inside a band) with nothing open: the clocks hold
            if reading.breaching or (reading.breaching is None and incident is not None):
                condition.clear_since = None
                if reading.breaching:
                    condition.breaching_since = condition.breaching_since or now
                if incident is None and condition.breaching_since is not None and \
                        now - condition.breaching_since >= timedelta(seconds=rule.for_seconds):
                    to_open.append((rule, reading))
            else:
                condition.breaching_since = None
                if incident is not None:
                    condition.clear_since = condition.clear_since or now
                    if now - condition.clear_since >= timedelta(
                            seconds=rule.resolve_after_seconds):
                        to_resolve.append((incident, reading))
                        condition.clear_since = None
            if condition.pk and (condition.breaching_since, condition.clear_since) != before:
                changed.append(condition)
    Condition.objects.bulk_create(created)
    Condition.objects.bulk_update(changed, ["breaching_since", "clear_since"])
    return _open(to_open, now), _resolve(to_resolve, now)


def _open(to_open: list[tuple[Rule, Reading]], now: datetime) -> list[Incident]:
    opened = Incident.objects.bulk_create([
        Incident(rule=rule, organization_id=rule.organization_id, subject=reading.subject,
                 summary=reading.summary[:300], value=reading.value[:80], opened_at=now)
        for rule, reading in to_open])
    _record(opened, "opened", [reading for _, reading in to_open], now)
    services.publish_many([(i.organization_id, Event.ALERT_OPENED, _payload(i), None)
                           for i in opened], now=now)
    return opened


def _resolve(to_resolve: list[tuple[Incident, Reading]], now: datetime) -> list[Incident]:
    resolved = [incident for incident, _ in to_resolve]
    for incident in resolved:
        incident.state, incident.resolved_at = Incident.State.RESOLVED, now
    Incident.objects.bulk_update(resolved, ["state", "resolved_at"])
    _record(resolved, "resolved", [reading for _, reading in to_resolve], now)
    services.publish_many([(i.organization_id, Event.ALERT_RESOLVED, _payload(i), None)
                           for i in resolved], now=now)
    return resolved


def _record(incidents: list[Incident], kind: str, readings_: list[Reading],
            now: datetime) -> None:
    IncidentEvent.objects.bulk_create([
        IncidentEvent(incident=incident, at=now, kind=kind, detail=reading.summary[:300])
        for incident, reading in zip(incidents, readings_, strict=True)])


def _payload(incident: Incident) -> dict:
    rule = incident.rule
    return {"incident": incident.pk, "state": incident.state, "subject": incident.subject,
            "summary": incident.summary, "value": incident.value, "severity": rule.severity,
            "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind},
            "opened_at": incident.opened_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None}
