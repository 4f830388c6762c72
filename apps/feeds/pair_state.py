"""Pair state: each pair's feed statuses and consensus, computed by `refresh_pairs` on every
stored batch (and as statuses age), cached for the dashboard and the API, and read back here.

What our own ingestion knows (a source we have not read for a while, a feed whose reads keep
failing) lives in the protocols app, which is above this one: it plugs itself in with
`set_source_health` when the app registry is ready (apps/protocols/apps.py), so this module
never imports it. Without it (feeds alone, in tests) nothing counts as delayed or failing.
"""
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone
from django.utils.http import http_date

from .consensus import Vote, compute
from .live import publish_states
from .models import Asset, Feed, Pair
from .rollups import record_consensus_points
from .selectors import latest_observations
from .signals import pairs_refreshed
from .status import FeedStatus, feed_status

logger = logging.getLogger(__name__)

# (protocol id, chain id or None) -> why that source is delayed; feed id -> (since, failure).
Delays = dict[tuple[int, int | None], str]
Failing = dict[int, tuple[datetime, str]]
SourceHealth = Callable[[datetime], tuple[Delays, Failing]]


def _no_source_health(now: datetime) -> tuple[Delays, Failing]:
    return {}, {}


_source_health: SourceHealth = _no_source_health


def set_source_health(provider: SourceHealth) -> None:
    """Install what tells `refresh_pairs` which sources our ingestion is behind on."""
    global _source_health
    _source_health = provider


STATE_TTL = 3600  # seconds the cached state of a pair lives (it is rewritten on every change)


def state_key(pair_id: int) -> str:
    return f"feeds:pair-state:{pair_id}"


def latest_body_key(slug: str) -> str:
    """The cache key of a pair's `GET /api/v1/pairs/<slug>/latest` answer, pre-serialized:
    (ETag, Last-Modified, JSON bytes), written with the state so the API serves it as is."""
    return f"feeds:latest-body:{slug}"


def latest_body(public: dict) -> tuple[str, str, bytes]:
    content = json.dumps(public, separators=(",", ":")).encode()
    etag = f'"{hashlib.blake2b(content, digest_size=12).hexdigest()}"'
    modified = http_date(datetime.fromisoformat(public["computed_at"]).timestamp())
    return etag, modified, content


def refresh_pairs(pair_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, dict]:
    """Recompute the status of every feed of these pairs and their consensus, and cache it
    (the latest-state cache the dashboard and the API read without touching the database).
    A pair quoted in USD also takes votes from feeds quoted in a stablecoin (X-USDC), converted
    through that stablecoin's own USD consensus."""
    now = now or timezone.now()
    pairs = {p.pk: p for p in Pair.objects.filter(pk__in=set(pair_ids))
             .select_related("base", "quote")}
    if not pairs:
        return {}
    # Stablecoin-quoted cousins (ETH-USDC for ETH-USD) and the stablecoins' own USD pairs.
    cousins = Pair.objects.filter(base__symbol__in={p.base.symbol for p in pairs.values()},
                                  quote__kind=Asset.Kind.STABLECOIN).values("pk")
    bridges = {p.base.symbol: p for p in Pair.objects.filter(
        base__kind=Asset.Kind.STABLECOIN, quote__symbol="USD").select_related("base")}
    feeds = list(Feed.objects.filter(Q(pair__in=list(pairs)) | Q(pair__in=cousins), enabled=True)
                 .select_related("protocol", "pair__quote"))
    latest = latest_observations([f.pk for f in feeds])
    feeds_by_base = defaultdict(list)  # a pair's own feeds and its cousins' share its base
    for feed in feeds:
        feeds_by_base[feed.pair.base_id].append(feed)
    delays, failing = _source_health(now)
    states: dict[int, dict] = {}
    cached_rates: dict[int, str | None] = {}

    def usd_rate(stablecoin: str) -> str | None:
        # This call's own result if the bridge pair was just refreshed, else the cache (once).
        bridge = bridges[stablecoin].pk
        if bridge in states:
            return states[bridge]["consensus"]
        if bridge not in cached_rates:
            cached_rates[bridge] = (cache.get(state_key(bridge)) or {}).get("consensus")
        return cached_rates[bridge]

    history: list[tuple[int, Decimal, datetime]] = []  # consensus points, rolled up into bars
    for pair_id, pair in pairs.items():
        votes: list[Vote] = []
        rows: list[dict[str, Any]] = []
        prices: dict[int, Decimal] = {}
        for feed in feeds_by_base[pair.base_id]:
            same = feed.pair_id == pair_id
            converted = (not same and pair.quote.symbol == "USD"
                         and feed.pair.quote.symbol in bridges)
            if not (same or converted):
                continue
            obs = latest.get(feed.pk)
            since, failure = failing.get(feed.pk, (None, ""))
            verdict = feed_status(
                source_ts=obs.source_ts if obs else None,
                heartbeat_seconds=feed.heartbeat_seconds, now=now,
                failing_since=since, failure=failure,
                ingestion_delayed=(feed.protocol_id, feed.chain_id) in delays,
            )
            price = obs.price if obs else None
            if price is not None and converted:
                rate = usd_rate(feed.pair.quote.symbol)
                price = price * Decimal(rate) if rate else None
            if price is not None:
                prices[feed.pk] = price
            if (price is not None and obs is not None and verdict.status == FeedStatus.FRESH
                    and obs.verified is not False):
                votes.append(Vote(feed.pk, feed.protocol.slug, price,
                                  obs.source_ts.timestamp(),
                                  feed.pair.quote.symbol if converted else None))
            rows.append({
                "feed": feed.pk, "key": feed.key, "protocol": feed.protocol.slug,
                "heartbeat": feed.heartbeat_seconds,
                "status": verdict.status, "reason": verdict.reason, "age": verdict.age_seconds,
                "price": str(price) if price is not None else None,
                "source_ts": obs.source_ts.isoformat() if obs else None,
                "verified": obs.verified if obs else None,
                "converted_from": feed.pair.quote.symbol if converted else None,
            })
        result = compute(votes, outlier_bps=settings.OP_CONSENSUS_OUTLIER_BPS, all_prices=prices)
        outliers = {v.feed_id for v in result.outliers}
        for row in rows:
            deviation = result.deviations.get(row["feed"])
            row["deviation_bps"] = str(deviation.quantize(Decimal("0.01"))) \
                if deviation is not None else None
            row["outlier"] = row["feed"] in outliers
        states[pair_id] = {
            "pair": pair.slug, "computed_at": now.isoformat(),
            "consensus": str(result.price) if result.available else None,
            "reason": result.reason, "votes": len(result.votes), "feeds": rows,
        }
        if result.price is not None:  # result.available
            history.append((pair_id, result.price, now))
    public = {pair_id: public_state(summarise(state)) for pair_id, state in states.items()}
    cached: dict[str, Any] = {}
    for pair_id, state in states.items():
        cached[state_key(pair_id)] = state
        cached[latest_body_key(state["pair"])] = latest_body(public[pair_id])
    cache.set_many(cached, STATE_TTL)
    if history:
        record_consensus_points(history)
    publish_states(states, public)
    for receiver, returned in pairs_refreshed.send_robust(sender=Pair, states=states):
        if isinstance(returned, Exception):
            logger.error("pairs_refreshed receiver %s failed", receiver, exc_info=returned)
    return states


