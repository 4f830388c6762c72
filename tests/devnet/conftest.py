"""One anvil node per test session with every devnet contract deployed.

Each test gets the ``devnet`` fixture inside an evm_snapshot / evm_revert pair,
so tests may write freely without seeing each other's state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from apps.devnet import chain

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHAIN_ID = 1
ETH_USD_WAT = b"ETH/USD".ljust(32, b"\0")
INITIAL_TICK = 200_000
POOL_CARDINALITY = 64
POOL_LIQUIDITY = 10**18


@dataclass
class Devnet:
    node: chain.AnvilNode
    w3: Any  # web3.Web3
    owner: str
    outsider: str
    chainlink_aggregator: Any
    chainlink_proxy: Any
    api3: Any
    band: Any
    chronicle: Any
    tellor: Any
    redstone: Any
    usdc: Any
    weth: Any
    pool: Any
    dia: Any
    multicall: Any

    def iface(self, interface: str, address: str) -> Any:
        """Bind a deployed contract to a REAL protocol interface ABI."""
        return self.w3.eth.contract(address=address, abi=chain.load_interface(interface))

    def rpc(self, method: str, *params: Any) -> Any:
        return chain.rpc(self.w3, method, *params)

    def transact(self, fn: Any, sender: str | None = None) -> Any:
        tx_hash = fn.transact({"from": sender or self.owner})
        return self.w3.eth.wait_for_transaction_receipt(tx_hash)

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def mine_at(self, timestamp: int) -> None:
        """Mine an empty block at an exact timestamp."""
        self.rpc("evm_mine", timestamp)


def _deploy_suite(node: chain.AnvilNode) -> Devnet:
    w3 = node.web3()
    owner, outsider = w3.eth.accounts[0], w3.eth.accounts[1]
    aggregator = chain.deploy(w3, "ChainlinkAggregator", 8, "ETH / USD")
    usdc = chain.deploy(w3, "ERC20Stub", "USD Coin", "USDC", 6)
    weth = chain.deploy(w3, "ERC20Stub", "Wrapped Ether", "WETH", 18)
    return Devnet(
        node=node,
        w3=w3,
        owner=owner,
        outsider=outsider,
        chainlink_aggregator=aggregator,
        chainlink_proxy=chain.deploy(w3, "ChainlinkProxy", aggregator.address),
        api3=chain.deploy(w3, "Api3ReaderProxy", ETH_USD_WAT),
        band=chain.deploy(w3, "BandStdReference"),
        chronicle=chain.deploy(w3, "ChronicleScribe", ETH_USD_WAT),
        tellor=chain.deploy(w3, "TellorOracle"),
        redstone=chain.deploy(
            w3, "RedStonePriceFeed", b"ETH".ljust(32, b"\0"), "Redstone Price Feed"
        ),
        usdc=usdc,
        weth=weth,
        pool=chain.deploy(
            w3,
            "UniswapV3Pool",
            usdc.address,
            weth.address,
            500,
            10,
            INITIAL_TICK,
            POOL_LIQUIDITY,
            POOL_CARDINALITY,
        ),
        dia=chain.deploy(w3, "DIAOracleV2"),
        multicall=chain.install_multicall3(w3),
    )


def require_anvil() -> None:
    """Skip without the anvil binary on a laptop; fail under CI=true."""
    try:
        chain.anvil_path()
    except chain.AnvilNotFoundError as exc:
        if IN_CI:
            pytest.fail(f"CI=true and anvil is missing: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def devnet_session() -> Iterator[Devnet]:
    require_anvil()
    node = chain.start_anvil(CHAIN_ID, chain.free_port(), block_time=None)
    try:
        yield _deploy_suite(node)
    finally:
        node.stop()


@pytest.fixture
def devnet(devnet_session: Devnet) -> Iterator[Devnet]:
    snapshot = devnet_session.rpc("evm_snapshot")
    try:
        yield devnet_session
    finally:
        devnet_session.rpc("evm_revert", snapshot)
