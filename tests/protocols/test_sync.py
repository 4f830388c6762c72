"""The sync engine against a running devnet: one tick reads every on-chain protocol in one
batch, validates, stores, quarantines and records its runs."""
from decimal import Decimal

import pytest

from apps.devnet import chain as evm
from apps.devnet.control import DevnetClient
from apps.feeds.models import Chain, PriceObservation, QuarantinedRead
from apps.protocols.adapters.chainlink import split_round_id
from apps.protocols.models import FeedReadState, SyncRun
from apps.protocols.rpc import JsonRpcClient
from apps.protocols.sync import reset_engine_state, sync_chain

ALL = {"chainlink", "redstone", "api3", "band", "chronicle", "tellor", "dia", "uniswap-v3"}


@pytest.fixture
def feeds(onchain_feeds):
    return onchain_feeds


def tick(client=None):
    return sync_chain("ethereum", client=client)


def latest(feed):
    return PriceObservation.objects.filter(feed=feed).order_by("-source_ts").first()


def test_one_tick_reads_every_onchain_protocol_in_two_http_requests(feeds, twap_ready):
    client = JsonRpcClient(twap_ready.proxies["ethereum"].url)
    runs = tick(client)
    assert {r.protocol.slug for r in runs} == ALL
    assert all((r.ok, r.failed, r.rejected) == (r.feeds_read, 0, 0) for r in runs), [
        (r.protocol.slug, r.error_class) for r in runs
    ]
    # eth_blockNumber, then one batch: one aggregate3 for all batched feeds + Chronicle's own.
    assert client.http_requests == 2
    assert client.calls == {"eth_blockNumber": 1, "eth_call": 2}
    assert PriceObservation.objects.count() == len(feeds)


def test_multicall_is_chunked(feeds, twap_ready, settings):
    settings.OP_MULTICALL_CHUNK = 3
    client = JsonRpcClient(twap_ready.proxies["ethereum"].url)
    tick(client)
    # 8 batched feeds + the block-time call = 9 calls in chunks of 3, plus Chronicle.
    assert client.calls["eth_call"] == 3 + 1
    assert PriceObservation.objects.count() == len(feeds)


def test_observations_carry_the_source_values_exactly(feeds, twap_ready, calm_devnet):
    tick()
    w3 = twap_ready.chains["ethereum"].w3
    feed = feeds["chainlink-ethereum-eth-usd"]
    proxy = w3.eth.contract(address=feed.address,
                            abi=evm.load_interface("AggregatorV3Interface"))
    round_id, answer, _, updated_at, _ = proxy.functions.latestRoundData().call()
    obs = latest(feed)
    assert (obs.raw_answer, obs.round_id, int(obs.source_ts.timestamp())) == (
        answer, round_id, updated_at)
    assert split_round_id(obs.round_id)[0] == 1  # phase 1 on a fresh proxy
    assert obs.price == Decimal(answer).scaleb(-8)
    assert obs.block_number is not None and obs.fetched_at >= obs.source_ts
    eth = calm_devnet.market.price("ETH")
    for key in ("api3-ethereum-eth-usd", "band-ethereum-eth-usd", "chronicle-ethereum-eth-usd",
                "tellor-ethereum-eth-usd", "redstone-ethereum-eth-usd",
                "uniswap-v3-ethereum-eth-usdc"):
        assert abs(latest(feeds[key]).price - eth) / eth < Decimal("0.01"), key


def test_no_new_block_means_nothing_to_do(feeds, twap_ready):
    w3 = twap_ready.chains["ethereum"].w3
    evm.rpc(w3, "evm_setIntervalMining", 0)  # the devnet's 1 s blocks must not land in between
    try:
        assert tick() is not None
        assert tick() is None
    finally:
        evm.rpc(w3, "evm_setIntervalMining", 1)


