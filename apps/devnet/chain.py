"""Local EVM nodes for the devnet: start anvil, deploy the project's contracts.

No Django imports here: the devnet command, the market model and the tests all
use this module, and reading artifacts must work without the Vyper compiler.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from apps.common.processes import die_with_parent

DEVNET_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = DEVNET_DIR.parents[1]
ARTIFACTS_DIR = DEVNET_DIR / "artifacts"
INTERFACES_DIR = DEVNET_DIR / "interfaces"

MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"
LOOPBACK = "127.0.0.1"

# npm's @foundry-rs/anvil installs one optional package per platform.
_NPM_OS = {"linux": "linux", "darwin": "darwin", "win32": "win32"}
_NPM_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class AnvilNotFoundError(FileNotFoundError):
    """The anvil binary from node_modules is missing."""


class AnvilStartError(RuntimeError):
    """anvil did not come up (port taken, crash, timeout)."""


class RPCError(RuntimeError):
    """A JSON-RPC call answered with an error."""


# ---- artifacts and interfaces (no compiler needed) ----


def load_artifact(name: str) -> dict[str, Any]:
    """The committed build of ``contracts/<name>.vy``: contract, abi, bytecode, ..."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no artifact {path}; run `make contracts`")
    artifact: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return artifact


def load_interface(name: str) -> list[dict[str, Any]]:
    """ABI of a real protocol interface from ``interfaces/<name>.json``."""
    path = INTERFACES_DIR / f"{name}.json"
    abi: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["abi"]
    return abi


# ---- the anvil node ----


def anvil_path(project_root: Path = PROJECT_ROOT) -> Path:
    """Locate anvil under node_modules for this OS and CPU."""
    os_name = _NPM_OS.get(sys.platform, sys.platform)
    arch = _NPM_ARCH.get(platform.machine().lower(), platform.machine().lower())
    exe = "anvil.exe" if os_name == "win32" else "anvil"
    package = f"anvil-{os_name}-{arch}"
    path = project_root / "node_modules" / "@foundry-rs" / package / "bin" / exe
    if not path.is_file():
        raise AnvilNotFoundError(
            f"anvil not found at {path}. Run `npm install` in {project_root} "
            f"(it installs @foundry-rs/anvil and the {package} binary)."
        )
    return path


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Ignore TIME_WAIT leftovers of a node just stopped; a live listener still fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


@dataclass
class AnvilNode:
    """A running anvil process listening on loopback."""

    url: str
    chain_id: int
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    log: IO[bytes] = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def log_tail(self, limit: int = 2000) -> str:
        # pread: anvil shares this file's offset, so seeking would misplace its writes.
        fd = self.log.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        return os.pread(fd, size - start, start).decode("utf-8", "replace")

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 10}))

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _chain_id_at(url: str) -> int | None:
    provider = Web3.HTTPProvider(url, request_kwargs={"timeout": 1})
    try:
        response = provider.make_request("eth_chainId", [])
    except Exception:  # connection refused while anvil boots
        return None
    result = response.get("result")
    return int(result, 16) if isinstance(result, str) else None


def start_anvil(
    chain_id: int,
    port: int,
    *,
    block_time: float | None,
    timeout: float = 15.0,
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> AnvilNode:
    """Start anvil on 127.0.0.1:port and wait until it answers eth_chainId.

    ``block_time=None`` mines one block per transaction (automine); a number
    mines on that interval. Accounts are anvil's default funded dev accounts
    (mnemonic "test test ... junk"). With ``log_path`` anvil's full log is
    appended there; otherwise it runs ``--quiet`` and only errors are kept.
    """
    binary = anvil_path()
    if not _port_is_free(port):
        raise AnvilStartError(f"port {port} on {LOOPBACK} is already in use")
    cmd = [
        str(binary),
        "--host", LOOPBACK,
        "--port", str(port),
        "--chain-id", str(chain_id),
    ]  # fmt: skip
    if block_time is not None:
        cmd += ["--block-time", f"{block_time:g}"]
    if log_path is None:
        cmd.append("--quiet")  # a long-running node would otherwise log every request
    cmd += list(extra_args)
    # A file, not a pipe: nobody drains anvil's output and a full pipe blocks it.
    # Closed by AnvilNode.stop().
    log = (
        tempfile.TemporaryFile(prefix=f"anvil-{chain_id}-")  # noqa: SIM115
        if log_path is None
        else log_path.open("a+b")
    )
    process = subprocess.Popen(  # noqa: S603
        cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
    )
    node = AnvilNode(
        url=f"http://{LOOPBACK}:{port}", chain_id=chain_id, port=port, process=process, log=log
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = node.log_tail()
            node.stop()
            raise AnvilStartError(f"anvil exited with {process.returncode}:\n{tail}")
        answered = _chain_id_at(node.url)
        if answered is not None:
            if answered != chain_id:
                node.stop()
                raise AnvilStartError(f"{node.url} answered chain id {answered}, not {chain_id}")
            return node
        time.sleep(0.05)
    tail = node.log_tail()
    node.stop()
    raise AnvilStartError(f"anvil did not answer on {node.url} within {timeout}s:\n{tail}")


# ---- JSON-RPC and deployment helpers ----


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """Raw JSON-RPC call (anvil_*, evm_*); raises RPCError on an error reply."""
    response = w3.provider.make_request(RPCEndpoint(method), list(params))
    if response.get("error"):
        raise RPCError(f"{method}: {response['error']}")
    return response.get("result")


def dev_account(w3: Web3) -> str:
    """The sender for devnet writes: web3's default account, else anvil's first."""
    default = w3.eth.default_account
    if isinstance(default, str):
        return default
    account: str = w3.eth.accounts[0]
    return account


def deploy(w3: Web3, artifact_name: str, *args: Any, sender: str | None = None) -> Contract:
    """Deploy a committed artifact from a funded, unlocked anvil account."""
    artifact = load_artifact(artifact_name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor(*args).transact({"from": sender or dev_account(w3)})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    if receipt["status"] != 1:
        raise RPCError(f"deploying {artifact_name} reverted (tx {tx_hash.to_0x_hex()})")
    address = receipt["contractAddress"]
    if address is None:
        raise RPCError(f"deploying {artifact_name} created no contract (tx {tx_hash.to_0x_hex()})")
    return w3.eth.contract(address=address, abi=artifact["abi"])


def install_multicall3(w3: Web3) -> Contract:
    """Put Multicall3 at its canonical address, where clients expect it."""
    deployed = deploy(w3, "Multicall3")
    code = w3.eth.get_code(deployed.address)
    rpc(w3, "anvil_setCode", MULTICALL3_ADDRESS, "0x" + bytes(code).hex())
    return w3.eth.contract(address=Web3.to_checksum_address(MULTICALL3_ADDRESS),
                           abi=load_artifact("Multicall3")["abi"])
