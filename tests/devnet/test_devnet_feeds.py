"""API3, Band, DIA, RedStone, Tellor and the token stubs, each read through its
real interface ABI."""

from __future__ import annotations

import pytest
from eth_abi import decode, encode
from eth_utils import keccak
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD


def _block_time(devnet, receipt) -> int:
    return int(devnet.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


# ---- API3 ----


def test_api3_read_returns_int224_value_and_uint32_timestamp(devnet) -> None:
    proxy = devnet.iface("IApi3ReaderProxy", devnet.api3.address)
    devnet.transact(devnet.api3.functions.setValue(3_000 * 10**18, 1_700_000_000))
    assert proxy.functions.read().call() == [3_000 * 10**18, 1_700_000_000]

    chainlink_view = devnet.iface("AggregatorV3Interface", devnet.api3.address)
    assert chainlink_view.functions.decimals().call() == 18
    assert chainlink_view.functions.version().call() == 4913
    assert chainlink_view.functions.latestRoundData().call() == [
        0,
        3_000 * 10**18,
        1_700_000_000,
        1_700_000_000,
        0,
    ]


def test_api3_accepts_negative_values_and_reverts_until_initialized(devnet) -> None:
    proxy = devnet.iface("IApi3ReaderProxy", devnet.api3.address)
    with pytest.raises(ContractLogicError) as exc:
        proxy.functions.read().call()
    assert exc.value.data == "0x" + keccak(text="DataFeedIsNotInitialized()")[:4].hex()
    devnet.transact(devnet.api3.functions.setValue(-(2**223), 1))
    assert proxy.functions.read().call() == [-(2**223), 1]


# ---- Band ----


def test_band_reference_data_is_base_over_quote_times_1e18(devnet) -> None:
    ref = devnet.iface("IStdReference", devnet.band.address)
    devnet.transact(
        devnet.band.functions.relay(
            ["ETH", "BTC"], [3_000 * 10**9, 60_000 * 10**9], [1_700_000_000, 1_700_000_100]
        )
    )
    eth_usd = ref.functions.getReferenceData("ETH", "USD").call(block_identifier="latest")
    assert eth_usd[:2] == (3_000 * 10**18, 1_700_000_000)
    assert eth_usd[2] == devnet.latest_timestamp()  # USD is always "now"
    assert ref.functions.getReferenceData("BTC", "ETH").call() == (
        20 * 10**18,
        1_700_000_100,
        1_700_000_000,
    )
    bulk = ref.functions.getReferenceDataBulk(["BTC", "ETH"], ["ETH", "BTC"]).call()
    assert [r[0] for r in bulk] == [20 * 10**18, 5 * 10**16]


def test_band_unknown_symbol_and_zero_quote_rate_revert(devnet) -> None:
    ref = devnet.iface("IStdReference", devnet.band.address)
    with pytest.raises(ContractLogicError, match="REF_DATA_NOT_AVAILABLE"):
        ref.functions.getReferenceData("DOGE", "USD").call()
    devnet.transact(devnet.band.functions.relay(["ZERO"], [0], [1_700_000_000]))
    assert ref.functions.getReferenceData("ZERO", "USD").call()[0] == 0
    with pytest.raises(ContractLogicError):
        ref.functions.getReferenceData("USD", "ZERO").call()


# ---- DIA ----


def test_dia_get_value_and_oracle_update_event(devnet) -> None:
    oracle = devnet.iface("DIAOracleV2", devnet.dia.address)
    receipt = devnet.transact(
        devnet.dia.functions.setValue("BTC/USD", 6_000_000_000_000, 1_700_000_000)
    )
    assert oracle.functions.getValue("BTC/USD").call() == [6_000_000_000_000, 1_700_000_000]
    assert oracle.functions.values("BTC/USD").call() == (6_000_000_000_000 << 128) + 1_700_000_000
    (event,) = oracle.events.OracleUpdate().process_receipt(receipt, errors=DISCARD)
    assert event["args"] == {
        "key": "BTC/USD",
        "value": 6_000_000_000_000,
        "timestamp": 1_700_000_000,
    }
    assert oracle.functions.getValue("ETH/USD").call() == [0, 0]


def test_dia_accepts_zero_value_and_rejects_other_writers(devnet) -> None:
    oracle = devnet.iface("DIAOracleV2", devnet.dia.address)
    devnet.transact(devnet.dia.functions.setValue("BTC/USD", 0, 0))
    assert oracle.functions.getValue("BTC/USD").call() == [0, 0]
    with pytest.raises(ContractLogicError):
        oracle.functions.setValue("BTC/USD", 1, 1).call({"from": devnet.outsider})


# ---- RedStone ----


def test_redstone_push_feed_is_chainlink_compatible_with_8_decimals(devnet) -> None:
    feed = devnet.iface("RedstonePriceFeed", devnet.redstone.address)
    receipt = devnet.transact(devnet.redstone.functions.setValue(3_000 * 10**8))
    updated = _block_time(devnet, receipt)
    assert feed.functions.latestRoundData().call() == [1, 3_000 * 10**8, updated, updated, 1]
    assert feed.functions.latestAnswer().call() == 3_000 * 10**8
    assert feed.functions.decimals().call() == 8
    assert feed.functions.version().call() == 1
    assert feed.functions.description().call() == "Redstone Price Feed"
    assert feed.functions.getDataFeedId().call() == b"ETH".ljust(32, b"\0")

    devnet.transact(devnet.redstone.functions.setValue(-1))
    assert feed.functions.latestRoundData().call()[:2] == [2, -1]
    assert feed.functions.getRoundData(1).call()[1] == 3_000 * 10**8


# ---- Tellor ----

ETH_USD_QUERY_ID = bytes.fromhex("83a7f3d48786ac2667503a61e8c415438ed2922eb86a2906e4ee66d9a2ce4992")


def test_tellor_get_data_before_returns_last_value_strictly_before(devnet) -> None:
    tellor = devnet.iface("UsingTellor", devnet.tellor.address)
    reports = [(1_700_000_000, 2_990), (1_700_000_600, 3_000), (1_700_001_200, 3_010)]
    for ts, price in reports:
        value = encode(["uint256"], [price * 10**18])
        devnet.transact(devnet.tellor.functions.submitValue(ETH_USD_QUERY_ID, value, ts))

    found, value, ts = tellor.functions.getDataBefore(ETH_USD_QUERY_ID, 1_700_000_600).call()
    assert (found, ts) == (True, 1_700_000_000)
    assert decode(["uint256"], value) == (2_990 * 10**18,)
    found, value, ts = tellor.functions.getDataBefore(ETH_USD_QUERY_ID, 1_700_000_601).call()
    assert (found, ts, decode(["uint256"], value)) == (True, 1_700_000_600, (3_000 * 10**18,))
    assert tellor.functions.getDataBefore(ETH_USD_QUERY_ID, 2**64).call()[2] == 1_700_001_200
    assert tellor.functions.getDataBefore(ETH_USD_QUERY_ID, 1_700_000_000).call() == [False, b"", 0]
    assert tellor.functions.getDataBefore(b"\x01" * 32, 2**64).call() == [False, b"", 0]
    assert tellor.functions.getNewValueCountbyQueryId(ETH_USD_QUERY_ID).call() == 3
    assert tellor.functions.getIndexForDataBefore(ETH_USD_QUERY_ID, 1_700_001_200).call() == [
        True,
        1,
    ]


def test_tellor_history_binary_search_over_many_reports(devnet) -> None:
    tellor = devnet.iface("UsingTellor", devnet.tellor.address)
    times = [1_000 + 7 * i for i in range(40)]
    for i, ts in enumerate(times):
        devnet.transact(
            devnet.tellor.functions.submitValue(ETH_USD_QUERY_ID, encode(["uint256"], [i]), ts)
        )
    for query in (1_001, 1_007, 1_008, 1_140, times[-1], times[-1] + 1):
        expected = max(t for t in times if t < query)
        found, value, ts = tellor.functions.getDataBefore(ETH_USD_QUERY_ID, query).call()
        assert (found, ts) == (True, expected)
        assert decode(["uint256"], value) == (times.index(expected),)


def test_tellor_accepts_garbage_values_but_not_out_of_order_reports(devnet) -> None:
    tellor = devnet.iface("UsingTellor", devnet.tellor.address)
    devnet.transact(devnet.tellor.functions.submitValue(ETH_USD_QUERY_ID, b"", 10))
    assert tellor.functions.getDataBefore(ETH_USD_QUERY_ID, 11).call() == [True, b"", 10]
    with pytest.raises(ContractLogicError, match="timestamp must increase"):
        devnet.tellor.functions.submitValue(ETH_USD_QUERY_ID, b"", 10).call({"from": devnet.owner})


# ---- tokens ----


@pytest.mark.parametrize(
    ("token", "symbol", "decimals"), [("usdc", "USDC", 6), ("weth", "WETH", 18)]
)
def test_token_stubs_answer_erc20_metadata(devnet, token: str, symbol: str, decimals: int) -> None:
    erc20 = devnet.iface("IERC20Metadata", getattr(devnet, token).address)
    assert erc20.functions.symbol().call() == symbol
    assert erc20.functions.decimals().call() == decimals
