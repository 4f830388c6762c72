"""Reads for feeds. Views, the API, consumers and the sync engine call these."""
from decimal import Decimal

from django.db.models import OuterRef, Subquery

from .fields import ExactDecimalField
from .models import Feed, PriceObservation


def latest_prices() -> dict[int, Decimal]:
    """Each feed's most recent stored price (by source time), in one query: the unique
    (feed, source_ts, round_id) index answers each feed's subquery with a backward scan."""
    newest = (PriceObservation.objects.filter(feed=OuterRef("pk"))
              .order_by("-source_ts").values("price")[:1])
    rows = Feed.objects.annotate(
        last_price=Subquery(newest, output_field=ExactDecimalField())
    ).values_list("pk", "last_price")
    return {pk: price for pk, price in rows if price is not None}


def feeds_by_pair() -> dict[int, set[int]]:
    """Enabled feed ids per pair id."""
    pairs: dict[int, set[int]] = {}
    for pk, pair_id in Feed.objects.filter(enabled=True).values_list("pk", "pair_id"):
        pairs.setdefault(pair_id, set()).add(pk)
    return pairs
