"""Chainlink aggregator + proxy, read through the real AggregatorV3Interface."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

ANSWER_UPDATED = "0x0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f"


def phase_round(phase: int, aggregator_round: int) -> int:
    return (phase << 64) | aggregator_round


def test_latest_round_data_carries_phase_encoded_round_id(devnet) -> None:
    feed = devnet.iface("AggregatorV3Interface", devnet.chainlink_proxy.address)
    for answer, ts in [(300_000_000_000, 1_700_000_000), (301_000_000_000, 1_700_000_600)]:
        devnet.transact(devnet.chainlink_aggregator.functions.transmit(answer, ts))

    round_id, answer, started_at, updated_at, answered_in_round = (
        feed.functions.latestRoundData().call()
    )
    assert round_id == phase_round(1, 2) == 18446744073709551618
    assert (answer, started_at, updated_at) == (301_000_000_000, 1_700_000_600, 1_700_000_600)
    assert answered_in_round == round_id
    assert feed.functions.decimals().call() == 8
    assert feed.functions.description().call() == "ETH / USD"
    assert feed.functions.version().call() == 4


def test_get_round_data_round_trips_phase_encoded_ids(devnet) -> None:
    feed = devnet.iface("AggregatorV3Interface", devnet.chainlink_proxy.address)
    for i in range(1, 4):
        devnet.transact(devnet.chainlink_aggregator.functions.transmit(i * 100, 1_000 + i))
    for i in range(1, 4):
        rid = phase_round(1, i)
        assert feed.functions.getRoundData(rid).call() == [rid, i * 100, 1_000 + i, 1_000 + i, rid]
    v2 = devnet.iface("AggregatorInterface", devnet.chainlink_proxy.address)
    assert v2.functions.latestRound().call() == phase_round(1, 3)
    assert v2.functions.getAnswer(phase_round(1, 2)).call() == 200
    assert v2.functions.getTimestamp(phase_round(1, 2)).call() == 1_002
    assert v2.functions.latestAnswer().call() == 300


def test_phase_switch_increments_phase_id_and_keeps_old_rounds_readable(devnet) -> None:
    from apps.devnet import chain

    proxy = devnet.chainlink_proxy
    feed = devnet.iface("AggregatorV3Interface", proxy.address)
    admin = devnet.iface("AggregatorProxy", proxy.address)
    devnet.transact(devnet.chainlink_aggregator.functions.transmit(111, 5_000))

    new_aggregator = chain.deploy(devnet.w3, "ChainlinkAggregator", 8, "ETH / USD")
    devnet.transact(new_aggregator.functions.transmit(222, 6_000))
    devnet.transact(admin.functions.proposeAggregator(new_aggregator.address))
    assert admin.functions.phaseId().call() == 1  # proposing alone changes nothing
    devnet.transact(admin.functions.confirmAggregator(new_aggregator.address))

    assert admin.functions.phaseId().call() == 2
    assert admin.functions.aggregator().call() == new_aggregator.address
    assert admin.functions.phaseAggregators(1).call() == devnet.chainlink_aggregator.address
    latest = feed.functions.latestRoundData().call()
    assert latest[0] == phase_round(2, 1)
    assert latest[1] == 222
    assert feed.functions.getRoundData(phase_round(1, 1)).call()[:2] == [phase_round(1, 1), 111]
    with pytest.raises(ContractLogicError):
        feed.functions.getRoundData(phase_round(3, 1)).call()  # no aggregator for phase 3


def test_only_the_owner_can_switch_phases_or_transmit(devnet) -> None:
    admin = devnet.iface("AggregatorProxy", devnet.chainlink_proxy.address)
    with pytest.raises(ContractLogicError):
        admin.functions.proposeAggregator(devnet.outsider).call({"from": devnet.outsider})
    with pytest.raises(ContractLogicError):
        devnet.chainlink_aggregator.functions.transmit(1, 1).call({"from": devnet.outsider})


def test_answer_updated_event_matches_the_real_abi(devnet) -> None:
    receipt = devnet.transact(devnet.chainlink_aggregator.functions.transmit(-42, 1_234))
    topics0 = ["0x" + log["topics"][0].hex().removeprefix("0x") for log in receipt["logs"]]
    assert ANSWER_UPDATED in topics0

    events = devnet.iface("AggregatorInterface", devnet.chainlink_aggregator.address).events
    (answer_updated,) = events.AnswerUpdated().process_receipt(receipt, errors=DISCARD)
    assert answer_updated["args"] == {"current": -42, "roundId": 1, "updatedAt": 1_234}
    (new_round,) = events.NewRound().process_receipt(receipt, errors=DISCARD)
    assert new_round["args"]["roundId"] == 1
    assert new_round["args"]["startedBy"] == devnet.owner


@pytest.mark.parametrize("answer", [0, -1, -(2**255)])
def test_zero_and_negative_answers_are_representable(devnet, answer: int) -> None:
    feed = devnet.iface("AggregatorV3Interface", devnet.chainlink_proxy.address)
    devnet.transact(devnet.chainlink_aggregator.functions.transmit(answer, 0))
    _, got, _, updated_at, _ = feed.functions.latestRoundData().call()
    assert got == answer
    assert updated_at == 0  # an "incomplete round" can be injected too


def test_no_rounds_yet_reads_as_zeros(devnet) -> None:
    feed = devnet.iface("AggregatorV3Interface", devnet.chainlink_proxy.address)
    assert feed.functions.latestRoundData().call() == [
        phase_round(1, 0),
        0,
        0,
        0,
        phase_round(1, 0),
    ]


def test_a_feed_left_alone_past_its_heartbeat_reads_as_stale(devnet) -> None:
    heartbeat = 3600
    agg = devnet.chainlink_aggregator
    devnet.transact(agg.functions.transmit(3_000_00000000, devnet.latest_timestamp()))
    proxy = devnet.iface("AggregatorV3Interface", devnet.chainlink_proxy.address)
    updated_at = proxy.functions.latestRoundData().call()[3]
    devnet.rpc("evm_increaseTime", heartbeat + 1)
    devnet.rpc("evm_mine")
    # Nothing changed on the feed; only time passed: a reader sees its age exceed the heartbeat.
    assert proxy.functions.latestRoundData().call()[3] == updated_at
    assert devnet.latest_timestamp() - updated_at > heartbeat
