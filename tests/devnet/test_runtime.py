"""The running devnet: every on-chain protocol publishes through its real interface, the
push rules drive publications, and every fault is visible on-chain (or at the RPC) and clears.

One devnet for the module; tests drive `tick()` with their own clock and mine blocks
themselves, so nothing here waits on wall-clock timers.
"""
import json
import time
from decimal import Decimal
from urllib import request as urlrequest
from urllib.error import HTTPError

import pytest
from django.urls import reverse
from web3 import Web3
from web3.exceptions import ContractCustomError

from apps.devnet import chain as evm
from apps.devnet.control import DevnetClient
from apps.devnet.faults import FaultError
from tests.devnet_fixtures import FEEDS, READER


@pytest.fixture
def devnet(calm_devnet):
    return calm_devnet


@pytest.fixture
def reader(devnet):
    """The platform's view: the public RPC (through the proxy), real interface ABIs."""
    w3 = Web3(Web3.HTTPProvider(devnet.proxies["ethereum"].url))

    def contract(key: str, interface: str):
        feed = next(f for f in devnet.feeds if f.key == key)
        return w3.eth.contract(address=feed.address, abi=evm.load_interface(interface))

    contract.w3 = w3
    return contract


def market(devnet, base="ETH", quote="USD") -> Decimal:
    return devnet.market.pair_price(base, quote)


def close(value: Decimal, expected: Decimal, bps: int = 100) -> bool:
    return abs(value - expected) / expected * 10_000 < bps


def test_every_protocol_publishes_the_market_through_its_real_interface(devnet, clock, reader):
    clock.step(0)
    eth, btc = market(devnet), market(devnet, "BTC")
    _, answer, _, updated_at, _ = reader("chainlink-ethereum-eth-usd",
                                         "AggregatorV3Interface").functions.latestRoundData().call()
    assert close(Decimal(answer).scaleb(-8), eth)
    assert updated_at > 0
    _, answer, *_ = reader("redstone-ethereum-eth-usd",
                           "RedstonePriceFeed").functions.latestRoundData().call()
    assert close(Decimal(answer).scaleb(-8), eth)
    value, timestamp = reader("api3-ethereum-eth-usd", "IApi3ReaderProxy").functions.read().call()
    assert close(Decimal(value).scaleb(-18), eth) and timestamp > 0
    rate, base_ts, quote_ts = reader("band-ethereum-eth-usd", "IStdReference").functions \
        .getReferenceData("ETH", "USD").call()
    assert close(Decimal(rate).scaleb(-18), eth) and base_ts > 0 and quote_ts > 0
    scribe = reader("chronicle-ethereum-eth-usd", "IChronicle")
    value, age = scribe.functions.readWithAge().call({"from": Web3.to_checksum_address(READER)})
    assert close(Decimal(value).scaleb(-18), eth)
    assert age >= updated_at - 5  # the unix time of the last poke, not a duration
    with pytest.raises(ContractCustomError, match="0xd957b595"):  # NotTolled, as on mainnet
        scribe.functions.read().call({"from": reader.w3.eth.accounts[5]})
    tellor = next(f for f in devnet.feeds if f.protocol == "tellor")
    assert tellor.feed_id == "0x83a7f3d48786ac2667503a61e8c415438ed2922eb86a2906e4ee66d9a2ce4992"
    found, reported, _ = reader(tellor.key, "UsingTellor").functions.getDataBefore(
        bytes.fromhex(tellor.feed_id[2:]), 2**40
    ).call()
    assert found and close(Decimal(int.from_bytes(reported, "big")).scaleb(-18), eth)
    value, timestamp = reader("dia-ethereum-btc-usd", "DIAOracleV2").functions \
        .getValue("BTC/USD").call()
    assert close(Decimal(value).scaleb(-8), btc) and timestamp > 0
    slot0 = reader("uniswap-v3-ethereum-eth-usdc", "IUniswapV3Pool").functions.slot0().call()
    price = Decimal(10) ** 12 / Decimal("1.0001") ** slot0[1]  # WETH in USDC at the tick
    assert close(price, market(devnet, "ETH", "USDC"), bps=200)


