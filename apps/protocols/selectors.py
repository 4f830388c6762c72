from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, Max, Q, QuerySet, Sum

from apps.feeds.models import Feed, PriceObservation

from .breaker import Breaker, State
from .models import FeedReadState, Protocol, SyncRun
from .rpc import rpc_setting, rpc_url


def protocols_with_feed_counts() -> QuerySet[Protocol]:
    return Protocol.objects.annotate(
        feed_count=Count("feeds", filter=Q(feeds__enabled=True))
    ).order_by("name")


def feed_configuration(feed: Feed) -> str:
    """"ok", or what is missing before the platform can read the feed, naming the setting."""
    if feed.source_kind == Feed.SourceKind.EVM:
        if feed.chain is None or not rpc_url(feed.chain):
            setting = rpc_setting(feed.chain) if feed.chain else "a chain"
            return f"not configured: set {setting}"
        if not feed.address:
            return "not configured: no contract address in the catalog"
    elif not feed.feed_id and not feed.params:
        return "not configured: no feed id in the catalog"
    return "ok"


def last_sync_key(protocol_id: int, chain_id: int | None) -> str:
    return f"sync:last:{protocol_id}:{chain_id or 0}"


def ingestion_delays(now: datetime) -> dict[tuple[int, int | None], str]:
    """(protocol id, chain id or None) -> why our own reading of that source is delayed:
    no sync run for OP_INGESTION_DELAY_SECONDS (the sync engine notes each run's time in the
    cache), or its circuit breaker is open. Sources that are fine are absent."""
    limit = timedelta(seconds=settings.OP_INGESTION_DELAY_SECONDS)
    sources = set(Feed.objects.filter(enabled=True).values_list(
        "protocol_id", "protocol__slug", "chain_id", "chain__slug"))
    last_runs = cache.get_many([last_sync_key(p, c) for p, _, c, _ in sources])
    delays: dict[tuple[int, int | None], str] = {}
    for protocol_id, protocol, chain_id, chain in sources:
        last = last_runs.get(last_sync_key(protocol_id, chain_id))
        if last is None or now - last > limit:
            delays[(protocol_id, chain_id)] = "no recent sync"
        elif Breaker(protocol, chain).state() == State.OPEN:
            delays[(protocol_id, chain_id)] = "circuit breaker open"
    return delays


def failing_feeds() -> dict[int, tuple[datetime, str]]:
    """Feed id -> (failing since, reason) for feeds whose last reads failed."""
    return {
        feed_id: (since, reason)
        for feed_id, since, reason in FeedReadState.objects.filter(ok=False)
        .values_list("feed_id", "since", "reason")
    }


def source_health(now: datetime) -> tuple[dict[tuple[int, int | None], str],
                                          dict[int, tuple[datetime, str]]]:
    """What pair state needs from ingestion: the delayed sources and the failing feeds."""
    return ingestion_delays(now), failing_feeds()


def ingestion_health(now: datetime, window: timedelta = timedelta(hours=1)) -> list[dict]:
    """Per source (protocol on a chain, or an off-chain protocol): runs, latency, errors and
    breaker state over `window`, and whether our reading of it is delayed."""
    delays = ingestion_delays(now)
    rows = (SyncRun.objects.filter(started_at__gte=now - window)
            .values("protocol_id", "protocol__name", "protocol__slug", "chain_id", "chain__slug",
                    "chain__name")
            .annotate(runs=Count("id"), avg_ms=Avg("duration_ms"), max_ms=Max("duration_ms"),
                      failed=Sum("failed"), rejected=Sum("rejected"), read=Sum("feeds_read"),
                      last=Max("started_at"))
            .order_by("protocol__name", "chain__name"))
    health = []
    for row in rows:
        key = (row["protocol_id"], row["chain_id"])
        health.append({
            **row,
            "where": row["chain__name"] or "off-chain API",
            "breaker": Breaker(row["protocol__slug"], row["chain__slug"]).state().value,
            "delayed": delays.get(key, ""),
            "error_rate": (row["failed"] / row["read"]) if row["read"] else 0,
        })
    return health


def source_latencies(protocol: Protocol, now: datetime, window: timedelta = timedelta(hours=1),
                     sample: int = 5000) -> dict[str, float] | None:
    """Percentiles of fetched-at minus source time (seconds) of the protocol's recent
    observations — how late values reach us after the source stamps them."""
    rows = (PriceObservation.objects.filter(feed__protocol=protocol,
                                            fetched_at__gte=now - window)
            .order_by("-fetched_at").values_list("fetched_at", "source_ts")[:sample])
    delays = sorted((fetched - source).total_seconds() for fetched, source in rows)
    if not delays:
        return None

    def at(share: float) -> float:
        return delays[min(len(delays) - 1, int(share * len(delays)))]

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "count": len(delays)}
