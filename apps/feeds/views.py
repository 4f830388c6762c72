"""The dashboard: server-rendered pages for logged-in users; the tables refresh themselves."""
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.protocols.models import Protocol

from .models import Chain, Pair
from .state import pair_states


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    pairs = Pair.objects.select_related("base", "quote").filter(feeds__enabled=True)
    query = request.GET.get("q", "").strip()
    if query:
        pairs = pairs.filter(Q(slug__icontains=query) | Q(base__name__icontains=query))
    if protocol := request.GET.get("protocol"):
        pairs = pairs.filter(feeds__protocol__slug=protocol)
    if chain := request.GET.get("chain"):
        pairs = pairs.filter(feeds__chain__slug=chain) if chain != "offchain" \
            else pairs.filter(feeds__chain__isnull=True)
    pairs = list(pairs.distinct().order_by("slug"))
    states = pair_states(pairs)
    rows = [(pair, states.get(pair.pk)) for pair in pairs]
    template = "feeds/_overview_rows.html" if request.htmx else "feeds/overview.html"
    return render(request, template, {
        "rows": rows, "query": query, "protocol": request.GET.get("protocol", ""),
        "chain": request.GET.get("chain", ""),
        "protocols": Protocol.objects.order_by("name"), "chains": Chain.objects.order_by("name"),
    })


@login_required
def pair_detail(request: HttpRequest, slug: str) -> HttpResponse:
    pair = get_object_or_404(Pair.objects.select_related("base", "quote"), slug=slug)
    state = pair_states([pair])[pair.pk]
    template = "feeds/_pair_feeds.html" if request.htmx else "feeds/pair.html"
    return render(request, template, {"pair": pair, "state": state})