def refresh_aged_states(*, max_age: float | None = None, now: datetime | None = None) -> int:
    """Recompute the pairs whose cached state is older than `max_age` seconds (or missing):
    statuses age with time even when no price arrives — a frozen source must turn late, then
    stale, and alerts must see it. Returns how many pairs were refreshed."""
    now = now or timezone.now()
    max_age = settings.OP_STATE_MAX_AGE_SECONDS if max_age is None else max_age
    live = set(Pair.objects.filter(feeds__enabled=True).values_list("pk", flat=True))
    pair_ids = list(Pair.objects.values_list("pk", flat=True))
    found = cache.get_many([state_key(pk) for pk in pair_ids])
    # A pair whose last feed was disabled still has a cached state (and API body) to renew.
    aged = [pk for pk in pair_ids if ((state := found.get(state_key(pk))) is None and pk in live)
            or (state is not None and (now - datetime.fromisoformat(state["computed_at"]))
                .total_seconds() > max_age)]
    if aged:
        refresh_pairs(aged, now=now)
    return len(aged)


SEVERITY = [FeedStatus.DOWN, FeedStatus.STALE, FeedStatus.LATE, FeedStatus.UNKNOWN,
            FeedStatus.FRESH]


def pair_states(pairs: list[Pair]) -> dict[int, dict]:
    found = cache.get_many([state_key(p.pk) for p in pairs])
    states = {p.pk: found[state_key(p.pk)] for p in pairs if state_key(p.pk) in found}
    missing = [p.pk for p in pairs if p.pk not in states]
    if missing:
        states.update(refresh_pairs(missing))
    return {pk: summarise(state) for pk, state in states.items()}


def summarise(state: dict) -> dict:
    """Adds what the overview shows: spread across fresh prices, healthy count, worst status."""
    feeds = state["feeds"]
    fresh = [Decimal(f["price"]) for f in feeds if f["status"] == "fresh" and f["price"]]
    consensus = Decimal(state["consensus"]) if state["consensus"] else None
    # A string, like every price here: the state goes out as JSON (WebSocket snapshots).
    spread = str(((max(fresh) - min(fresh)) / consensus * 10_000).quantize(Decimal("0.1"))) \
        if consensus and len(fresh) > 1 else None
    statuses = {f["status"] for f in feeds}
    worst = next((s for s in SEVERITY if s in statuses), FeedStatus.UNKNOWN)
    return {**state, "spread_bps": spread, "healthy": len(fresh), "total": len(feeds),
            "worst": str(worst)}


def feed_row(row: dict, shares: dict[int, Decimal] | None = None) -> dict:
    """A feed's row as the public API and the WebSocket API show it (feed key, not id)."""
    return {
        "feed": row["key"], "protocol": row["protocol"], "price": row["price"],
        "source_ts": row["source_ts"], "status": row["status"], "reason": row["reason"],
        "age_seconds": row["age"], "heartbeat_seconds": row["heartbeat"],
        "deviation_bps": row.get("deviation_bps"), "outlier": row.get("outlier", False),
        "verified": row["verified"],
        "verified_share": str(shares[row["feed"]]) if shares and row["feed"] in shares else None,
        "converted_from": row["converted_from"],
    }


def public_state(state: dict, shares: dict[int, Decimal] | None = None) -> dict:
    """A summarised pair state as the public API and the WebSocket API show it."""
    return {
        "pair": state["pair"], "computed_at": state["computed_at"], "status": state["worst"],
        "consensus": {"price": state["consensus"], "reason": state["reason"],
                      "votes": state["votes"], "spread_bps": state["spread_bps"]},
        "feeds": [feed_row(row, shares) for row in state["feeds"]],
    }
