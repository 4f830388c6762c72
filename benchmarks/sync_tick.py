"""`sync_tick` (run by `make bench`, see benchmarks/harness.py).

`sync_tick`: one sync tick over every EVM feed of the devnet catalog, per chain — JSON-RPC
requests (HTTP and eth_call counts) and wall time — against a devnet started here, in a
scratch database loaded with the devnet catalog.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

from django.core.cache import cache
from django.test.utils import override_settings

from apps.devnet import chain as evm
from apps.devnet.config import devnet_config
from apps.devnet.runtime import ChainConfig, Devnet
from apps.protocols.rpc import JsonRpcClient
from apps.protocols.services import load_catalog
from apps.protocols.sync import reset_engine_state, sync_chain
from benchmarks.harness import Context, Result, benchmark, database_label, scratch_database

TICKS = 20  # measured ticks per chain, each on a new block


@benchmark("sync_tick")
def sync_tick(context: Context) -> Iterator[Result]:
    """Wall time and JSON-RPC requests of one tick per chain over the whole devnet catalog."""
    ticks = context.scaled(TICKS, minimum=3)
    with scratch_database("bench"):
        load_catalog("devnet")
        base = devnet_config(seed=7)
        config = type(base)(**{
            **base.__dict__, "control_port": evm.free_port(), "http_ports": {},
            "chains": tuple(ChainConfig(c.slug, c.chain_id, evm.free_port(), evm.free_port())
                            for c in base.chains),
        })
        devnet = Devnet.from_database(config)
        context.log(f"sync_tick: starting a devnet with {len(devnet.feeds)} on-chain feeds")
        devnet.start()
        try:
            devnet.publish_addresses()
            urls = {slug: proxy.url for slug, proxy in devnet.proxies.items()}
            with override_settings(OP_RPC_URLS=urls):
                reset_engine_state()
                cache.clear()
                for chain in config.chains:
                    yield from _measure(context, devnet, chain.slug, urls[chain.slug], ticks)
        finally:
            devnet.stop()


def _measure(context: Context, devnet: Devnet, slug: str, url: str, ticks: int
             ) -> Iterator[Result]:
    w3 = devnet.chains[slug].w3
    sync_chain(slug)  # warm up: feed list, last prices, connection
    durations, http, calls, feeds = [], [], [], 0
    for _ in range(ticks):
        devnet.tick()
        evm.rpc(w3, "evm_mine")  # a new block, so the tick reads
        client = JsonRpcClient(url)
        started = time.perf_counter()
        runs = sync_chain(slug, client=client)
        durations.append(time.perf_counter() - started)
        http.append(client.http_requests)
        calls.append(sum(client.calls.values()))
        feeds = sum(run.feeds_read for run in runs or [])
    config = {
        "database": database_label(), "chain": slug, "feeds": feeds, "ticks": ticks,
        "server": "anvil (devnet) behind the devnet's JSON-RPC proxy on loopback",
        "what": "eth_blockNumber, one JSON-RPC batch (Multicall3 aggregate3 chunks + "
                "Chronicle's direct eth_calls), validation, store_observations, SyncRun rows",
    }
    yield Result("sync_tick", f"{slug}_wall_ms_p50", statistics.median(durations) * 1000, "ms",
                 config=config)
    yield Result("sync_tick", f"{slug}_wall_ms_max", max(durations) * 1000, "ms", config=config)
    yield Result("sync_tick", f"{slug}_http_requests", statistics.median(http), "requests",
                 target="value <= 2", config=config)
    yield Result("sync_tick", f"{slug}_jsonrpc_calls", statistics.median(calls), "calls",
                 config=config)
    context.log(f"sync_tick: {slug} {feeds} feeds, p50 {statistics.median(durations) * 1000:.0f}"
                " ms")
