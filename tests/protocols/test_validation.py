from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.protocols.validation import check
from tests.factories import FeedFactory, observation

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture
def feed(db):
    return FeedFactory(decimals=8, heartbeat_seconds=3600)


def read(feed, price: str, *, age: timedelta = timedelta(seconds=10)):
    raw = int(Decimal(price).scaleb(8))
    return observation(feed, raw, NOW - age)


def reason(problem):
    return problem and problem.reason


@pytest.mark.parametrize(("price", "expected"), [("0", "non_positive"), ("-3400", "non_positive")])
def test_zero_and_negative_prices_are_rejected(feed, price, expected):
    assert reason(check(read(feed, price), references=[], now=NOW)) == expected


def test_a_value_from_the_future_is_rejected(feed):
    obs = read(feed, "3400", age=-timedelta(minutes=10))
    assert reason(check(obs, references=[], now=NOW)) == "future_timestamp"


def test_small_clock_skew_is_tolerated(feed):
    assert check(read(feed, "3400", age=-timedelta(seconds=30)), references=[], now=NOW) is None


def test_a_value_a_hundred_heartbeats_old_is_stale_beyond_reason(feed):
    obs = read(feed, "3400", age=timedelta(hours=101))
    assert reason(check(obs, references=[], now=NOW)) == "stale_beyond_reason"
    assert check(read(feed, "3400", age=timedelta(hours=99)), references=[], now=NOW) is None


def test_a_value_with_the_wrong_decimals_is_rejected(feed):
    obs = read(feed, "34000000000000")  # 3400 × 1e10
    assert reason(check(obs, references=[Decimal(3400)], now=NOW)) == "wrong_scale"


def test_an_absurd_jump_against_every_reference_is_rejected(feed):
    obs = read(feed, "6900")
    refs = [Decimal(3400), Decimal(3395)]
    assert reason(check(obs, references=refs, now=NOW)) == "absurd_jump"


def test_a_crash_the_other_feeds_confirm_is_accepted(feed):
    # Our own last price is 3400, but the pair's other feeds already say 1400.
    obs = read(feed, "1390")
    assert check(obs, references=[Decimal(3400), Decimal(1400)], now=NOW) is None


def test_an_outlier_within_the_jump_limit_is_data_not_garbage(feed):
    # 25 % off is for consensus to flag, not for quarantine.
    assert check(read(feed, "4250"), references=[Decimal(3400)], now=NOW) is None


def test_a_first_read_without_references_is_accepted(feed):
    assert check(read(feed, "3400"), references=[], now=NOW) is None
