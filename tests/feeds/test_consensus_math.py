"""Consensus and status on hand-made cases."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.feeds.consensus import Vote, compute
from apps.feeds.status import FeedStatus, feed_status

OUTLIER = Decimal(100)  # bps


def vote(protocol: str, price: str, feed_id: int | None = None, ts: float = 0) -> Vote:
    return Vote(feed_id or hash(protocol) % 10_000, protocol, Decimal(price), ts)


def test_median_of_one_vote_per_protocol():
    result = compute([vote("chainlink", "3400"), vote("pyth", "3402"), vote("api3", "3401")],
                     outlier_bps=OUTLIER)
    assert result.price == Decimal("3401")
    assert not result.outliers


def test_even_number_of_votes_takes_the_mean_of_the_middle_two():
    result = compute([vote("a", "100"), vote("b", "101"), vote("c", "102"), vote("d", "103")],
                     outlier_bps=OUTLIER)
    assert result.price == Decimal("101.5")


def test_a_protocol_votes_once_with_its_freshest_feed():
    votes = [vote("chainlink", "3000", 1, ts=10), vote("chainlink", "3400", 2, ts=20),
             vote("pyth", "3400", 3, ts=5)]
    result = compute(votes, outlier_bps=OUTLIER)
    assert [v.feed_id for v in result.votes] == [2, 3]
    assert result.price == Decimal("3400")


def test_an_outlier_is_flagged_and_excluded():
    result = compute([vote("a", "100"), vote("b", "100.2"), vote("c", "100.1"),
                      vote("d", "125")], outlier_bps=OUTLIER)
    assert [v.protocol for v in result.outliers] == ["d"]
    assert result.price == Decimal("100.1")
    assert result.deviations[result.outliers[0].feed_id] > 2000


def test_one_vote_is_not_a_consensus():
    result = compute([vote("chainlink", "3400")], outlier_bps=OUTLIER)
    assert not result.available and "2 needed" in result.reason


def test_two_votes_that_disagree_leave_no_consensus():
    result = compute([vote("a", "100"), vote("b", "120")], outlier_bps=OUTLIER)
    assert not result.available and len(result.outliers) == 2


def test_ties_are_not_outliers():
    result = compute([vote("a", "100"), vote("b", "100"), vote("c", "100")],
                     outlier_bps=OUTLIER)
    assert result.price == Decimal("100") and not result.outliers


NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def status(age_seconds: float | None, heartbeat: float = 3600, **kwargs):
    source_ts = None if age_seconds is None else NOW - timedelta(seconds=age_seconds)
    return feed_status(source_ts=source_ts, heartbeat_seconds=heartbeat, now=NOW, **kwargs)


@pytest.mark.parametrize(("age", "expected"), [
    (0, FeedStatus.FRESH), (3600, FeedStatus.FRESH), (3600 + 360, FeedStatus.FRESH),
    (3600 + 361, FeedStatus.LATE), (7200 + 360, FeedStatus.LATE),
    (7200 + 361, FeedStatus.STALE), (None, FeedStatus.UNKNOWN),
])
def test_status_follows_the_heartbeat_with_a_grace(age, expected):
    assert status(age).status == expected


def test_a_short_heartbeat_gets_the_minimum_grace(settings):
    settings.OP_STATUS_MIN_GRACE_SECONDS = 10
    assert status(60 + 9, heartbeat=60).status == FeedStatus.FRESH
    assert status(60 + 11, heartbeat=60).status == FeedStatus.LATE


def test_our_own_delay_is_unknown_not_stale():
    verdict = status(100_000, ingestion_delayed=True)
    assert (verdict.status, verdict.reason) == (FeedStatus.UNKNOWN, "ingestion delayed")


def test_a_source_failing_for_a_while_is_down_and_briefly_is_not():
    long_ago = NOW - timedelta(hours=1)
    assert status(10, failing_since=long_ago, failure="reverted").status == FeedStatus.DOWN
    assert status(10, failing_since=NOW - timedelta(seconds=5)).status == FeedStatus.FRESH
