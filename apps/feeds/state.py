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