def test_push_feed_publishes_on_heartbeat_or_deviation_only(devnet, clock):
    feed = next(f for f in devnet.feeds if f.key == "chainlink-ethereum-eth-usd")
    eth = devnet.market.assets["ETH"]
    start = eth.price
    clock.step(62)
    before = feed.published
    clock.step(2)  # the market has not moved: nothing to say
    assert feed.published == before
    # Chainlink observes with a lag: a move shows in the tick after the one that made it.
    eth.price = start * Decimal("1.01")  # +1 %, beyond the 50 bps threshold
    clock.step(2)
    clock.step(2)
    assert feed.published == before + 1
    eth.price = start * Decimal("1.011")  # 0.1 % further: below the threshold
    clock.step(2)
    clock.step(2)
    assert feed.published == before + 1
    clock.step(58)  # 62 s since the last publication: the heartbeat expired
    assert feed.published == before + 2
    eth.price = start


def round_id(reader, key):
    return reader(key, "AggregatorV3Interface").functions.latestRoundData().call()[0]


def test_frozen_feed_stops_while_the_others_go_on_and_resumes_when_cleared(devnet, clock, reader):
    client = DevnetClient(devnet.control.url)
    fault = client.inject("freeze", "chainlink-ethereum-eth-usd")
    frozen, other = round_id(reader, "chainlink-ethereum-eth-usd"), round_id(
        reader, "chainlink-ethereum-btc-usd"
    )
    for _ in range(3):
        clock.step(62)
    assert round_id(reader, "chainlink-ethereum-eth-usd") == frozen
    assert round_id(reader, "chainlink-ethereum-btc-usd") >= other + 3
    client.clear(fault["id"])
    clock.step(2)
    assert round_id(reader, "chainlink-ethereum-eth-usd") == frozen + 1


def test_paused_protocol_stops_everywhere(devnet, clock, reader):
    DevnetClient(devnet.control.url).inject("pause", "chainlink")
    eth, btc = round_id(reader, "chainlink-ethereum-eth-usd"), round_id(
        reader, "chainlink-ethereum-btc-usd"
    )
    clock.step(120)
    assert (round_id(reader, "chainlink-ethereum-eth-usd"),
            round_id(reader, "chainlink-ethereum-btc-usd")) == (eth, btc)


@pytest.mark.parametrize(("mode", "check"), [
    ("zero", lambda answer, fair: answer == 0),
    ("negative", lambda answer, fair: answer < 0 and close(Decimal(-answer), fair)),
    ("jump", lambda answer, fair: close(Decimal(answer), fair * 20)),
    ("decimals", lambda answer, fair: close(Decimal(answer), fair * 10**10)),
])
def test_garbage_is_published_on_chain_and_clears(devnet, clock, reader, mode, check):
    key = "redstone-ethereum-eth-usd"
    client = DevnetClient(devnet.control.url)
    client.inject("garbage", key, mode=mode)
    clock.step(2)
    latest = reader(key, "RedstonePriceFeed").functions.latestRoundData
    fair = market(devnet).scaleb(8)
    assert check(latest().call()[1], fair)
    client.clear()
    clock.step(2)
    assert close(Decimal(latest().call()[1]), market(devnet).scaleb(8))


def test_outlier_and_move_shift_one_feed_or_the_whole_market(devnet, clock, reader):
    client = DevnetClient(devnet.control.url)
    client.inject("outlier", "api3-ethereum-eth-usd", percent="25")
    clock.step(2)
    value, _ = reader("api3-ethereum-eth-usd", "IApi3ReaderProxy").functions.read().call()
    assert close(Decimal(value).scaleb(-18), market(devnet) * Decimal("1.25"))
    client.clear()
    before = market(devnet)
    client.inject("move", "ETH", percent="-10")
    clock.step(2)
    assert close(market(devnet), before * Decimal("0.9"), bps=50)
    _, answer, *_ = reader("chainlink-ethereum-eth-usd",
                           "AggregatorV3Interface").functions.latestRoundData().call()
    assert close(Decimal(answer).scaleb(-8), before * Decimal("0.9"))


