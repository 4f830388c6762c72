from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.feeds import partitions, retention, rollups
from apps.feeds.models import ConsensusBar, FeedBar, PriceObservation, Resolution
from apps.feeds.selectors import history, latest_bar
from apps.feeds.services import store_observations
from tests.factories import FeedFactory, PairFactory, observation

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
M, H, D = int(Resolution.MINUTE), int(Resolution.HOUR), int(Resolution.DAY)


@pytest.fixture
def feed(db):
    return FeedFactory(decimals=2)


@pytest.fixture
def store(django_capture_on_commit_callbacks):
    """store_observations with its after-commit signal really delivered (rollups maintained)."""

    def store(batch):
        with django_capture_on_commit_callbacks(execute=True):
            return store_observations(batch)

    return store


def bars(feed, resolution):
    return {
        bar.start: (bar.open, bar.high, bar.low, bar.close, bar.count, bar.first_ts, bar.last_ts)
        for bar in FeedBar.objects.filter(feed=feed, resolution=resolution)
    }


def all_bars(model=FeedBar):
    return sorted(model.objects.values_list(
        "resolution", "start", "open", "high", "low", "close", "count", "first_ts", "last_ts",
    ).order_by("resolution", "start"))


def ohlc(prices):
    """Reference OHLC of (source time, price) pairs already in source-time order."""
    values = [p for _, p in prices]
    return values[0], max(values), min(values), values[-1], len(values)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def test_open_and_close_follow_source_time_even_when_stored_out_of_order(feed, store):
    store([observation(feed, 10100, at(30)), observation(feed, 9900, at(50))])
    store([observation(feed, 10000, at(10)), observation(feed, 10500, at(40))])

    expected = (Decimal("100"), Decimal("105"), Decimal("99"), Decimal("99"), 4, at(10), at(50))
    assert bars(feed, M) == {T0: expected}
    assert bars(feed, H) == {T0: expected}
    assert bars(feed, D) == {T0.replace(hour=0): expected}
    bar = FeedBar.objects.get(feed=feed, resolution=M)
    assert isinstance(bar.open, Decimal)
    assert bar.start.tzinfo is not None and bar.start.utcoffset() == timedelta(0)


def test_buckets_are_aligned_to_utc_minute_hour_and_day_boundaries(feed, store):
    midnight = datetime(2026, 11, 21, tzinfo=UTC)
    store([
        observation(feed, 1, midnight - timedelta(microseconds=1)),
        observation(feed, 2, midnight),
        observation(feed, 3, midnight + timedelta(minutes=59, seconds=59)),
        observation(feed, 4, midnight + timedelta(hours=1)),
    ])
    assert sorted(bars(feed, M)) == [
        midnight - timedelta(minutes=1), midnight, midnight + timedelta(minutes=59),
        midnight + timedelta(hours=1),
    ]
    assert sorted(bars(feed, H)) == [
        midnight - timedelta(hours=1), midnight, midnight + timedelta(hours=1),
    ]
    days = bars(feed, D)
    assert sorted(days) == [midnight - timedelta(days=1), midnight]
    assert days[midnight][:5] == (Decimal("0.02"), Decimal("0.04"), Decimal("0.02"),
                                  Decimal("0.04"), 3)
    assert bars(feed, H)[midnight][4] == 2


def test_storing_the_same_observations_again_changes_nothing(feed, store):
    batch = [observation(feed, 100 + i, at(i * 7)) for i in range(30)]
    store(batch)
    before = all_bars()
    store([observation(feed, 100 + i, at(i * 7)) for i in range(30)])  # same rows, new objects
    assert all_bars() == before


def test_unverified_observations_do_not_enter_rollups(feed, store):
    store([
        observation(feed, 100, at(0), verified=True),
        observation(feed, 999_999, at(10), verified=False),
        observation(feed, 50, at(20), verified=None),
    ])
    (bar,) = FeedBar.objects.filter(feed=feed, resolution=M)
    assert (bar.open, bar.high, bar.low, bar.close, bar.count) == (
        Decimal("1"), Decimal("1"), Decimal("0.5"), Decimal("0.5"), 2)


