"""The node manager: locating anvil, starting and stopping nodes."""

from __future__ import annotations

import pytest

from apps.devnet import chain


def test_missing_anvil_tells_the_user_to_run_npm_install(tmp_path) -> None:
    with pytest.raises(chain.AnvilNotFoundError, match="npm install"):
        chain.anvil_path(tmp_path)


def test_anvil_path_is_platform_matched() -> None:
    try:
        path = chain.anvil_path()
    except chain.AnvilNotFoundError:
        pytest.skip("anvil is not installed")
    assert path.parent.name == "bin"
    assert path.parents[1].name.startswith("anvil-")
    assert path.is_relative_to(chain.PROJECT_ROOT / "node_modules" / "@foundry-rs")


def test_start_anvil_refuses_a_port_in_use(devnet_session) -> None:
    with pytest.raises(chain.AnvilStartError, match="in use"):
        chain.start_anvil(1, devnet_session.node.port, block_time=None)


def test_start_anvil_answers_its_chain_id_on_loopback_and_stops(devnet_session) -> None:
    node = chain.start_anvil(8453, chain.free_port(), block_time=0.5)
    try:
        assert node.url.startswith("http://127.0.0.1:")
        w3 = node.web3()
        assert w3.eth.chain_id == node.chain_id == 8453
        first = w3.eth.block_number
        deployed = chain.deploy(w3, "ERC20Stub", "USD Coin", "USDC", 6)  # waits for interval mining
        assert deployed.functions.decimals().call() == 6
        assert w3.eth.block_number > first
    finally:
        node.stop()
    assert node.process.poll() is not None


def test_snapshot_fixture_isolates_tests(devnet) -> None:
    # Runs after other tests wrote to the DIA oracle: state must be pristine.
    dia = devnet.iface("DIAOracleV2", devnet.dia.address)
    assert dia.functions.getValue("BTC/USD").call() == [0, 0]
    assert devnet.chainlink_aggregator.functions.latestRound().call() == 0
