from collections.abc import Sequence
from typing import Any

from django.dispatch import receiver

from apps.common.enqueue import enqueue

from .models import Feed, Pair, PriceObservation
from .rollups import apply_observations
from .signals import observations_stored
from .tasks import refresh_pairs


@receiver(observations_stored, dispatch_uid="feeds.refresh_touched_pairs")
def refresh_touched_pairs(sender, observations, **kwargs) -> None:
    """New prices change their pairs' status and consensus; a stablecoin-quoted pair (ETH-USDC)
    also votes in its USD pair (ETH-USD)."""
    feed_ids = {obs.feed_id for obs in observations}
    touched = set(Feed.objects.filter(pk__in=feed_ids).values_list("pair_id", flat=True))
    usd_cousins = Pair.objects.filter(
        quote__symbol="USD",
        base__in=Pair.objects.filter(pk__in=touched, quote__kind="stablecoin").values("base"),
    )
    touched |= set(usd_cousins.values_list("pk", flat=True))
    enqueue(refresh_pairs, sorted(touched))


@receiver(observations_stored, dispatch_uid="feeds.rollups")
def roll_up_new_observations(sender: Any, observations: Sequence[PriceObservation],
                             **kwargs: Any) -> None:
    """OHLC rollups follow prices: one grouped upsert per stored batch (rollups.py)."""
    apply_observations(observations)
