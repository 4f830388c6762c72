from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command

from apps.devnet.history import seed_history
from apps.devnet.models import SeededHistory
from apps.feeds.models import PriceObservation
from tests.factories import AssetFactory, FeedFactory, PairFactory, ProtocolFactory

END = datetime(2026, 11, 26, 12, 0, 30, tzinfo=UTC)


def test_history_is_one_point_a_minute_and_ends_at_the_live_price(db):
    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    feeds = [
        FeedFactory(pair=eth, decimals=8),
        FeedFactory(pair=eth, decimals=18, protocol=ProtocolFactory(slug="pyth", name="Pyth")),
    ]
    written = seed_history(feeds, end=END, days=1, anchors={"ETH": Decimal("3000")})
    assert written == 2 * 1440
    for feed in feeds:
        rows = PriceObservation.objects.filter(feed=feed).order_by("source_ts")
        times = list(rows.values_list("source_ts", flat=True))
        assert len(times) == 1440
        assert times[-1] == datetime(2026, 11, 26, 11, 59, tzinfo=UTC)
        assert {b - a for a, b in pairwise(times)} == {timedelta(minutes=1)}
        last = rows.last()
        assert abs(last.price - 3000) / 3000 < Decimal("0.005")  # noise only
        assert last.decimals == feed.decimals
        label = SeededHistory.objects.get(feed=feed)
        assert (label.start, label.end, label.rows) == (times[0], times[-1], 1440)


def test_seeding_twice_writes_nothing_new(db):
    feed = FeedFactory(pair=PairFactory(base=AssetFactory(symbol="BTC")))
    assert seed_history([feed], end=END, days=1, anchors={}) == 1440
    assert seed_history([feed], end=END + timedelta(hours=1), days=1, anchors={}) == 0


def test_seed_command_seeds_the_main_pairs_and_refuses_bad_anchors(db):
    feed = FeedFactory(pair=PairFactory(base=AssetFactory(symbol="ETH")))
    call_command("seed_devnet_history", "--days", "1", "--anchors", '{"ETH": "2500"}')
    last = PriceObservation.objects.filter(feed=feed).order_by("source_ts").last()
    assert abs(last.price - 2500) / 2500 < Decimal("0.005")
    with pytest.raises(CommandError, match="anchors"):
        call_command("seed_devnet_history", "--anchors", "[1, 2")
