"""Benchmarks: a registry, the result format and a scratch database.

The contract (docs: architecture, "Contracts between issues"): `make bench` runs every
benchmark, `make bench BENCH=<name>` one; each result is one JSON object per line with exactly
the keys in `RESULT_KEYS`, and `config` says what ran (database, Redis, server, workers,
counts). Each benchmark is one module of this package and registers itself:

    @benchmark("ingest")
    def ingest(context: Context) -> Iterator[Result]:
        yield Result("ingest", "rows_per_second", 123456.0, "rows/s", baseline=..., target=...)

`target` is always a string `"<value|ratio> <op> <number>"` (e.g. `"ratio >= 0.5"`), or None:
readable by people, checkable by `Result.target_met`.
"""
from __future__ import annotations

import importlib
import operator
import os
import pkgutil
import platform
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.sqlite3.creation import DatabaseCreation as SqliteCreation

RESULT_KEYS = ("bench", "metric", "value", "unit", "baseline", "ratio", "target", "config")
NOT_PRODUCTION = "not the production path"
SCALE_ENV = "OP_BENCH_SCALE"

_TARGET = re.compile(r"^(value|ratio) (>=|<=|>|<) (-?[0-9.]+(?:e-?[0-9]+)?)$")
_OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Result:
    """One measured number; `as_dict()` is exactly the contract's JSON object."""

    bench: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    target: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.target is not None and not _TARGET.match(self.target):
            raise ValueError(f"target {self.target!r} is not '<value|ratio> <op> <number>'")

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.value is None:
            return None
        return self.value / self.baseline

    def target_met(self) -> bool | None:
        """Whether the target holds; None when there is no target (or nothing to compare)."""
        return target_met(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "bench": self.bench,
            "metric": self.metric,
            "value": _rounded(self.value),
            "unit": self.unit,
            "baseline": _rounded(self.baseline),
            "ratio": None if ratio is None else round(ratio, 4),
            "target": self.target,
            "config": dict(self.config),
        }


def _rounded(number: float | None) -> float | None:
    # Enough significant digits for any of our units, without float noise in the JSON.
    return None if number is None else float(f"{number:.6g}")


def target_met(result: Mapping[str, Any]) -> bool | None:
    """Evaluate a result dict's `target` string against its value or ratio."""
    match = _TARGET.match(result.get("target") or "")
    if not match:
        return None
    subject, op, bound = match.groups()
    actual = result.get(subject)
    if actual is None:
        return None
    return _OPERATORS[op](actual, float(bound))


def normalise(result: Result | Mapping[str, Any]) -> dict[str, Any]:
    """A Result or a dict → the contract dict; refuses missing or extra keys."""
    data = result.as_dict() if isinstance(result, Result) else dict(result)
    if set(data) != set(RESULT_KEYS):
        missing = sorted(set(RESULT_KEYS) - set(data))
        extra = sorted(set(data) - set(RESULT_KEYS))
        raise ValueError(f"result keys differ from the contract: missing {missing}, extra {extra}")
    if not isinstance(data["config"], dict):
        raise ValueError("result config must be a dict")
    return {key: data[key] for key in RESULT_KEYS}


@dataclass
class Context:
    """What a benchmark is given: the scale of its counts and a stderr logger."""

    scale: float = 1.0
    stderr: Any = field(default_factory=lambda: sys.stderr)

    def log(self, message: str) -> None:
        # Progress goes to stderr: stdout carries only the JSON lines.
        self.stderr.write(message.rstrip("\n") + "\n")
        self.stderr.flush()

    def scaled(self, count: float, minimum: int = 1) -> int:
        return max(minimum, round(count * self.scale))


