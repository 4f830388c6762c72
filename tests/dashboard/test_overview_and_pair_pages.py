from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.feeds.services import store_observations
from apps.protocols.selectors import last_sync_key
from tests.factories import (
    AssetFactory,
    FeedFactory,
    PairFactory,
    ProtocolFactory,
    observation,
    priced,
)


def test_overview_lists_pairs_with_consensus_and_worst_status(client, tenants):
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH", name="Ether"))
    priced(eth, "chainlink", "3400")
    priced(eth, "pyth", "3402")
    priced(eth, "tellor", "3300", age=4 * 3600)  # stale
    client.force_login(tenants["member"])
    page = client.get(reverse("overview"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "ETH-USD" in body and ">3401<" in body and "stale" in body
    assert "2 / 3" in body


def test_overview_filters_and_refreshes_its_rows_only(client, tenants):
    cache.clear()
    priced(PairFactory(base=AssetFactory(symbol="ETH")), "chainlink", "3400")
    priced(PairFactory(base=AssetFactory(symbol="BTC")), "chainlink", "95000")
    client.force_login(tenants["member"])
    rows = client.get(reverse("overview"), {"q": "btc"}, HTTP_HX_REQUEST="true")
    body = rows.content.decode()
    assert "BTC-USD" in body and "ETH-USD" not in body
    assert "<html" not in body  # a fragment for htmx


def test_pair_page_shows_each_source(client, tenants):
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    feeds = [priced(eth, "chainlink", "3400"), priced(eth, "pyth", "3410")]
    client.force_login(tenants["member"])
    body = client.get(reverse("pair", args=["ETH-USD"])).content.decode()
    for feed in feeds:
        assert feed.key in body
    assert ">3405<" in body  # the consensus of two (exact value in the title)
    assert 'title="3405.00000000"' in body


def test_dashboard_needs_a_login(client, db):
    response = client.get(reverse("overview"))
    assert response.status_code == 302


def test_unknown_pair_is_404(client, tenants):
    client.force_login(tenants["member"])
    assert client.get(reverse("pair", args=["NOPE-USD"])).status_code == 404


def test_prices_show_at_a_readable_precision_with_the_exact_value_on_hover():
    from apps.dashboard.templatetags.prices import price

    assert price("3398.204321614769000000") == (
        '<span title="3398.204321614769000000">3398.20432161</span>')
    assert ">0.0000123<" not in price("0.00001234567891")  # tiny: scientific
    assert ">0.99987654<" in price("0.999876543210")
    assert price(None) == "—"


def test_pair_history_gives_consensus_bars_and_each_feeds_closes(client, tenants):
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    a, b = priced(eth, "chainlink", "3400", age=120), priced(eth, "pyth", "3402", age=60)
    from apps.feeds.pair_state import refresh_pairs

    refresh_pairs([eth.pk])
    client.force_login(tenants["member"])
    body = client.get(reverse("pair_history", args=["ETH-USD"]), {"span": "1h"}).json()
    assert body["span"] == "1h"
    assert {key: [p["value"] for p in f["points"]] for key, f in body["feeds"].items()} == {
        a.key: ["3400.00000000"], b.key: ["3402.00000000"]}
    assert body["consensus"][-1]["close"] == "3401.00000000"


def test_pair_history_refuses_an_unknown_span_with_a_json_error(client, tenants):
    PairFactory(base=AssetFactory(symbol="ETH"))
    client.force_login(tenants["member"])
    response = client.get(reverse("pair_history", args=["ETH-USD"]), {"span": "9y"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_span"


def test_members_keep_a_watchlist_per_organization(client, tenants):
    from apps.feeds.models import WatchedPair
    from tests.factories import MembershipFactory

    cache.clear()
    priced(PairFactory(base=AssetFactory(symbol="ETH")), "chainlink", "3400")
    priced(PairFactory(base=AssetFactory(symbol="BTC")), "chainlink", "95000")
    client.force_login(tenants["member"])
    client.post(reverse("switch_organization"), {"organization": tenants["org"].slug})
    client.post(reverse("watch", args=["BTC-USD"]))
    assert list(WatchedPair.objects.values_list("organization", "pair__slug")) == [
        (tenants["org"].pk, "BTC-USD")]
    body = client.get(reverse("overview"), {"watchlist": "1"}).content.decode()
    assert "/pairs/BTC-USD/" in body and "/pairs/ETH-USD/" not in body
    # A viewer sees the watchlist but cannot change it.
    viewer = MembershipFactory(organization=tenants["org"], role="viewer").user
    client.force_login(viewer)
    client.post(reverse("switch_organization"), {"organization": tenants["org"].slug})
    assert client.post(reverse("watch", args=["ETH-USD"])).status_code == 403
    # Another organization has its own (empty) watchlist.
    client.force_login(tenants["outsider"])
    body = client.get(reverse("overview"), {"watchlist": "1"}).content.decode()
    assert "/pairs/BTC-USD/" not in body


def test_24h_change_compares_consensus_with_the_feeds_open_a_day_ago(db):
    from datetime import timedelta

    from apps.feeds.models import FeedBar
    from apps.feeds.selectors import changes_24h

    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    feed = FeedFactory(pair=eth)
    now = timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=24)
    FeedBar.objects.create(feed=feed, resolution=3600, start=start, open=Decimal(3200),
                           high=Decimal(3300), low=Decimal(3100), close=Decimal(3250), count=5,
                           first_ts=start, last_ts=start + timedelta(minutes=59))
    assert changes_24h([eth.pk], {eth.pk: Decimal(3400)}, now) == {eth.pk: Decimal("6.25")}


def test_pair_page_shows_the_share_verified_over_the_last_hour(client, tenants):
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    feed = FeedFactory(pair=eth, protocol=ProtocolFactory(slug="pyth", name="Pyth"))
    cache.set(last_sync_key(feed.protocol_id, feed.chain_id), timezone.now())
    now = timezone.now()
    store_observations([
        observation(feed, 3400_00000000 + i, now - timedelta(seconds=10 * i), verified=i != 3)
        for i in range(4)
    ])
    client.force_login(tenants["member"])
    body = client.get(reverse("pair", args=["ETH-USD"])).content.decode()
    assert "75.0 % 1 h" in body
