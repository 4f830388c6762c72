from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.feeds import partitions
from apps.feeds.models import PriceObservation
from apps.feeds.services import store_observations
from apps.feeds.signals import observations_stored
from tests.factories import FeedFactory, observation

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# A BTC answer scaled by 1e18, as an 18-decimal feed reports it: more digits than a float has.
BTC_1E18 = 64_123_456_789_012_345_678_901


@pytest.fixture
def feed(db):
    return FeedFactory(decimals=8)


@pytest.fixture
def received(db):
    calls = []

    def receiver(sender, observations, **kwargs):
        calls.append(list(observations))

    observations_stored.connect(receiver, dispatch_uid="test-receiver")
    yield calls
    observations_stored.disconnect(dispatch_uid="test-receiver")


def test_store_returns_only_new_rows_and_is_idempotent(feed):
    first = store_observations(
        [observation(feed, 100, T0), observation(feed, 101, T0 + timedelta(seconds=1))]
    )
    assert [o.raw_answer for o in first] == [100, 101]
    assert all(o.pk for o in first)

    again = store_observations([
        observation(feed, 100, T0),
        observation(feed, 102, T0 + timedelta(seconds=2)),
    ])
    assert [o.raw_answer for o in again] == [102]
    assert PriceObservation.objects.filter(feed=feed).count() == 3


def test_duplicate_inside_one_batch_is_stored_once(feed):
    stored = store_observations([observation(feed, 7, T0), observation(feed, 7, T0)])
    assert len(stored) == 1
    assert PriceObservation.objects.count() == 1


def test_null_round_id_is_a_value_for_uniqueness(feed):
    store_observations([observation(feed, 5, T0, round_id=None)])
    assert store_observations([observation(feed, 5, T0, round_id=None)]) == []
    # Same time but a different round is a different observation.
    assert len(store_observations([observation(feed, 5, T0, round_id=1)])) == 1


def test_price_is_derived_exactly_from_raw_answer_and_decimals(feed):
    (stored,) = store_observations([observation(feed, 154_881_936_523, T0)])
    assert stored.price == Decimal("1548.81936523")
    assert PriceObservation.objects.get(pk=stored.pk).price == Decimal("1548.81936523")


def test_1e18_scaled_btc_answer_round_trips_exactly(db):
    feed = FeedFactory(decimals=18)
    uint80_round = (5 << 64) | 123_456  # a Chainlink proxy round id is wider than int64
    store_observations([observation(feed, BTC_1E18, T0, round_id=uint80_round,
                                     confidence=Decimal("12.345678901234567890123"))])
    row = PriceObservation.objects.get(feed=feed)
    assert row.raw_answer == BTC_1E18
    assert isinstance(row.raw_answer, int)
    assert row.price == Decimal("64123.456789012345678901")
    assert row.round_id == uint80_round
    assert row.confidence == Decimal("12.345678901234567890123")


def test_uint256_max_answer_fits(db):
    feed = FeedFactory(decimals=18)
    store_observations([observation(feed, 2**256 - 1, T0)])
    assert PriceObservation.objects.get(feed=feed).raw_answer == 2**256 - 1


def test_negative_answer_is_stored_as_reported(feed):
    # Validation (quarantine) is the adapters' job; storage keeps what it is given.
    (stored,) = store_observations([observation(feed, -1, T0)])
    assert PriceObservation.objects.get(pk=stored.pk).price == Decimal("-1E-8")


def test_timestamps_are_stored_in_utc(feed):
    tokyo = timezone(timedelta(hours=9))
    store_observations([observation(feed, 1, T0.astimezone(tokyo), round_id=7)])
    assert PriceObservation.objects.get().source_ts == T0
    # Stored the way the ORM itself stores values, so its lookups find the row.
    assert PriceObservation.objects.filter(source_ts=T0, round_id=7, raw_answer=1).exists()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"source_ts": datetime(2026, 11, 20, 12, 0)}, ValueError),  # naive
        ({"raw_answer": 1.5}, TypeError),
        ({"raw_answer": 10**78}, ValueError),
        ({"confidence": 0.1}, TypeError),
        ({"price": Decimal("2")}, ValueError),  # disagrees with raw_answer / 10**decimals
        ({"decimals": 78}, ValueError),
    ],
)
def test_malformed_observations_are_refused_and_nothing_is_stored(feed, change, error):
    good = observation(feed, 100, T0)
    bad = observation(feed, 100, T0 + timedelta(seconds=1))
    for name, value in change.items():
        setattr(bad, name, value)
    with pytest.raises(error):
        store_observations([good, bad])
    assert not PriceObservation.objects.exists()


