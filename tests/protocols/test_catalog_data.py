"""The feed catalog (apps/protocols/catalog/catalog.json) as data: schema, coverage, citations.

Plain pytest, no database: the file is read straight from disk.
"""
import json
import re
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import is_checksum_address, keccak

ROOT = Path(__file__).resolve().parents[2]
CATALOG_PATH = ROOT / "apps" / "protocols" / "catalog" / "catalog.json"
README_PATH = CATALOG_PATH.parent / "README.md"

PROTOCOLS = {
    "chainlink", "pyth", "band", "api3", "redstone", "switchboard", "dia", "chronicle", "tellor",
    "uniswap-v3",
}
CHAINS = {"ethereum": 1, "arbitrum": 42161}
ASSET_KINDS = {"crypto", "stablecoin", "fiat"}
SOURCE_KINDS = {"evm", "http", "stream"}
ROADMAP_BASES = [
    "ETH", "BTC", "LINK", "UNI", "AAVE", "MKR", "SNX", "COMP", "YFI", "USDC", "USDT", "DAI",
    "AVAX", "BNB", "SOL", "NEAR", "ATOM",
]
FEED_KEYS = {
    "protocol", "pair", "chain", "source_kind", "decimals", "heartbeat_seconds", "deviation_bps",
    "params", "mainnet", "note",
}
OPTIONAL_FEED_KEYS = {"note"}

# Documented Tellor query ids (tellor-io/dataSpecs SpotPrice.md; ETH/USD also in telliot tests),
# as quoted in shared/reference/protocols.md §9.
TELLOR_BTC_USD = "0xa6f013ee236804827b77696d350e9f0ac3e879328f2a3021d473a0b778ad78ac"
TELLOR_ETH_USD = "0x83a7f3d48786ac2667503a61e8c415438ed2922eb86a2906e4ee66d9a2ce4992"
TELLOR_TRB_USD = "0x5c13cd9c97dbb98f2429c101a2a8150e6c7a0ddaff6124ee176a3a411067ded0"

# Pyth ids that appear in the real fixtures (shared/fixtures/real/pyth_*.json).
PYTH_FIXTURE_IDS = {
    "Crypto.BTC/USD": "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43",
    "Crypto.ETH/USD": "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
    "Crypto.SOL/USD": "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d",
    "Crypto.ETH/BTC": "c96458d393fe9deb7a7d63a0ac41e2898a67a7750dbd166673279e06c868df0a",
}

# The Uniswap pools name the wrapped token; the pair names the asset.
WRAPPED = {"WETH": "ETH", "WBTC": "BTC"}


def tellor_query_id(asset: str, currency: str) -> str:
    inner = encode(["string", "string"], [asset, currency])
    query_data = encode(["string", "bytes"], ["SpotPrice", inner])
    return "0x" + keccak(query_data).hex()


def is_mainnet_backed(feed: dict) -> bool:
    locator = "address" if feed["source_kind"] == "evm" else "feed_id"
    return feed["mainnet"][locator] is not None


