"""Consensus per pair: one vote per protocol, the median of the votes, outliers excluded.

- A protocol's vote is its freshest *fresh* feed for the pair (any chain), never a value that
  failed verification.
- A vote quoted in another unit (a Uniswap pool quoted in USDC for an ETH-USD consensus) is
  converted through that unit's own consensus (USDC-USD); without one it is excluded.
- A vote further than OP_CONSENSUS_OUTLIER_BPS from the median of the *other* votes is flagged
  as an outlier and excluded.
- At least two votes must remain, else the consensus is unavailable.
"""
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

BPS = Decimal(10_000)


@dataclass(frozen=True)
class Vote:
    feed_id: int
    protocol: str
    price: Decimal  # in the pair's quote unit (converted if need be)
    source_ts: float  # unix seconds, to pick a protocol's freshest feed
    converted_from: str | None = None  # the original quote unit when converted


@dataclass(frozen=True)
class Consensus:
    price: Decimal | None
    votes: tuple[Vote, ...] = ()  # the votes the median was taken over
    outliers: tuple[Vote, ...] = ()
    reason: str = ""  # why unavailable
    deviations: dict[int, Decimal] = field(default_factory=dict)  # feed id -> bps vs price

    @property
    def available(self) -> bool:
        return self.price is not None


def one_per_protocol(votes: Iterable[Vote]) -> list[Vote]:
    best: dict[str, Vote] = {}
    for vote in votes:
        if vote.protocol not in best or vote.source_ts > best[vote.protocol].source_ts:
            best[vote.protocol] = vote
    return sorted(best.values(), key=lambda v: v.protocol)


def deviation_bps(price: Decimal, reference: Decimal) -> Decimal:
    return (price - reference) / reference * BPS


def compute(votes: Iterable[Vote], *, outlier_bps: Decimal, all_prices: dict[int, Decimal]
            | None = None) -> Consensus:
    """The consensus of `votes` (already fresh and verified); `all_prices` (feed id -> price
    in the pair's unit) gets a deviation each, outliers and non-voters included."""
    ballot = one_per_protocol(votes)
    if len(ballot) < 2:
        return Consensus(None, tuple(ballot), reason=f"{len(ballot)} vote(s); 2 needed")
    kept, outliers = [], []
    for vote in ballot:
        others = statistics.median([v.price for v in ballot if v is not vote])
        if abs(deviation_bps(vote.price, others)) > outlier_bps:
            outliers.append(vote)
        else:
            kept.append(vote)
    if len(kept) < 2:
        return Consensus(None, tuple(kept), tuple(outliers),
                         reason=f"{len(kept)} vote(s) after excluding {len(outliers)} outlier(s)")
    price = statistics.median([v.price for v in kept])
    prices = all_prices if all_prices is not None else {v.feed_id: v.price for v in ballot}
    deviations = {feed_id: deviation_bps(p, price) for feed_id, p in prices.items()}
    return Consensus(price, tuple(kept), tuple(outliers), deviations=deviations)
