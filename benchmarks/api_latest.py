"""`api_latest`: GET /api/v1/pairs/ETH-USD/latest with a valid key and throttling on, served by
the production HTTP server (gunicorn, deploy/gunicorn.conf.py, production settings) with Redis,
driven from a second process on loopback — next to a bare Django view returning a constant JSON
body (`/healthz`, same middleware stack) on the same server in the same run."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from apps.accounts.models import Organization
from apps.api_keys.services import create_key
from apps.feeds.models import Asset, Feed, Pair, PriceObservation
from apps.feeds.pair_state import refresh_pairs
from apps.feeds.services import store_observations
from apps.protocols.models import Protocol
from benchmarks.harness import (
    Context,
    Result,
    benchmark,
    database_label,
    redis_label,
    scratch_database,
)

SECONDS = 5  # per measured round
ROUNDS = 2
CONCURRENCY = 4  # enough to keep one sync worker busy; more only queues (latency = queue)
TARGET_RATIO = "ratio >= 0.7"
TARGET_P99 = "value < 25"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _world() -> str:
    """A pair with a few feeds and a cached state, an enterprise org and its key."""
    eth = Asset.objects.create(symbol="ETH", name="Ether")
    usd = Asset.objects.create(symbol="USD", name="US dollar", kind=Asset.Kind.FIAT)
    pair = Pair.objects.create(base=eth, quote=usd)
    now = timezone.now()
    for n, slug in enumerate(("chainlink", "pyth", "redstone", "api3", "chronicle", "dia")):
        protocol = Protocol.objects.create(slug=slug, name=slug.title())
        feed = Feed.objects.create(key=f"{slug}-eth-usd", protocol=protocol, pair=pair,
                                   source_kind=Feed.SourceKind.HTTP, decimals=8,
                                   heartbeat_seconds=86400, deviation_threshold_bps=Decimal(50))
        store_observations([PriceObservation(feed=feed, raw_answer=3400_00000000 + n * 1000,
                                             decimals=8, source_ts=now - timedelta(seconds=5),
                                             fetched_at=now)])
    refresh_pairs([pair.pk])
    organization = Organization.objects.create(name="Bench", slug="bench", plan="enterprise")
    return create_key(organization, name="bench")[1]


def _drive(url: str, headers: dict[str, str]) -> dict:
    options = {"url": url, "headers": headers, "seconds": SECONDS, "concurrency": CONCURRENCY}
    command = [sys.executable, "-m", "benchmarks.loadgen", json.dumps(options)]
    done = subprocess.run(command, capture_output=True, text=True, check=True,  # noqa: S603
                          timeout=SECONDS * 4 + 30)
    return json.loads(done.stdout)


@benchmark("api_latest")
def api_latest(context: Context) -> Iterator[Result]:
    """req/s and latency of the latest-price endpoint vs a bare view on the same server."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        yield Result("api_latest", "skipped", 0, "", config={
            "reason": "needs DATABASE_URL (PostgreSQL) and REDIS_URL: the production path",
            "database": database_label(), "redis": redis_label()})
        return
    with scratch_database("api_bench") as name:
        raw = _world()
        parts = urlsplit(os.environ.get("DATABASE_URL", ""))
        port = _free_port()
        base = Path(settings.BASE_DIR)
        env = {**os.environ,
               "DJANGO_SETTINGS_MODULE": "oracle_platform.settings.production",
               "DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}")),
               "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-" + "x" * 40,
               "OP_API_KEY_SECRET": settings.OP_API_KEY_SECRET,
               "ALLOWED_HOSTS": "127.0.0.1", "OP_SECURE_SSL_REDIRECT": "false",
               "OP_FIELD_ENCRYPTION_KEYS": "kWh1pN0dYk4oXl9bQ6vX2r3Tt8uZqgH5fJm7cS1aB0E=",
               "OP_SITE_URL": "http://127.0.0.1",
               "OP_GUNICORN_BIND": f"127.0.0.1:{port}", "OP_GUNICORN_WORKERS": "1",
               "OP_TIER_LIMITS": json.dumps({"enterprise": {  # measure the path, not the limit
                   "requests_per_minute": 10**9, "included_requests_per_month": None}})}
        if not settings.OP_API_KEY_SECRET:
            env["OP_API_KEY_SECRET"] = settings.SECRET_KEY  # the key was hashed under this
        server = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn)
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
             "oracle_platform.wsgi"], cwd=base, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        try:
            _wait_for(port, server)
            host = f"http://127.0.0.1:{port}"
            auth = {"Authorization": f"Bearer {raw}"}
            _drive(f"{host}/api/v1/pairs/ETH-USD/latest", auth)  # warm both paths
            # Interleaved rounds, so drift on a shared machine hits both alike.
            rounds = [(_drive(f"{host}/healthz", {}),
                       _drive(f"{host}/api/v1/pairs/ETH-USD/latest", auth))
                      for _ in range(ROUNDS)]
            bare, api = (_merge([r[i] for r in rounds]) for i in (0, 1))
        finally:
            server.terminate()
            server.wait(10)
        cache.clear()
    if set(api["statuses"]) != {"200"}:
        raise RuntimeError(f"the API answered {api['statuses']}")
    config = {"server": "gunicorn sync, 1 worker, production settings",
              "driver": f"separate process, {CONCURRENCY} concurrent, new connection each",
              "seconds": SECONDS * ROUNDS, "database": database_label(), "redis": redis_label(),
              "cpus": os.cpu_count(), "bare": "/healthz (constant JSON, same middleware)",
              "bare_rps": bare["rps"], "bare_p99_ms": bare["p99_ms"],
              "requests": api["requests"]}
    yield Result("api_latest", "requests_per_second", api["rps"], "req/s",
                 baseline=bare["rps"], target=TARGET_RATIO, config=config)
    yield Result("api_latest", "p50", api["p50_ms"], "ms", baseline=bare["p50_ms"],
                 config=config)
    yield Result("api_latest", "p99", api["p99_ms"], "ms", baseline=bare["p99_ms"],
                 target=TARGET_P99, config=config)


def _merge(runs: list[dict]) -> dict:
    """Rounds into one: mean req/s, the worst percentiles, all statuses."""
    statuses: dict[str, int] = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {"rps": round(sum(r["rps"] for r in runs) / len(runs), 1),
            "p50_ms": max(r["p50_ms"] for r in runs), "p99_ms": max(r["p99_ms"] for r in runs),
            "requests": sum(r["requests"] for r in runs), "statuses": statuses}


def _wait_for(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stderr.read().decode() if server.stderr is not None else ""
            raise RuntimeError(f"gunicorn exited: {output[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start within 30 s")
