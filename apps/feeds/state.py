"""Reading the latest-state cache (status and consensus per pair), which `refresh_pairs`
writes on every stored batch; a pair missing from the cache is computed on the spot."""
from decimal import Decimal

from django.core.cache import cache

from .models import Pair
from .services import refresh_pairs, state_key
from .status import FeedStatus

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