def test_depeg_moves_a_stablecoin_and_the_pairs_quoted_in_it(devnet, clock):
    client = DevnetClient(devnet.control.url)
    eth_in_usdc = market(devnet, "ETH", "USDC")
    client.inject("depeg", "USDC", price="0.9")
    clock.step(2)
    assert devnet.market.price("USDC") == Decimal("0.9")
    assert close(market(devnet, "ETH", "USDC"), eth_in_usdc / Decimal("0.9"), bps=50)


def test_rpc_faults_hit_the_public_rpc_only_and_clear(devnet, clock, reader):
    client = DevnetClient(devnet.control.url)
    client.inject("rpc-fail", "ethereum", rate="1")
    with pytest.raises(Exception, match="503"):
        reader.w3.eth.block_number  # noqa: B018 (the read is the test)
    assert clock.step(62) > 0  # the devnet's own writes still land
    client.clear()
    client.inject("rpc-slow", "ethereum", ms="300")
    started = time.monotonic()
    reader.w3.eth.block_number  # noqa: B018
    assert time.monotonic() - started >= 0.3
    client.clear()


def test_control_api_answers_bad_requests_with_json_errors(devnet):
    client = DevnetClient(devnet.control.url)
    with pytest.raises(FaultError, match="unknown fault"):
        client.inject("meltdown", "ETH")
    with pytest.raises(FaultError, match="not a known one"):
        client.inject("freeze", "no-such-feed")
    with pytest.raises(FaultError, match="between 0 and 1"):
        client.inject("rpc-fail", "ethereum", rate="2")
    with pytest.raises(FaultError, match="no active fault"):
        client.clear(999)
    url = devnet.control.url + "/faults"
    bad = urlrequest.Request(url, data=b"{not json", method="POST")  # noqa: S310 (loopback)
    with pytest.raises(HTTPError) as raised:
        urlrequest.urlopen(bad)  # noqa: S310
    assert raised.value.code == 400
    assert "error" in json.loads(raised.value.read())
    status = client.status()
    assert status["label"] == "DEVNET — simulated market"
    assert {f["key"] for f in status["feeds"]} == {f.key for f in FEEDS}


def test_staff_page_shows_the_devnet_and_injects_and_clears_faults(devnet, clock, client,
                                                                    admin_user, settings):
    settings.OP_DEVNET_CONTROL_URL = devnet.control.url
    client.force_login(admin_user)
    page = client.get(reverse("devnet"))
    assert page.status_code == 200
    assert b"simulated market" in page.content
    assert b"chainlink-ethereum-eth-usd" in page.content
    client.post(reverse("devnet_inject"),
                {"kind": "freeze", "target": "chainlink-ethereum-eth-usd"})
    assert [(f.kind, f.target) for f in devnet.faults.active()] == [
        ("freeze", "chainlink-ethereum-eth-usd")
    ]
    response = client.post(reverse("devnet_inject"), {"kind": "freeze", "target": "nope"},
                           follow=True)
    assert b"Fault not injected" in response.content
    client.post(reverse("devnet_clear"))
    assert devnet.faults.active() == []


def test_devnet_page_is_for_staff_only(client, django_user_model, db):
    user = django_user_model.objects.create_user("trader@example.com", "pw")
    client.force_login(user)
    response = client.get(reverse("devnet"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_devnet_page_says_so_when_the_devnet_is_not_running(client, admin_user, settings):
    settings.OP_DEVNET_CONTROL_URL = "http://127.0.0.1:9"  # nothing listens there
    client.force_login(admin_user)
    response = client.get(reverse("devnet"))
    assert b"does not answer" in response.content