def test_signal_fires_once_per_batch_after_commit_with_new_rows_only(
    feed, received, django_capture_on_commit_callbacks
):
    store_observations([observation(feed, 1, T0)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        store_observations([observation(feed, 1, T0), observation(feed, 2, T0 + timedelta(1))])
        assert received == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert len(received) == 1
    assert [o.raw_answer for o in received[0]] == [2]


def test_signal_is_not_sent_when_nothing_was_new(
    feed, received, django_capture_on_commit_callbacks
):
    store_observations([observation(feed, 1, T0)])
    with django_capture_on_commit_callbacks(execute=True):
        store_observations([observation(feed, 1, T0)])
    assert received == []


def test_failing_receiver_does_not_stop_the_others(
    feed, received, django_capture_on_commit_callbacks, caplog
):
    def broken(sender, **kwargs):
        raise RuntimeError("boom")

    observations_stored.connect(broken, dispatch_uid="broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            store_observations([observation(feed, 1, T0)])
    finally:
        observations_stored.disconnect(dispatch_uid="broken")
    assert len(received) == 1
    assert "observations_stored receiver" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_signal_is_not_sent_when_the_transaction_rolls_back(received):
    from django.db import transaction

    feed = FeedFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        store_observations([observation(feed, 1, T0)])
        raise RuntimeError("caller failed later in its transaction")
    assert received == []
    assert not PriceObservation.objects.exists()


def test_a_batch_is_written_without_a_query_per_row(feed):
    batch = [observation(feed, i, T0 + timedelta(seconds=i)) for i in range(1200)]
    with CaptureQueriesContext(connection) as queries:
        stored = store_observations(batch)
    assert len(stored) == 1200
    inserts = [q["sql"] for q in queries if "INSERT INTO" in q["sql"]]
    expected = 1 if connection.vendor == "postgresql" else 3  # SQLite: 500-row statements
    assert len(inserts) == expected


def _partition_of(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM feeds_priceobservation WHERE id = %s", [pk]
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_rows_land_in_their_monthly_partition(feed):
    october = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    november = datetime(2026, 11, 1, tzinfo=UTC)
    old = datetime(2019, 3, 15, tzinfo=UTC)  # a history backfill into an old month
    a, b, c = store_observations([observation(feed, 1, october), observation(feed, 2, november),
                                  observation(feed, 3, old)])
    assert _partition_of(a.pk) == "feeds_priceobservation_y2026m10"
    assert _partition_of(b.pk) == "feeds_priceobservation_y2026m11"
    assert _partition_of(c.pk) == "feeds_priceobservation_y2019m03"
    assert partitions.default_partition_row_count() == 0


@pytest.mark.postgres
def test_implausible_timestamp_lands_in_default_partition_and_is_reported(feed, capsys):
    far_future = datetime(2200, 1, 1, tzinfo=UTC)
    (row,) = store_observations([observation(feed, 1, far_future)])
    assert _partition_of(row.pk) == partitions.DEFAULT_PARTITION
    from django.core.checks import run_checks

    warnings = run_checks(databases=["default"])
    assert [w.id for w in warnings if w.id.startswith("feeds.")] == ["feeds.W001"]


@pytest.mark.postgres
def test_partition_created_later_adopts_rows_of_its_month_from_default(feed, settings):
    settings.OP_PARTITION_MONTHS_AHEAD = 0
    next_year = datetime(2027, 6, 1, tzinfo=UTC)
    (early,) = store_observations([observation(feed, 1, next_year)])
    assert _partition_of(early.pk) == partitions.DEFAULT_PARTITION

    settings.OP_PARTITION_MONTHS_AHEAD = 12  # time passes: June 2027 becomes plausible
    (late,) = store_observations([observation(feed, 2, next_year + timedelta(days=1))])
    assert _partition_of(early.pk) == _partition_of(late.pk) == "feeds_priceobservation_y2027m06"
    assert partitions.default_partition_row_count() == 0


@pytest.mark.postgres
def test_scheduled_task_creates_upcoming_partitions(db, settings):
    from apps.feeds.tasks import ensure_partitions

    settings.OP_PARTITION_MONTHS_AHEAD = 2
    created = ensure_partitions()
    assert len(created) == 3
    assert ensure_partitions() == []  # idempotent
    call_command("check", databases=["default"])