def test_one_batch_is_rolled_up_without_a_query_per_observation(feed, store):
    batch = [observation(feed, 1000 + i, at(i * 13)) for i in range(1200)]  # ~260 minutes
    with CaptureQueriesContext(connection) as queries:
        store(batch)
    rollup_sql = [q["sql"] for q in queries if "feedbar" in q["sql"]]
    minutes = FeedBar.objects.filter(resolution=M).count()
    assert minutes == 260
    # PostgreSQL: one upsert. SQLite: one read of existing buckets, then 500-bar INSERTs.
    total = minutes + FeedBar.objects.exclude(resolution=M).count()
    assert len(rollup_sql) == (1 if connection.vendor == "postgresql" else 1 + -(-total // 500))


def test_consensus_points_are_rolled_up_with_the_same_rules(db):
    pair = PairFactory()
    rollups.record_consensus_point(pair, Decimal("3000.10"), at(30))
    rollups.record_consensus_point(pair, Decimal("2999.90"), at(5))
    rollups.record_consensus_points([(pair.pk, Decimal("3001"), at(59)),
                                     (pair, Decimal("3000"), at(3600))])
    minute = ConsensusBar.objects.get(pair=pair, resolution=M, start=T0)
    assert (minute.open, minute.high, minute.low, minute.close, minute.count) == (
        Decimal("2999.90"), Decimal("3001"), Decimal("2999.90"), Decimal("3001"), 3)
    day = ConsensusBar.objects.get(pair=pair, resolution=D)
    assert (day.open, day.close, day.count) == (Decimal("2999.90"), Decimal("3000"), 4)
    with pytest.raises(TypeError):
        rollups.record_consensus_point(pair, 3000.1, at(0))
    with pytest.raises(ValueError):
        rollups.record_consensus_point(pair, Decimal(1), datetime(2026, 11, 20))


def _messy_history(feed):
    """Two days of prices, stored in shuffled batches, with ties and unverified rows."""
    rows = []
    for i in range(2 * 24 * 20):  # one every 3 minutes
        ts = datetime(2026, 11, 20, tzinfo=UTC) + timedelta(minutes=3 * i, seconds=i % 7)
        rows.append(observation(feed, 50_000 + (i * 7919) % 1000, ts, round_id=1,
                                verified=None if i % 11 else False))
        if i % 5 == 0:  # a second round at the same source time: a tie
            rows.append(observation(feed, 40_000 + i, ts, round_id=2))
    order = sorted(range(len(rows)), key=lambda n: (n * 7_654_321) % 1009)
    shuffled = [rows[n] for n in order]
    return [shuffled[i:i + 97] for i in range(0, len(shuffled), 97)]


def test_rebuild_equals_incremental_and_is_idempotent(feed, store):
    for batch in _messy_history(feed):
        store(batch)
    incremental = all_bars()
    assert incremental

    FeedBar.objects.filter(resolution=H).delete()  # as if a bug had lost or spoilt buckets
    FeedBar.objects.filter(resolution=M).update(count=1, high="0")
    rollups.rebuild_feed_rollups([feed], now=NOW)
    assert all_bars() == incremental
    rollups.rebuild_feed_rollups(now=NOW)
    assert all_bars() == incremental


def test_rebuild_command_with_feed_and_since(feed, store, settings):
    settings.OP_OBSERVATION_RETENTION_DAYS = 0  # keep raw forever: nothing clamps the rebuild
    for batch in _messy_history(feed):
        store(batch)
    incremental = all_bars()
    FeedBar.objects.filter(start__gte=datetime(2026, 11, 21, tzinfo=UTC)).delete()
    call_command("rebuild_rollups", "--feed", feed.key, "--since", "2026-11-21T05:00:00Z")
    assert all_bars() == incremental


def test_rebuild_never_reaches_before_the_retention_cutoff(feed, store):
    old = NOW - timedelta(days=40)
    store([observation(feed, 100, old), observation(feed, 200, NOW - timedelta(hours=1))])
    PriceObservation.objects.filter(source_ts__lt=NOW - timedelta(days=30)).delete()
    before = all_bars()
    rollups.rebuild_feed_rollups([feed], since=old, now=NOW)
    assert all_bars() == before  # the old day's buckets survive although their raw rows are gone


def test_retention_deletes_old_raw_observations_and_keeps_rollups(feed, store, settings):
    settings.OP_OBSERVATION_RETENTION_DAYS = 30
    cutoff = NOW - timedelta(days=30)
    old = [observation(feed, 100 + i, cutoff - timedelta(minutes=10 * i + 1)) for i in range(25)]
    recent = [observation(feed, 500 + i, cutoff + timedelta(minutes=i)) for i in range(5)]
    store(old + recent)
    kept = all_bars()

    report = retention.prune_observations(now=NOW, batch=10)
    assert report["deleted_rows"] == 25
    assert sorted(PriceObservation.objects.values_list("raw_answer", flat=True)) == [
        500, 501, 502, 503, 504]
    assert all_bars() == kept
    assert retention.prune_observations(now=NOW)["deleted_rows"] == 0


def test_retention_stops_after_max_rows_and_continues_next_run(feed, store):
    store([observation(feed, i + 1, NOW - timedelta(days=40, minutes=i)) for i in range(30)])
    first = retention.prune_observations(now=NOW, batch=8, max_rows=20)
    assert (first["deleted_rows"], first.get("incomplete")) == (20, True)
    assert retention.prune_observations(now=NOW, batch=8, max_rows=20)["deleted_rows"] == 10
    assert not PriceObservation.objects.exists()


def test_retention_zero_keeps_everything(feed, store, settings):
    settings.OP_OBSERVATION_RETENTION_DAYS = 0
    store([observation(feed, 1, NOW - timedelta(days=400))])
    assert retention.prune_observations(now=NOW)["deleted_rows"] == 0
    assert PriceObservation.objects.count() == 1


def _tables():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s",
                       [f"{partitions.PARENT}%"])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.postgres
def test_retention_drops_whole_old_partitions_and_keeps_the_default_one(
    feed, store, settings
):
    settings.OP_OBSERVATION_RETENTION_DAYS = 30  # cutoff 2026-10-27 12:00
    august, september = datetime(2026, 8, 15, tzinfo=UTC), datetime(2026, 9, 30, tzinfo=UTC)
    boundary_old, boundary_new = datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 30,
                                                                               tzinfo=UTC)
    ancient = datetime(2014, 6, 1, tzinfo=UTC)  # before OP_PARTITION_EARLIEST: DEFAULT
    store([observation(feed, 1, august), observation(feed, 2, september),
           observation(feed, 3, boundary_old), observation(feed, 4, boundary_new),
           observation(feed, 5, ancient), observation(feed, 6, NOW)])
    assert partitions.default_partition_row_count() == 1
    kept = all_bars()

    report = retention.prune_observations(now=NOW)
    assert report["dropped_partitions"] == [
        "feeds_priceobservation_y2026m08", "feeds_priceobservation_y2026m09"]
    assert report["deleted_rows"] == 2  # the old row of the boundary month and the ancient one
    tables = _tables()
    assert "feeds_priceobservation_y2026m08" not in tables
    assert {partitions.DEFAULT_PARTITION, "feeds_priceobservation_y2026m10"} <= tables
    assert sorted(PriceObservation.objects.values_list("raw_answer", flat=True)) == [4, 6]
    assert all_bars() == kept
    # The dropped month is forgotten, so a backfill into it creates its partition again.
    store([observation(feed, 7, august + timedelta(hours=1))])
    assert "feeds_priceobservation_y2026m08" in _tables()
    assert partitions.default_partition_row_count() == 0


