"""Status and consensus from stored observations, into the latest-state cache."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.feeds.pair_state import refresh_pairs, state_key
from apps.feeds.services import store_observations
from apps.protocols.models import FeedReadState
from apps.protocols.selectors import last_sync_key
from tests.factories import (
    AssetFactory,
    ChainFactory,
    FeedFactory,
    PairFactory,
    ProtocolFactory,
    observation,
)

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def eth(db):
    cache.clear()
    return PairFactory(base=AssetFactory(symbol="ETH"))


def feed(pair, protocol, heartbeat=3600, **extra):
    made = FeedFactory(pair=pair, protocol=ProtocolFactory(slug=protocol, name=protocol),
                       heartbeat_seconds=heartbeat, **extra)
    cache.set(last_sync_key(made.protocol_id, made.chain_id), NOW)  # its source is synced
    return made


def price(f, value: str, age: float = 10, **extra):
    raw = int(Decimal(value).scaleb(f.decimals))
    store_observations([observation(f, raw, NOW - timedelta(seconds=age), **extra)])


def state(pair):
    return cache.get(state_key(pair.pk))


def row(pair_state, f):
    return next(r for r in pair_state["feeds"] if r["feed"] == f.pk)


def test_consensus_over_fresh_feeds_with_deviations(eth):
    feeds = [feed(eth, p) for p in ("chainlink", "pyth", "api3")]
    for f, value in zip(feeds, ("3400", "3402", "3401"), strict=True):
        price(f, value)
    refresh_pairs([eth.pk], now=NOW)
    s = state(eth)
    assert Decimal(s["consensus"]) == 3401 and s["votes"] == 3
    assert Decimal(row(s, feeds[1])["deviation_bps"]) == Decimal("2.94")
    assert {r["status"] for r in s["feeds"]} == {"fresh"}


def test_a_stale_feed_is_excluded_from_consensus(eth):
    fresh = [feed(eth, p) for p in ("chainlink", "pyth")]
    old = feed(eth, "tellor")
    price(fresh[0], "3400")
    price(fresh[1], "3402")
    price(old, "2000", age=4 * 3600)
    refresh_pairs([eth.pk], now=NOW)
    s = state(eth)
    assert row(s, old)["status"] == "stale"
    assert Decimal(s["consensus"]) == 3401 and s["votes"] == 2


def test_all_stale_means_consensus_unavailable(eth):
    for p in ("chainlink", "pyth"):
        price(feed(eth, p), "3400", age=5 * 3600)
    refresh_pairs([eth.pk], now=NOW)
    assert state(eth)["consensus"] is None
    assert "0 vote" in state(eth)["reason"]


def test_an_unverified_value_does_not_vote(eth):
    a, b, c = (feed(eth, p) for p in ("chainlink", "api3", "pyth"))
    price(a, "3400")
    price(b, "3402")
    price(c, "9999", verified=False)
    refresh_pairs([eth.pk], now=NOW)
    assert Decimal(state(eth)["consensus"]) == 3401


def test_a_failing_source_is_down(eth):
    a, b = feed(eth, "chainlink"), feed(eth, "api3")
    price(a, "3400")
    price(b, "3400")
    FeedReadState.objects.create(feed=a, ok=False, reason="reverted",
                                 since=NOW - timedelta(hours=1))
    refresh_pairs([eth.pk], now=NOW)
    assert row(state(eth), a)["status"] == "down"


def test_our_delayed_ingestion_shows_unknown_not_stale(eth):
    a = feed(eth, "chainlink")
    price(a, "3400", age=5 * 3600)
    cache.set(last_sync_key(a.protocol_id, a.chain_id), NOW - timedelta(minutes=10))
    refresh_pairs([eth.pk], now=NOW)
    r = row(state(eth), a)
    assert (r["status"], r["reason"]) == ("unknown", "ingestion delayed")


def test_a_usdc_quoted_pool_votes_through_the_usdc_consensus(eth):
    usdc = AssetFactory(symbol="USDC", kind="stablecoin")
    usdc_usd = PairFactory(base=usdc)
    for p, value in (("chainlink", "0.99"), ("pyth", "0.99")):
        price(feed(usdc_usd, p), value)
    refresh_pairs([usdc_usd.pk], now=NOW)
    eth_usdc = PairFactory(base=eth.base, quote=usdc)
    pool = feed(eth_usdc, "uniswap-v3", decimals=18, chain=ChainFactory())
    price(pool, "3434.343434343434343434")  # 3400 / 0.99
    cl = feed(eth, "chainlink")
    price(cl, "3400")
    refresh_pairs([eth.pk], now=NOW)
    s = state(eth)
    pool_row = row(s, pool)
    assert pool_row["converted_from"] == "USDC"
    assert Decimal(pool_row["price"]) == Decimal("3434.343434343434343434") * Decimal("0.99")
    assert s["votes"] == 2 and abs(Decimal(s["consensus"]) - 3400) < Decimal("0.01")


def test_without_a_usdc_consensus_the_pool_is_excluded(eth):
    usdc = AssetFactory(symbol="USDC", kind="stablecoin")
    PairFactory(base=usdc)  # USDC-USD exists but has no consensus
    pool = feed(PairFactory(base=eth.base, quote=usdc), "uniswap-v3", decimals=18)
    price(pool, "3400")
    price(feed(eth, "chainlink"), "3400")
    refresh_pairs([eth.pk], now=NOW)
    assert state(eth)["votes"] == 1 and state(eth)["consensus"] is None
    assert row(state(eth), pool)["price"] is None


def test_observation_times_are_utc(eth):
    f = feed(eth, "chainlink")
    price(f, "3400")
    refresh_pairs([eth.pk], now=NOW)
    assert datetime.fromisoformat(row(state(eth), f)["source_ts"]).tzinfo == UTC


def test_each_consensus_is_kept_in_the_pairs_consensus_bars(eth):
    from apps.feeds.models import ConsensusBar

    for p, value in (("chainlink", "3400"), ("pyth", "3402")):
        price(feed(eth, p), value)
    refresh_pairs([eth.pk], now=NOW)
    bar = ConsensusBar.objects.get(pair=eth, resolution=60)
    assert (bar.close, bar.count) == (Decimal("3401"), 1)


def test_aged_states_are_recomputed_so_a_frozen_source_turns_stale(eth):
    from apps.feeds.pair_state import refresh_aged_states
    from tests.factories import priced

    chainlink = priced(eth, "chainlink", "3400")
    assert refresh_aged_states() == 1  # never computed yet
    assert refresh_aged_states() == 0  # fresh enough
    later = timezone.now() + timedelta(hours=3)
    cache.set(last_sync_key(chainlink.protocol_id, chainlink.chain_id), later)  # our sync is on
    assert refresh_aged_states(now=later) == 1
    [row] = cache.get(state_key(eth.pk))["feeds"]
    assert row["status"] in ("stale", "down")
