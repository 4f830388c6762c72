"""The one small interface every protocol adapter implements.

An adapter turns a protocol's wire format into unsaved PriceObservations and typed problems.
It never imports views, Channels or Celery; the sync engine is its only caller.
"""
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from apps.feeds.models import Feed, PriceObservation

from ..errors import AdapterError, PermanentError, ProblemKind, TransientError

__all__ = ["AdapterError", "PermanentError", "ProblemKind", "TransientError"]

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class Problem:
    feed: Feed
    kind: ProblemKind
    reason: str  # short code, e.g. "non_positive", "reverted", "timeout"
    detail: str = ""
    raw_value: str = ""
    source_ts: datetime | None = None


@dataclass(frozen=True)
class Payload:
    """A signed update as received, kept for later re-verification."""

    format: str
    data: bytes
    covers: dict[str, int]  # feed key -> unix publish time
    verified: bool | None


@dataclass
class ReadResult:
    observations: list[PriceObservation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)

    def extend(self, other: "ReadResult") -> None:
        self.observations.extend(other.observations)
        self.problems.extend(other.problems)
        self.payloads.extend(other.payloads)


class Adapter:
    protocol: str

    def read(self, feeds: Sequence[Feed], *, now: datetime) -> ReadResult:
        raise NotImplementedError


def unix_time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse_rfc3339(text: str) -> datetime:
    """RFC 3339 with up to nanoseconds (Go's format), e.g. 2020-05-19T08:41:12.499645584Z."""
    match = _RFC3339.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    whole, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if zone in ("Z", "z") else zone
    return datetime.fromisoformat(f"{whole}.{micros}{zone}").astimezone(UTC)


def scaled(price: Decimal, decimals: int) -> int:
    """A decimal price as the integer at `decimals` (half-even on the last digit)."""
    return int(price.scaleb(decimals).to_integral_value(ROUND_HALF_EVEN))


def observation(
    feed: Feed, raw: int, source_ts: datetime, *, fetched_at: datetime, decimals: int | None = None,
    round_id: int | None = None, confidence: Decimal | None = None,
    block_number: int | None = None, verified: bool | None = None,
) -> PriceObservation:
    return PriceObservation(
        feed=feed, raw_answer=raw, decimals=feed.decimals if decimals is None else decimals,
        source_ts=source_ts, fetched_at=fetched_at, round_id=round_id, confidence=confidence,
        block_number=block_number, verified=verified,
    )


def rejected(feed: Feed, reason: str, raw: object, detail: str = "",
             source_ts: datetime | None = None) -> Problem:
    return Problem(feed, ProblemKind.REJECTED, reason, detail, str(raw), source_ts)
