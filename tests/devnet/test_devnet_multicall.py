"""Multicall3 at its canonical address, called through the real Multicall3 ABI."""

from __future__ import annotations

import pytest
from eth_abi import decode, encode
from web3.exceptions import ContractLogicError

from apps.devnet import chain


def _calldata(contract, fn_name: str, *args) -> bytes:
    return bytes.fromhex(contract.encode_abi(fn_name, args=list(args))[2:])


def test_multicall3_code_sits_at_the_canonical_address(devnet) -> None:
    assert chain.MULTICALL3_ADDRESS == "0xcA11bde05977b3631167028862bE2a173976CA11"
    code = devnet.w3.eth.get_code(chain.MULTICALL3_ADDRESS)
    assert len(code) > 0
    multicall = devnet.iface("Multicall3", chain.MULTICALL3_ADDRESS)
    latest = devnet.w3.eth.get_block("latest")
    assert multicall.functions.getBlockNumber().call(block_identifier="latest") == latest["number"]
    assert (
        multicall.functions.getCurrentBlockTimestamp().call(block_identifier="latest")
        == (latest["timestamp"])
    )
    assert multicall.functions.getChainId().call() == 1


def test_aggregate3_returns_other_results_when_one_call_fails(devnet) -> None:
    devnet.transact(devnet.chainlink_aggregator.functions.transmit(300_000_000_000, 1_700_000_000))
    devnet.transact(devnet.dia.functions.setValue("BTC/USD", 6_000_000_000_000, 1_700_000_000))
    devnet.transact(devnet.chronicle.functions.poke(10**18, devnet.latest_timestamp()))
    feed = devnet.iface("AggregatorV3Interface", devnet.chainlink_proxy.address)
    dia = devnet.iface("DIAOracleV2", devnet.dia.address)
    chronicle = devnet.iface("IChronicle", devnet.chronicle.address)
    multicall = devnet.iface("Multicall3", chain.MULTICALL3_ADDRESS)

    calls = [
        (feed.address, True, _calldata(feed, "latestRoundData")),
        # Multicall3 is the reader here and is not kissed: this call reverts.
        (chronicle.address, True, _calldata(chronicle, "read")),
        (dia.address, True, _calldata(dia, "getValue", "BTC/USD")),
    ]
    results = multicall.functions.aggregate3(calls).call()
    assert [ok for ok, _ in results] == [True, False, True]
    round_data = decode(["uint80", "int256", "uint256", "uint256", "uint80"], results[0][1])
    assert round_data[1] == 300_000_000_000
    assert results[1][1] == bytes.fromhex("d957b595") + encode(
        ["address"], [chain.MULTICALL3_ADDRESS]
    )
    assert decode(["uint128", "uint128"], results[2][1]) == (6_000_000_000_000, 1_700_000_000)

    # Kissing the Multicall3 address makes batched Chronicle reads work.
    devnet.transact(devnet.chronicle.functions.kiss(chain.MULTICALL3_ADDRESS))
    ok, data = multicall.functions.aggregate3(calls[1:2]).call()[0]
    assert ok and decode(["uint256"], data) == (10**18,)


def test_aggregate3_reverts_when_a_required_call_fails(devnet) -> None:
    chronicle = devnet.iface("IChronicle", devnet.chronicle.address)
    multicall = devnet.iface("Multicall3", chain.MULTICALL3_ADDRESS)
    with pytest.raises(ContractLogicError, match="Multicall3: call failed"):
        multicall.functions.aggregate3(
            [(chronicle.address, False, _calldata(chronicle, "read"))]
        ).call()


def test_aggregate3_reports_oversized_return_data_as_failure(devnet) -> None:
    # observe() with n points answers 128 + 64 n bytes; the devnet Multicall3
    # returns at most 4095 bytes per call, so 61 points fit and 62 do not.
    pool = devnet.iface("IUniswapV3Pool", devnet.pool.address)
    multicall = devnet.iface("Multicall3", chain.MULTICALL3_ADDRESS)
    fits = _calldata(pool, "observe", [0] * 61)
    too_big = _calldata(pool, "observe", [0] * 62)
    results = multicall.functions.aggregate3(
        [(pool.address, True, fits), (pool.address, True, too_big)]
    ).call()
    assert [ok for ok, _ in results] == [True, False]
    assert len(results[0][1]) == 128 + 64 * 61