@pytest.fixture(scope="module")
def catalog() -> dict:
    return json.loads(CATALOG_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def feeds(catalog) -> list[dict]:
    return catalog["feeds"]


@pytest.fixture(scope="module")
def protocols_by_pair(feeds) -> dict[str, set[str]]:
    by_pair = defaultdict(set)
    for feed in feeds:
        by_pair[feed["pair"]].add(feed["protocol"])
    return by_pair


def by_protocol(feeds, protocol):
    return [f for f in feeds if f["protocol"] == protocol]


def one(feeds, **match) -> dict:
    found = [f for f in feeds if all(f[k] == v for k, v in match.items())]
    assert len(found) == 1, match
    return found[0]


# ------------------------------------------------------------------ schema


def test_top_level_names(catalog):
    assert catalog["version"] == 1
    assert isinstance(catalog["time_scale_devnet"], int) and catalog["time_scale_devnet"] >= 1
    for name in ("assets", "chains", "protocols", "feeds"):
        assert isinstance(catalog[name], list) and catalog[name], name
    assert isinstance(catalog.get("cross_quote_pairs", []), list)


def test_assets_are_unique_and_typed(catalog):
    symbols = [a["symbol"] for a in catalog["assets"]]
    assert len(symbols) == len(set(symbols))
    for asset in catalog["assets"]:
        assert set(asset) == {"symbol", "name", "kind"}, asset
        assert asset["kind"] in ASSET_KINDS, asset
        assert re.fullmatch(r"[A-Za-z0-9]{1,20}", asset["symbol"]), asset
        assert 0 < len(asset["name"]) <= 80, asset
    kinds = {a["symbol"]: a["kind"] for a in catalog["assets"]}
    assert kinds["USD"] == "fiat"
    assert kinds["USDC"] == "stablecoin"
    assert kinds["ETH"] == "crypto"


def test_chains_are_ethereum_and_arbitrum(catalog):
    assert {c["slug"]: c["chain_id"] for c in catalog["chains"]} == CHAINS
    for chain in catalog["chains"]:
        assert set(chain) == {"slug", "name", "chain_id", "family"}
        assert chain["family"] == "evm"
        assert chain["name"]


def test_ten_protocols_listed(catalog):
    slugs = [p["slug"] for p in catalog["protocols"]]
    assert len(slugs) == len(set(slugs))
    assert set(slugs) == PROTOCOLS
    for protocol in catalog["protocols"]:
        assert set(protocol) == {"slug", "name", "website", "description"}
        assert protocol["name"] and protocol["description"]
        assert protocol["website"].startswith("https://")


def test_feed_fields(catalog, feeds):
    symbols = {a["symbol"] for a in catalog["assets"]}
    for feed in feeds:
        where = (feed.get("protocol"), feed.get("pair"), feed.get("chain"))
        assert FEED_KEYS - OPTIONAL_FEED_KEYS <= set(feed) <= FEED_KEYS, where
        assert feed["protocol"] in PROTOCOLS, where
        base, sep, quote = feed["pair"].partition("-")
        assert sep and base in symbols and quote in symbols and base != quote, where
        assert re.fullmatch(r"[A-Za-z0-9]+-[A-Za-z0-9]+", feed["pair"]), where
        assert feed["source_kind"] in SOURCE_KINDS, where
        if feed["source_kind"] == "evm":
            assert feed["chain"] in CHAINS, where
        else:
            assert feed["chain"] is None, where
        assert isinstance(feed["decimals"], int) and 0 <= feed["decimals"] <= 77, where
        assert isinstance(feed["heartbeat_seconds"], int) and feed["heartbeat_seconds"] > 0, where
        assert isinstance(feed["deviation_bps"], str), where
        try:
            deviation = Decimal(feed["deviation_bps"])
        except InvalidOperation:
            pytest.fail(f"deviation_bps is not a decimal: {where}")
        assert deviation.is_finite() and 0 <= deviation < 10_000, where
        assert isinstance(feed["params"], dict), where
        assert isinstance(feed.get("note", ""), str), where
        mainnet = feed["mainnet"]
        assert set(mainnet) == {"address", "feed_id", "source"}, where
        for value in mainnet.values():
            assert value is None or (isinstance(value, str) and value), where
        if feed["source_kind"] != "evm":
            assert mainnet["address"] is None, where


def test_no_duplicate_feeds(feeds):
    seen = Counter((f["protocol"], f["pair"], f["chain"], f["source_kind"]) for f in feeds)
    assert [k for k, n in seen.items() if n > 1] == []
    # The loader keys a feed by protocol, chain (or "offchain") and pair, lower-cased.
    keys = Counter(f"{f['protocol']}-{f['chain'] or 'offchain'}-{f['pair']}".lower() for f in feeds)
    assert [k for k, n in keys.items() if n > 1] == []


def test_every_asset_is_used(catalog, feeds):
    used = {s for f in feeds for s in f["pair"].split("-")}
    assert {a["symbol"] for a in catalog["assets"]} == used


# ------------------------------------------------------------------ coverage


def test_at_least_60_pairs_and_150_feeds(feeds):
    assert len({f["pair"] for f in feeds}) >= 60
    assert len(feeds) >= 150


def test_all_ten_protocols_have_feeds(feeds):
    assert {f["protocol"] for f in feeds} == PROTOCOLS


def test_both_chains_have_feeds(feeds):
    assert {f["chain"] for f in feeds} == {None, *CHAINS}


def test_roadmap_pairs_are_present(protocols_by_pair):
    for base in ROADMAP_BASES:
        assert f"{base}-USD" in protocols_by_pair, base
    assert "MATIC-USD" in protocols_by_pair or "POL-USD" in protocols_by_pair


def test_every_pair_has_two_protocols(catalog, protocols_by_pair):
    cross = set(catalog.get("cross_quote_pairs", []))
    thin = {p: sorted(s) for p, s in protocols_by_pair.items() if len(s) < 2 and p not in cross}
    assert thin == {}


def test_cross_quote_pairs_are_documented_usdc_pairs(catalog, protocols_by_pair):
    cross = catalog.get("cross_quote_pairs", [])
    assert len(cross) == len(set(cross))
    for pair in cross:
        assert pair in protocols_by_pair, pair
        assert pair.endswith("-USDC"), pair
    if cross:
        # consensus converts them through USDC-USD, which itself needs real redundancy
        assert len(protocols_by_pair["USDC-USD"]) >= 2


def test_arbitrum_has_chainlink_redstone_and_api3(feeds):
    on_arbitrum = defaultdict(set)
    for feed in feeds:
        if feed["chain"] == "arbitrum":
            on_arbitrum[feed["protocol"]].add(feed["pair"])
    for protocol in ("chainlink", "redstone", "api3"):
        assert {"ETH-USD", "BTC-USD", "USDC-USD"} <= on_arbitrum[protocol], protocol


# ------------------------------------------------------------------ citations


def test_non_null_locators_have_a_source(feeds):
    for feed in feeds:
        mainnet = feed["mainnet"]
        if mainnet["address"] is not None or mainnet["feed_id"] is not None:
            assert mainnet["source"], (feed["protocol"], feed["pair"], feed["chain"])


def test_addresses_are_eip55_checksummed(feeds):
    for feed in feeds:
        address = feed["mainnet"]["address"]
        if address is not None:
            assert is_checksum_address(address), (feed["protocol"], feed["pair"], address)


def test_tellor_derivation_reproduces_documented_query_ids():
    assert tellor_query_id("btc", "usd") == TELLOR_BTC_USD
    assert tellor_query_id("eth", "usd") == TELLOR_ETH_USD
    assert tellor_query_id("trb", "usd") == TELLOR_TRB_USD


def test_tellor_feed_ids_are_the_derived_query_ids(feeds):
    tellor = by_protocol(feeds, "tellor")
    assert tellor
    for feed in tellor:
        base, quote = feed["pair"].split("-")
        params = feed["params"]
        expected = {"query_asset": base.lower(), "query_currency": quote.lower()}
        assert params == expected, feed["pair"]
        assert feed["source_kind"] == "evm" and feed["decimals"] == 18
        assert feed["mainnet"]["feed_id"] == tellor_query_id(
            params["query_asset"], params["query_currency"]
        ), feed["pair"]
        assert "SpotPrice" in feed["mainnet"]["source"]
    documented = {f["pair"]: f["mainnet"]["feed_id"] for f in tellor}
    assert documented["BTC-USD"] == TELLOR_BTC_USD
    assert documented["ETH-USD"] == TELLOR_ETH_USD


def test_pyth_ids_are_64_lowercase_hex(feeds):
    pyth = by_protocol(feeds, "pyth")
    assert pyth
    ids_by_symbol = {}
    for feed in pyth:
        assert feed["chain"] is None and feed["source_kind"] == "stream"
        symbol = feed["params"]["symbol"]
        fid = feed["mainnet"]["feed_id"]
        if fid is not None:
            assert re.fullmatch(r"[0-9a-f]{64}", fid), (symbol, fid)
            assert ids_by_symbol.setdefault(symbol, fid) == fid
    ids = [f for f in ids_by_symbol.values()]
    assert len(ids) == len(set(ids)), "two Pyth symbols share an id"
    for symbol, fid in PYTH_FIXTURE_IDS.items():
        assert ids_by_symbol[symbol] == fid, symbol


# ------------------------------------------------------------------ per-protocol parameters


def test_chainlink_feeds(feeds):
    for feed in by_protocol(feeds, "chainlink"):
        assert feed["source_kind"] == "evm" and feed["params"] == {}
        assert feed["decimals"] in (8, 18)
    eth_usd = one(feeds, protocol="chainlink", pair="ETH-USD", chain="ethereum")
    assert eth_usd["mainnet"]["address"] == "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419"
    usdc = one(feeds, protocol="chainlink", pair="USDC-USD", chain="ethereum")
    assert (usdc["heartbeat_seconds"], usdc["deviation_bps"]) == (86400, "25")


def test_api3_feeds(feeds):
    for feed in by_protocol(feeds, "api3"):
        assert feed["source_kind"] == "evm" and feed["decimals"] == 18
        assert feed["params"] == {"dapi_name": feed["pair"].replace("-", "/")}


def test_band_feeds(feeds):
    for feed in by_protocol(feeds, "band"):
        base, quote = feed["pair"].split("-")
        if feed["source_kind"] == "evm":
            assert feed["decimals"] == 18
            assert feed["params"] == {"base": base, "quote": quote}
        else:
            assert feed["source_kind"] == "http" and feed["decimals"] == 9 and quote == "USD"
            assert feed["params"] == {"symbol": base}


def test_chronicle_feeds(feeds):
    for feed in by_protocol(feeds, "chronicle"):
        assert feed["source_kind"] == "evm" and feed["decimals"] == 18
        assert feed["params"] == {"wat": feed["params"]["wat"]}
        assert re.fullmatch(r"[A-Z0-9]+/[A-Z0-9]+", feed["params"]["wat"])


def test_dia_feeds(feeds):
    for feed in by_protocol(feeds, "dia"):
        assert feed["decimals"] == 8
        base, quote = feed["pair"].split("-")
        if feed["source_kind"] == "evm":
            assert feed["params"] == {"key": f"{base}/{quote}"}
        else:
            params = feed["params"]
            assert params in ({"symbol": base},) or set(params) == {"blockchain", "address"}
            if "address" in params:
                assert re.fullmatch(r"0x[0-9a-fA-F]{40}", params["address"])
                assert feed["mainnet"]["feed_id"] == f"{params['blockchain']}/{params['address']}"
    btc = one(feeds, protocol="dia", pair="BTC-USD", source_kind="http")
    assert btc["params"] == {
        "blockchain": "Bitcoin", "address": "0x0000000000000000000000000000000000000000",
    }


def test_redstone_feeds(feeds):
    for feed in by_protocol(feeds, "redstone"):
        assert feed["decimals"] == 8
        params = feed["params"]
        if feed["source_kind"] == "evm":
            assert set(params) == {"data_feed_id"}
        else:
            assert feed["source_kind"] == "http"
            assert params["data_service_id"] == "redstone-primary-prod"
            assert feed["mainnet"]["feed_id"] in (None, params["data_feed_id"])
    push_chains = {f["chain"] for f in by_protocol(feeds, "redstone") if f["source_kind"] == "evm"}
    assert push_chains == set(CHAINS)


def test_pyth_and_switchboard_params(feeds):
    for feed in by_protocol(feeds, "pyth"):
        assert re.fullmatch(r"(Crypto|FX)\.[A-Z0-9]+/[A-Z0-9]+", feed["params"]["symbol"])
    for feed in by_protocol(feeds, "switchboard"):
        assert feed["source_kind"] == "http" and feed["chain"] is None
        assert feed["decimals"] == 18 and "feed_hash" in feed["params"]


def test_uniswap_feeds(feeds):
    uniswap = by_protocol(feeds, "uniswap-v3")
    assert uniswap
    for feed in uniswap:
        assert feed["source_kind"] == "evm" and feed["decimals"] == 18
        params = feed["params"]
        assert set(params) == {"window_seconds", "token0", "token1", "base_is_token0", "fee"}
        assert params["window_seconds"] > 0 and params["fee"] in (100, 500, 3000, 10000)
        base_token, quote_token = (
            (params["token0"], params["token1"]) if params["base_is_token0"]
            else (params["token1"], params["token0"])
        )
        base, quote = feed["pair"].split("-")
        assert WRAPPED.get(base_token["symbol"], base_token["symbol"]) == base, feed["pair"]
        assert WRAPPED.get(quote_token["symbol"], quote_token["symbol"]) == quote, feed["pair"]
    pool = one(uniswap, pair="ETH-USDC", chain="ethereum")
    assert pool["mainnet"]["address"] == "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"


# ------------------------------------------------------------------ README stays in step


def test_readme_counts_match_the_catalog(feeds):
    readme = README_PATH.read_text(encoding="utf-8")
    backed = sum(is_mainnet_backed(f) for f in feeds)
    expected = {
        "Pairs": len({f["pair"] for f in feeds}),
        "Feeds": len(feeds),
        "Mainnet-backed": backed,
        "Devnet-only": len(feeds) - backed,
    }
    for label, number in expected.items():
        assert f"| {label} | {number} |" in readme, label
    for protocol, number in Counter(f["protocol"] for f in feeds).items():
        assert f"| `{protocol}` | {number} |" in readme, protocol