def test_short_span_returns_raw_observations(feed, store):
    store([observation(feed, 100 + i, at(60 * i + 1)) for i in range(120)])
    bars_ = history(feed, T0, T0 + timedelta(hours=1), now=NOW)
    assert len(bars_) == 60
    assert {b.seconds for b in bars_} == {0}
    assert bars_[0].close == Decimal("1") and bars_[0].start == at(1)
    assert bars_[-1].close == Decimal("1.59")


def test_span_with_more_raw_rows_than_points_merges_minute_rollups(feed, store):
    prices = [(at(60 * i + i % 50), Decimal(10_000 + (i * 37) % 101).scaleb(-2))
              for i in range(2 * 24 * 60)]  # two days, one a minute
    store([observation(feed, int(p.scaleb(2)), ts) for ts, p in prices])
    start, end = T0, T0 + timedelta(days=2)
    result = history(feed, start, end, points=500, now=NOW)
    assert 250 <= len(result) <= 500
    step = result[0].seconds
    assert step == 600
    for bar in result:
        inside = [(ts, p) for ts, p in prices if bar.start <= ts < bar.start + timedelta(
            seconds=step)]
        assert (bar.open, bar.high, bar.low, bar.close, bar.count) == ohlc(inside)
        assert bar.start.utcoffset() == timedelta(0)
        assert isinstance(bar.high, Decimal)


def test_points_bounds_the_number_of_bars(feed, store):
    store([observation(feed, 1000 + i, at(60 * i)) for i in range(600)])
    for points in (1, 7, 10, 50, 499):
        result = history(feed, T0, T0 + timedelta(hours=10), points=points, now=NOW)
        assert 1 <= len(result) <= points
        assert sum(b.count for b in result) == 600


