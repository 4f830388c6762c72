"""Processes and a devnet for the end-to-end benchmarks (`ws_latency`, `alert_latency`).

Each benchmark runs the production processes (Celery worker and beat, uvicorn, …) as children
against its scratch database: `spawn` starts one in a process group of its own and registers
its stop with the benchmark's ExitStack, so nothing outlives the run however it ends;
`start_devnet` starts the devnet's chains (market loop off, off-chain simulators off) on free
ports. The rest are the small waits, labels and statistics both benchmarks need.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from dataclasses import replace
from importlib.metadata import version as installed
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from apps.common.processes import die_with_parent
from apps.devnet import chain as evm
from apps.devnet.config import devnet_config
from apps.devnet.runtime import ChainConfig, Devnet
from benchmarks.harness import Context

START_TIMEOUT = 90.0  # seconds a start-up wait gives a process before giving up


def start_devnet(context: Context, stack: ExitStack, label: str) -> Devnet:
    """The devnet's chains with every on-chain feed of the loaded catalog, on free ports,
    stopped when `stack` closes; the deployed addresses are written into the catalog."""
    base = devnet_config(seed=7)
    config = replace(base, control_port=evm.free_port(), http_ports={}, chains=tuple(
        ChainConfig(c.slug, c.chain_id, evm.free_port(), evm.free_port()) for c in base.chains))
    devnet = Devnet.from_database(config)
    context.log(f"{label}: starting a devnet with {len(devnet.feeds)} on-chain feeds")
    stack.callback(devnet.stop)
    devnet.start()
    devnet.publish_addresses()
    return devnet


def database_url(name: str) -> str:
    """DATABASE_URL for the child processes: the same server, the scratch database."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{name}"
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def spawn(stack: ExitStack, command: list[str], env: dict[str, str], log: Path, *,
          pipes: bool = False) -> subprocess.Popen:
    """Start a process in a group of its own (Celery's pool children included), stopped with
    its whole group when the benchmark ends, however it ends."""
    if command[0] != sys.executable:
        command = [sys.executable, "-m", *command]
    output = stack.enter_context(log.open("w"))
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
        command, cwd=settings.BASE_DIR, env=env, start_new_session=True,
        preexec_fn=die_with_parent, stderr=output, text=True,
        stdout=subprocess.PIPE if pipes else output, stdin=subprocess.PIPE if pipes else None,
    )
    stack.callback(stop_group, process)
    return process


def stop_group(process: subprocess.Popen, timeout: float = 10.0) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group (pool children)
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream:
            stream.close()


def wait_for(condition: Any, what: str, log: Path, process: subprocess.Popen, *, label: str,
             timeout: float = START_TIMEOUT) -> None:
    """Poll `condition` until it holds; give up (with the log's tail) when `process` exits or
    `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{label}: gave up waiting for {what}:\n{tail(log)}")
        time.sleep(0.2)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def tail(log: Path, limit: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def version(package: str) -> str:
    return installed(package)


def percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile of already sorted values (nan when there are none)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]