def test_garbage_is_quarantined_never_stored_and_only_once(feeds, clock, twap_ready):
    tick()
    client = DevnetClient(twap_ready.control.url)
    feed = feeds["api3-ethereum-eth-usd"]
    stored = PriceObservation.objects.filter(feed=feed).count()
    for mode, reason in [("negative", "non_positive"), ("decimals", "wrong_scale"),
                         ("jump", "absurd_jump")]:
        client.inject("garbage", feed.key, mode=mode)
        clock.step(2)
        runs = tick()
        run = next(r for r in runs if r.protocol.slug == "api3")
        assert run.rejected == 1
        assert QuarantinedRead.objects.filter(feed=feed).first().reason == reason
    assert PriceObservation.objects.filter(feed=feed).count() == stored
    quarantined = QuarantinedRead.objects.filter(feed=feed).count()
    evm.rpc(twap_ready.chains["ethereum"].w3, "evm_mine")
    tick()  # the same garbage read again: not quarantined twice
    assert QuarantinedRead.objects.filter(feed=feed).count() == quarantined == 3
    client.clear()
    clock.step(2)
    tick()
    assert PriceObservation.objects.filter(feed=feed).count() == stored + 1


def test_frozen_feed_stops_while_the_others_go_on(feeds, clock, twap_ready):
    tick()
    DevnetClient(twap_ready.control.url).inject("freeze", "chainlink-ethereum-eth-usd")
    frozen, other = feeds["chainlink-ethereum-eth-usd"], feeds["chainlink-ethereum-btc-usd"]
    before = {f: PriceObservation.objects.filter(feed=f).count() for f in (frozen, other)}
    for _ in range(2):
        clock.step(62)  # past the heartbeat
        tick()
    assert PriceObservation.objects.filter(feed=frozen).count() == before[frozen]
    assert PriceObservation.objects.filter(feed=other).count() == before[other] + 2


def test_a_feed_without_a_contract_fails_alone(feeds):
    broken = feeds["dia-ethereum-btc-usd"]
    broken.address = "0x000000000000000000000000000000000000dEaD"
    broken.save()
    runs = tick()
    dia = next(r for r in runs if r.protocol.slug == "dia")
    assert (dia.failed, dia.error_class) == (1, "no_contract")
    assert all(r.failed == 0 for r in runs if r.protocol.slug != "dia")
    state = FeedReadState.objects.get(feed=broken)
    assert (state.ok, state.reason) == (False, "no_contract")


def test_chronicle_is_read_from_the_whitelisted_reader_only(feeds, settings):
    settings.OP_CHRONICLE_READER = "0x00000000000000000000000000000000000bAD00"
    runs = tick()
    chronicle = next(r for r in runs if r.protocol.slug == "chronicle")
    assert chronicle.error_class == "not_whitelisted"


def test_failing_rpc_opens_the_breaker_which_half_opens_and_closes(feeds, twap_ready,
                                                                    settings):
    settings.OP_BREAKER_FAILURES = 2
    settings.OP_BREAKER_COOLDOWN = 3600
    settings.OP_RPC_RETRIES = 0
    client = DevnetClient(twap_ready.control.url)
    client.inject("rpc-fail", "ethereum")
    reset_engine_state()
    first, second = tick(), tick()
    assert all(r.failed == r.feeds_read and r.error_class == "http_503" for r in first)
    assert {r.breaker for r in second} == {"open"}
    client.clear()
    evm.rpc(twap_ready.chains["ethereum"].w3, "evm_mine")
    skipped = tick()
    assert {r.error_class for r in skipped} == {"breaker_open"}
    assert PriceObservation.objects.count() == 0
    settings.OP_BREAKER_COOLDOWN = 0  # the cool-down is over: one trial run goes through
    evm.rpc(twap_ready.chains["ethereum"].w3, "evm_mine")
    recovered = tick()
    assert {r.breaker for r in recovered} == {"closed"}
    assert PriceObservation.objects.count() == len(feeds)


def test_a_chain_without_an_rpc_url_is_not_configured_not_failing(feeds, settings):
    settings.OP_RPC_URLS = {"ethereum": ""}
    assert tick() is None
    assert not SyncRun.objects.exists()
    from apps.protocols.selectors import feed_configuration

    assert feed_configuration(feeds["chainlink-ethereum-eth-usd"]) == (
        "not configured: set OP_RPC_URL_ETHEREUM")


def test_runs_are_recorded_per_protocol(feeds):
    tick()
    run = SyncRun.objects.filter(protocol__slug="chainlink").get()
    assert run.chain == Chain.objects.get(slug="ethereum")
    assert (run.feeds_read, run.ok, run.new) == (2, 2, 2)
    assert run.block_number and run.duration_ms >= 0 and run.breaker == "closed"
