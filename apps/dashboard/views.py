"""The dashboard: server-rendered pages for logged-in users (the market overview, a pair, a
protocol, and the ingestion health page); the tables refresh themselves."""
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.http import AuthenticatedRequest
from apps.accounts.permissions import Action, can
from apps.feeds.health import feed_health, protocol_health
from apps.feeds.models import Chain, Feed, Pair, QuarantinedRead, WatchedPair
from apps.feeds.pair_state import pair_states
from apps.feeds.selectors import changes_24h, history, verified_shares
from apps.feeds.watchlist import toggle_watch
from apps.protocols.models import FeedReadState, Protocol
from apps.protocols.selectors import ingestion_health, source_latencies
from apps.protocols.sync import is_paused, set_paused

SPANS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
         "30d": timedelta(days=30)}


@login_required
def overview(request: AuthenticatedRequest) -> HttpResponse:
    pairs = Pair.objects.select_related("base", "quote").filter(feeds__enabled=True)
    query = request.GET.get("q", "").strip()
    if query:
        pairs = pairs.filter(Q(slug__icontains=query) | Q(base__name__icontains=query))
    if protocol := request.GET.get("protocol"):
        pairs = pairs.filter(feeds__protocol__slug=protocol)
    if chain := request.GET.get("chain"):
        pairs = pairs.filter(feeds__chain__slug=chain) if chain != "offchain" \
            else pairs.filter(feeds__chain__isnull=True)
    membership = request.membership
    watched = set(WatchedPair.objects.filter(organization=membership.organization)
                  .values_list("pair_id", flat=True)) if membership else set()
    watchlist_only = request.GET.get("watchlist") == "1"
    if watchlist_only:
        pairs = pairs.filter(pk__in=watched)
    shown = list(pairs.distinct().order_by("slug"))
    states = pair_states(shown)
    consensus = {pk: Decimal(s["consensus"]) if s["consensus"] else None
                 for pk, s in states.items()}
    changes = changes_24h([p.pk for p in shown], consensus, timezone.now())
    rows = [(pair, states.get(pair.pk), changes.get(pair.pk), pair.pk in watched)
            for pair in shown]
    template = "feeds/_overview_rows.html" if request.htmx else "feeds/overview.html"
    return render(request, template, {
        "rows": rows, "query": query, "protocol": request.GET.get("protocol", ""),
        "chain": request.GET.get("chain", ""), "watchlist_only": watchlist_only,
        "can_watch": can(membership, Action.EDIT_WATCHLIST),
        "protocols": Protocol.objects.order_by("name"), "chains": Chain.objects.order_by("name"),
    })


@login_required
def pair_detail(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    pair = get_object_or_404(Pair.objects.select_related("base", "quote"), slug=slug)
    state = pair_states([pair])[pair.pk]
    feeds = list(Feed.objects.filter(pk__in=[row["feed"] for row in state["feeds"]]))
    now = timezone.now()
    health = feed_health(feeds, {row["feed"]: row for row in state["feeds"]}, now)
    shares = verified_shares([f.pk for f in feeds], now - timedelta(hours=1))
    for row in state["feeds"]:
        row["health"] = health.get(row["feed"])
        row["verified_share"] = shares.get(row["feed"])
    template = "feeds/_pair_feeds.html" if request.htmx else "feeds/pair.html"
    return render(request, template, {"pair": pair, "state": state, "spans": list(SPANS)})


@login_required
def pair_history(request: HttpRequest, slug: str) -> JsonResponse:
    """The pair chart's data: consensus OHLC and each feed's closes over a span (prices as
    strings, times as unix seconds, which the chart library wants)."""
    pair = get_object_or_404(Pair, slug=slug)
    span = request.GET.get("span", "24h")
    if span not in SPANS:
        return JsonResponse({"error": {"code": "bad_span", "message": f"span must be one of "
                                       f"{', '.join(SPANS)}", "details": {"span": span}}},
                            status=400)
    end = timezone.now()
    start = end - SPANS[span]
    consensus = [
        {"time": int(bar.start.timestamp()), "open": str(bar.open), "high": str(bar.high),
         "low": str(bar.low), "close": str(bar.close)}
        for bar in history(pair, start, end)
    ]
    feeds = {}
    for feed in Feed.objects.filter(pair=pair, enabled=True).select_related("protocol"):
        bars = history(feed, start, end)
        if bars:
            feeds[feed.key] = {"protocol": feed.protocol.slug, "points": [
                {"time": int(bar.start.timestamp()), "value": str(bar.close)} for bar in bars]}
    return JsonResponse({"pair": pair.slug, "span": span, "consensus": consensus,
                         "feeds": feeds})


@login_required
@require_POST
def watch(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    pair = get_object_or_404(Pair, slug=slug)
    if request.membership is None:
        return redirect("overview")
    toggle_watch(request.membership, pair)
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//")
                    else "overview")


# --- ingestion health (is the platform itself reading every source on time?) ---------------

@login_required
def health(request: AuthenticatedRequest) -> HttpResponse:
    sources = ingestion_health(timezone.now())
    template = "protocols/_health_rows.html" if request.htmx else "protocols/health.html"
    return render(request, template, {"sources": sources, "paused": is_paused(),
                                      "delayed": [s for s in sources if s["delayed"]]})


@staff_member_required
@require_POST
def pause_sync(request: HttpRequest) -> HttpResponse:
    paused = request.POST.get("paused") == "1"
    set_paused(paused)
    messages.warning(request, "Sync paused: feeds will show 'ingestion delayed'." if paused
                     else "Sync resumed.")
    return redirect("health")


@login_required
def protocol_detail(request: HttpRequest, slug: str) -> HttpResponse:
    protocol = get_object_or_404(Protocol, slug=slug)
    feeds = list(protocol.feeds.filter(enabled=True).select_related("pair", "chain")
                 .order_by("pair__slug", "chain__name"))
    states = pair_states(list({f.pair for f in feeds}))
    rows = {r["feed"]: r for state in states.values() for r in state["feeds"]}
    now = timezone.now()
    health = feed_health(feeds, rows, now)
    return render(request, "protocols/protocol.html", {
        "protocol": protocol, "health": protocol_health(health),
        "feeds": [(feed, rows.get(feed.pk), health[feed.pk]) for feed in feeds],
        "latency": source_latencies(protocol, now),
        "failing": FeedReadState.objects.filter(feed__protocol=protocol, ok=False)
        .select_related("feed").order_by("-since")[:20],
        "quarantined": QuarantinedRead.objects.filter(feed__protocol=protocol)
        .select_related("feed")[:20],
    })