def test_a_year_is_read_from_daily_rollups(feed, store):
    days = [datetime(2026, 1, 1, 6, tzinfo=UTC) + timedelta(days=i) for i in range(300)]
    store([observation(feed, 100 + i, ts) for i, ts in enumerate(days)])
    store([observation(feed, 10, days[0] + timedelta(hours=1))])  # a later low on day one
    with CaptureQueriesContext(connection) as queries:
        result = history(feed, NOW - timedelta(days=365), NOW, now=NOW)
    assert len(queries) == 1 and "feedbar" in queries[0]["sql"]
    assert len(result) == 300
    assert {b.seconds for b in result} == {86400}
    assert result[0].start == datetime(2026, 1, 1, tzinfo=UTC)
    assert (result[0].open, result[0].low, result[0].close) == (
        Decimal("1.00"), Decimal("0.10"), Decimal("0.10"))


def test_old_short_span_uses_rollups_once_raw_rows_may_be_pruned(feed, store):
    old = NOW - timedelta(days=60)
    store([observation(feed, 100 + i, old + timedelta(minutes=i)) for i in range(30)])
    result = history(feed, old, old + timedelta(hours=1), now=NOW)
    assert {b.seconds for b in result} == {60}
    assert len(result) == 30


def test_consensus_history_and_latest_bar(db):
    pair = PairFactory()
    rollups.record_consensus_points(
        [(pair, Decimal(3000 + i), at(60 * i)) for i in range(180)])
    result = history(pair, T0, T0 + timedelta(hours=3), points=3, now=NOW)
    assert [(b.open, b.close, b.count, b.seconds) for b in result] == [
        (Decimal(3000), Decimal(3059), 60, 3600), (Decimal(3060), Decimal(3119), 60, 3600),
        (Decimal(3120), Decimal(3179), 60, 3600)]
    assert latest_bar(pair).close == Decimal(3179)
    assert latest_bar(pair, Resolution.DAY).count == 180


def test_history_refuses_naive_times(feed):
    with pytest.raises(ValueError):
        history(feed, datetime(2026, 11, 20), datetime(2026, 11, 21))


def test_minute_bar_retention_keeps_whole_hours_and_the_coarser_bars(feed, store, settings):
    settings.OP_MINUTE_BAR_RETENTION_DAYS = 90
    cutoff = retention.minute_bar_cutoff(NOW)
    assert cutoff == datetime(2026, 8, 28, 12, 0, tzinfo=UTC)
    # Three minutes in the hour before the cutoff, two in the hour after it.
    store([observation(feed, 100 + i, cutoff - timedelta(minutes=3 - i)) for i in range(3)]
          + [observation(feed, 200 + i, cutoff + timedelta(minutes=i)) for i in range(2)])
    pair = PairFactory()
    rollups.record_consensus_points([(pair, Decimal("1.5"), cutoff - timedelta(minutes=1)),
                                     (pair, Decimal("1.6"), cutoff + timedelta(minutes=1))])
    hours, days = bars(feed, H), bars(feed, D)

    report = retention.prune_minute_bars(now=NOW, batch=2)

    assert report["deleted_bars"] == 4  # three feed minutes, one consensus minute
    assert sorted(bars(feed, M)) == [cutoff, cutoff + timedelta(minutes=1)]
    assert (bars(feed, H), bars(feed, D)) == (hours, days)
    assert list(ConsensusBar.objects.filter(pair=pair, resolution=M)
                .values_list("start", flat=True)) == [cutoff + timedelta(minutes=1)]
    assert ConsensusBar.objects.filter(pair=pair, resolution=H).count() == 2
    assert retention.prune_minute_bars(now=NOW)["deleted_bars"] == 0


def test_minute_bar_retention_zero_keeps_every_minute(feed, store, settings):
    settings.OP_MINUTE_BAR_RETENTION_DAYS = 0
    store([observation(feed, 1, NOW - timedelta(days=400))])
    assert retention.prune_minute_bars(now=NOW) == {"cutoff": None, "deleted_bars": 0}
    assert FeedBar.objects.filter(feed=feed, resolution=M).count() == 1


def test_history_older_than_minute_retention_is_drawn_from_hourly_bars(feed, store, settings):
    settings.OP_OBSERVATION_RETENTION_DAYS = 30
    settings.OP_MINUTE_BAR_RETENTION_DAYS = 90
    day = datetime(2026, 7, 1, tzinfo=UTC)  # older than both retentions
    store([observation(feed, 100 + i, day + timedelta(minutes=17 * i)) for i in range(100)])
    retention.prune_observations(now=NOW)
    retention.prune_minute_bars(now=NOW)

    drawn = history(feed, day, day + timedelta(days=1), now=NOW)

    assert [bar.seconds for bar in drawn] == [H] * 24
    assert [bar.start for bar in drawn] == [day + timedelta(hours=h) for h in range(24)]
    assert sum(bar.count for bar in drawn) == 85  # 17-minute spacing: 85 of them in the day
    assert drawn[0].open == Decimal("1.00") and drawn[-1].close == Decimal("1.84")
