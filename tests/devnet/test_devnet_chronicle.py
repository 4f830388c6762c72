"""Chronicle: whitelisted reads (toll) through the real IChronicle ABI."""

from __future__ import annotations

import pytest
from eth_abi import encode
from web3.exceptions import ContractLogicError

NOT_TOLLED = "0xd957b595"
VALUE = 3_000 * 10**18


def _poke(devnet, val: int):
    age = devnet.latest_timestamp()
    return devnet.transact(devnet.chronicle.functions.poke(val, age))


def test_non_whitelisted_reader_reverts_with_not_tolled(devnet) -> None:
    _poke(devnet, VALUE)
    oracle = devnet.iface("IChronicle", devnet.chronicle.address)
    for fn in (
        oracle.functions.read(),
        oracle.functions.readWithAge(),
        oracle.functions.tryRead(),
        oracle.functions.tryReadWithAge(),
    ):
        with pytest.raises(ContractLogicError) as exc:
            fn.call({"from": devnet.outsider})
        assert exc.value.data == NOT_TOLLED + encode(["address"], [devnet.outsider]).hex()


def test_kissed_reader_reads_value_and_age_of_last_poke(devnet) -> None:
    toll = devnet.iface("IToll", devnet.chronicle.address)
    oracle = devnet.iface("IChronicle", devnet.chronicle.address)
    devnet.transact(toll.functions.kiss(devnet.outsider))
    assert toll.functions.tolled(devnet.outsider).call() is True
    assert toll.functions.bud(devnet.outsider).call() == 1

    receipt = _poke(devnet, VALUE)
    poke_time = devnet.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    reader = {"from": devnet.outsider}
    assert oracle.functions.read().call(reader) == VALUE
    assert oracle.functions.readWithAge().call(reader) == [VALUE, poke_time]
    assert oracle.functions.tryReadWithAge().call(reader) == [True, VALUE, poke_time]
    assert oracle.functions.wat().call() == b"ETH/USD".ljust(32, b"\0")

    devnet.transact(toll.functions.diss(devnet.outsider))
    with pytest.raises(ContractLogicError):
        oracle.functions.read().call(reader)


def test_unset_or_zero_value_reads_as_invalid(devnet) -> None:
    toll = devnet.iface("IToll", devnet.chronicle.address)
    oracle = devnet.iface("IChronicle", devnet.chronicle.address)
    devnet.transact(toll.functions.kiss(devnet.owner))
    reader = {"from": devnet.owner}  # eth_call without `from` reads as address(0)
    assert oracle.functions.tryRead().call(reader) == [False, 0]
    _poke(devnet, 0)
    assert oracle.functions.tryReadWithAge().call(reader)[:2] == [False, 0]
    with pytest.raises(ContractLogicError):
        oracle.functions.read().call(reader)


def test_stale_or_future_pokes_revert_like_scribe(devnet) -> None:
    _poke(devnet, VALUE)
    stored_age = devnet.latest_timestamp()
    with pytest.raises(ContractLogicError):
        devnet.chronicle.functions.poke(VALUE, stored_age).call({"from": devnet.owner})
    with pytest.raises(ContractLogicError):
        devnet.chronicle.functions.poke(VALUE, stored_age + 3_600).call({"from": devnet.owner})


def test_only_the_owner_pokes_and_kisses(devnet) -> None:
    with pytest.raises(ContractLogicError):
        devnet.chronicle.functions.kiss(devnet.outsider).call({"from": devnet.outsider})
    with pytest.raises(ContractLogicError):
        devnet.chronicle.functions.poke(1, 1).call({"from": devnet.outsider})
