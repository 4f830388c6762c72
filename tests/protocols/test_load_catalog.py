import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.feeds.models import Feed, Pair
from apps.feeds.services import store_observations
from apps.protocols.models import CatalogLoad
from apps.protocols.services import CatalogError, load_catalog
from tests.factories import observation

CATALOG = {
    "version": 1,
    "time_scale_devnet": 60,
    "assets": [
        {"symbol": "ETH", "name": "Ether", "kind": "crypto"},
        {"symbol": "USD", "name": "US Dollar", "kind": "fiat"},
    ],
    "chains": [{"slug": "ethereum", "name": "Ethereum", "chain_id": 1, "family": "evm"}],
    "protocols": [
        {"slug": "chainlink", "name": "Chainlink", "website": "https://chain.link"},
        {"slug": "pyth", "name": "Pyth", "website": "https://pyth.network"},
    ],
    "feeds": [
        {
            "protocol": "chainlink", "pair": "ETH-USD", "chain": "ethereum",
            "source_kind": "evm", "decimals": 8, "heartbeat_seconds": 3600,
            "deviation_bps": "50", "params": {},
            "mainnet": {"address": "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419",
                        "feed_id": None, "source": "protocols.md §1"},
        },
        {
            "protocol": "pyth", "pair": "ETH-USD", "chain": None, "source_kind": "stream",
            "decimals": 8, "heartbeat_seconds": 60, "deviation_bps": "0",
            "params": {"symbol": "Crypto.ETH/USD"},
            "mainnet": {"address": None, "feed_id": None, "source": None},
        },
    ],
}


@pytest.fixture
def catalog_file(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    return path


def test_devnet_profile_scales_heartbeats_and_leaves_addresses_to_the_devnet(db, catalog_file):
    summary = load_catalog("devnet", path=catalog_file)
    counts = (summary.pairs, summary.feeds, summary.mainnet_backed, summary.devnet_only)
    assert counts == (1, 2, 1, 1)
    feed = Feed.objects.get(key="chainlink-ethereum-eth-usd")
    assert feed.heartbeat_seconds == 60  # 3600 s / 60
    assert feed.address == ""
    assert feed.deviation_threshold_bps == Decimal("50")
    assert Feed.objects.get(key="pyth-offchain-eth-usd").enabled


def test_loading_twice_changes_nothing(db, catalog_file):
    load_catalog("devnet", path=catalog_file)
    Feed.objects.filter(key="chainlink-ethereum-eth-usd").update(address="0xdevnet")
    load_catalog("devnet", path=catalog_file)
    assert Feed.objects.count() == 2
    assert Pair.objects.get().slug == "ETH-USD"
    # Addresses the devnet wrote survive a reload.
    assert Feed.objects.get(key="chainlink-ethereum-eth-usd").address == "0xdevnet"


def test_mainnet_profile_uses_cited_addresses_and_disables_unbacked_feeds(db, catalog_file):
    load_catalog("mainnet", path=catalog_file)
    chainlink = Feed.objects.get(key="chainlink-ethereum-eth-usd")
    assert chainlink.address == "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419"
    assert chainlink.heartbeat_seconds == 3600
    assert not Feed.objects.get(key="pyth-offchain-eth-usd").enabled


def test_feeds_that_leave_the_catalog_are_disabled_not_deleted(db, catalog_file, tmp_path):
    load_catalog("devnet", path=catalog_file)
    smaller = dict(CATALOG, feeds=CATALOG["feeds"][:1])
    catalog_file.write_text(json.dumps(smaller))
    summary = load_catalog("devnet", path=catalog_file)
    assert summary.disabled == 1
    assert not Feed.objects.get(key="pyth-offchain-eth-usd").enabled


def test_switching_networks_with_history_is_refused(db, catalog_file):
    load_catalog("devnet", path=catalog_file)
    feed = Feed.objects.get(key="chainlink-ethereum-eth-usd")
    store_observations([observation(feed, 1, datetime(2026, 11, 1, tzinfo=UTC))])
    with pytest.raises(CatalogError, match="mix"):
        load_catalog("mainnet", path=catalog_file)
    load_catalog("mainnet", path=catalog_file, force=True)
    assert CatalogLoad.objects.latest().network == "mainnet"


def test_pair_with_unknown_asset_is_a_clear_error(db, tmp_path):
    bad = dict(CATALOG, feeds=[dict(CATALOG["feeds"][0], pair="BTC-USD")])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(CatalogError, match="BTC-USD"):
        load_catalog("devnet", path=path)


def test_command_prints_devnet_only_and_mainnet_backed_counts(db, catalog_file, capsys):
    call_command("load_catalog", "--network", "devnet", "--catalog", str(catalog_file))
    out = capsys.readouterr().out
    assert "1 mainnet-backed, 1 devnet-only" in out
