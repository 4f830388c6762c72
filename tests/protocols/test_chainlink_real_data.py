"""The Chainlink adapter decodes real mainnet latestRoundData() return data exactly."""
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from eth_abi import encode

from apps.protocols.adapters.chainlink import (
    LATEST_ROUND_DATA,
    ROUND_DATA,
    ChainlinkAdapter,
    round_id,
    split_round_id,
)
from apps.protocols.adapters.evm import Block, CallResult
from tests.factories import FeedFactory

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures/real/chainlink_latestRoundData_mainnet_returns.json")
    .read_text()
)
SAMPLES = {sample["feed"].split(" (")[0]: sample for sample in FIXTURE["samples"]}
BLOCK = Block(18342120, datetime(2023, 10, 13, 14, tzinfo=UTC))
FETCHED = datetime(2023, 10, 13, 14, 0, 5, tzinfo=UTC)

# (feed, phase, aggregator round, price, updatedAt) — as recorded with the fixture.
EXPECTED = [
    ("ETH / USD", 6, 0x190C, Decimal("1548.81936523"), datetime(2023, 10, 13, 13, 55, 35)),
    ("BTC / USD", 5, 0x76C3, Decimal("17420.34361467"), datetime(2023, 1, 11, 14, 55, 35)),
    ("USDC / USD", 2, 0x31E, Decimal("1.00000000"), datetime(2023, 1, 11, 5, 36, 35)),
]


def decode(hex_data: str, decimals: int = 8):
    feed = FeedFactory.build(decimals=decimals, address="0x" + "00" * 20)
    result = CallResult(True, bytes.fromhex(hex_data.removeprefix("0x")))
    return ChainlinkAdapter().decode(feed, [result], BLOCK, FETCHED)


@pytest.mark.parametrize(("name", "phase", "aggregator_round", "price", "updated"), EXPECTED)
def test_real_proxy_return_data_decodes_to_the_recorded_values(name, phase, aggregator_round,
                                                                price, updated):
    obs = decode(SAMPLES[name]["proxy_return_hex"])
    assert obs.round_id == round_id(phase, aggregator_round)
    assert split_round_id(obs.round_id) == (phase, aggregator_round)
    assert obs.raw_answer == int(price.scaleb(8))
    assert obs.source_ts == updated.replace(tzinfo=UTC)
    assert obs.block_number == BLOCK.number and obs.fetched_at == FETCHED


@pytest.mark.parametrize(("name", "phase", "aggregator_round", "price", "updated"), EXPECTED)
def test_aggregator_and_proxy_layers_agree_but_for_the_phase(name, phase, aggregator_round,
                                                             price, updated):
    proxy = decode(SAMPLES[name]["proxy_return_hex"])
    aggregator = decode(SAMPLES[name]["aggregator_return_hex"])
    assert aggregator.round_id == aggregator_round
    assert (aggregator.raw_answer, aggregator.source_ts) == (proxy.raw_answer, proxy.source_ts)


def test_decoded_only_sample_round_trips_through_the_real_encoding():
    sample = FIXTURE["decoded_only"][0]
    data = encode(list(ROUND_DATA), sample["proxy_return"])
    obs = decode(data.hex())
    assert obs.round_id == 110680464442257324416 == round_id(6, 14720)
    assert obs.raw_answer == 335172810074  # 3351.72810074
    assert LATEST_ROUND_DATA.selector.hex() == "feaf968c"


def test_an_incomplete_round_is_rejected_not_stored():
    data = encode(list(ROUND_DATA), [round_id(6, 1), 3000_00000000, 0, 0, round_id(6, 1)])
    problem = decode(data.hex())
    assert problem.reason == "incomplete_round"


def test_empty_return_data_means_no_contract():
    problem = decode("0x")
    assert (problem.kind, problem.reason) == ("permanent", "no_contract")