BenchmarkFunction = Callable[[Context], Iterable[Result | Mapping[str, Any]]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    function: BenchmarkFunction

    @property
    def description(self) -> str:
        doc = (self.function.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_registry: dict[str, Benchmark] = {}


def benchmark(name: str) -> Callable[[BenchmarkFunction], BenchmarkFunction]:
    """Register a benchmark under `name`; it takes a Context and yields Results (or dicts)."""

    def register(function: BenchmarkFunction) -> BenchmarkFunction:
        existing = _registry.get(name)
        if existing is not None and existing.function.__qualname__ != function.__qualname__:
            raise ValueError(f"benchmark {name!r} is registered twice")
        _registry[name] = Benchmark(name, function)
        return function

    return register


def unregister(name: str) -> None:
    """Remove a benchmark (tests register throwaway ones)."""
    _registry.pop(name, None)


def discover() -> dict[str, Benchmark]:
    """Import every module of the `benchmarks` package (each registers its benchmarks);
    return the registry."""
    package = importlib.import_module(__package__ or "benchmarks")
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(_registry.items()))


def registry() -> dict[str, Benchmark]:
    return dict(sorted(_registry.items()))


# --- what ran -------------------------------------------------------------------------------

def production_path_warnings() -> list[str]:
    """One message per production service this run lacks."""
    warnings = []
    if not _database_is_production():
        warnings.append(
            f"DATABASE_URL is not set to PostgreSQL: benchmarks run on "
            f"{connections[DEFAULT_DB_ALIAS].vendor}, {NOT_PRODUCTION}"
        )
    if not settings.REDIS_URL:
        warnings.append(
            f"REDIS_URL is not set: in-memory cache and channel layer, {NOT_PRODUCTION}"
        )
    return warnings


def _database_is_production() -> bool:
    return bool(os.environ.get("DATABASE_URL")) and connections[DEFAULT_DB_ALIAS].vendor == (
        "postgresql"
    )


def database_label(alias: str = DEFAULT_DB_ALIAS, *, server_version: bool = True) -> str:
    """The database a benchmark used, e.g. 'postgresql 15.20 at 127.0.0.1:5432/x'.

    With `server_version` it connects to learn the version: call it while the scratch
    database is active, so the developer's database is not even opened."""
    connection = connections[alias]
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        version = ""
        if server_version:
            try:
                connection.ensure_connection()
                major, minor = connection.get_database_version()  # pg_version 150020: (15, 20)
                version = f" {major}.{minor}"
            except Exception:  # a label must not fail a run
                version = " (version unknown)"
        host = settings_dict.get("HOST") or "local socket"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        label = f"postgresql{version} at {host}{port}/{settings_dict['NAME']}"
    elif connection.vendor == "sqlite":
        label = f"sqlite {sqlite3.sqlite_version} file {settings_dict['NAME']}"
    else:
        label = f"{connection.vendor} {settings_dict.get('NAME')}"
    if not _database_is_production():
        reason = "DATABASE_URL not set" if not os.environ.get("DATABASE_URL") else (
            "DATABASE_URL is not PostgreSQL"
        )
        label += f" ({reason}: {NOT_PRODUCTION})"
    return label


def redis_label() -> str:
    if not settings.REDIS_URL:
        return f"in-memory (REDIS_URL not set: {NOT_PRODUCTION})"
    parts = urlsplit(settings.REDIS_URL)
    where = f"{parts.hostname}:{parts.port or 6379}{parts.path or ''}"  # no credentials
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
        info = cast(dict[str, Any], client.info("server"))  # a synchronous client: a dict
        return f"redis {info.get('redis_version', '?')} at {where}"
    except Exception as error:  # reported, not fatal: a benchmark may not use Redis
        return f"redis at {where} (unreachable: {error})"


def environment() -> dict[str, Any]:
    """The part of every result's `config` that describes the machine and services; a
    benchmark's own `config` keys win (e.g. its scratch database's `database` label)."""
    return {
        "database": database_label(server_version=False),
        "redis": redis_label(),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
                   f"{platform.system()} {platform.machine()}",
    }


# --- a scratch database ---------------------------------------------------------------------

@contextmanager
def scratch_database(suffix: str = "bench", alias: str = DEFAULT_DB_ALIAS) -> Iterator[str]:
    """Point `alias` at a fresh, migrated database for the duration; drop it afterwards.

    The developer's data is never touched: PostgreSQL gets `<NAME>_<suffix>` (dropped first if
    a previous run left it), SQLite a file in a temporary directory. Creation and migration are
    Django's own test-database machinery (`create_test_db`), so the schema is exactly what
    `migrate` builds, partitioned observation table included.
    """
    connection = connections[alias]
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    old_test_name = test_settings.get("NAME")
    temp_dir = None
    if connection.vendor == "sqlite":
        if isinstance(creation, SqliteCreation) and creation.is_in_memory_db(old_name):
            # Closing an in-memory SQLite connection is a no-op in Django, so we could not
            # switch away from it; this happens inside a pytest-django session.
            raise RuntimeError("run benchmarks in their own process, not on an in-memory SQLite")
        temp_dir = tempfile.mkdtemp(prefix="op-bench-")
        scratch = os.path.join(temp_dir, f"{suffix}.sqlite3")
    else:
        scratch = f"{old_name}_{suffix}"
    if scratch == old_name:
        raise RuntimeError(f"refusing to use {old_name!r} as a scratch database")
    test_settings["NAME"] = scratch
    try:
        creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        yield scratch
    finally:
        try:
            # create_test_db switches NAME once the database exists, even if migrate then fails.
            if connection.settings_dict["NAME"] == scratch:
                creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
            else:
                connection.close()
                connection.settings_dict["NAME"] = old_name
                settings.DATABASES[alias]["NAME"] = old_name
        finally:
            test_settings["NAME"] = old_test_name
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)
