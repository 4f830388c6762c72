"""The ingestion health page: is the platform itself reading every source on time?"""
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.feeds.health import feed_health, protocol_health
from apps.feeds.models import QuarantinedRead
from apps.feeds.pair_state import pair_states

from .models import FeedReadState, Protocol
from .selectors import ingestion_health, source_latencies
from .sync import is_paused, set_paused


@login_required
def health(request: HttpRequest) -> HttpResponse:
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
