"""`python -m benchmarks`: the registry, the JSON contract, and `ingest` at a tiny scale.

The ingest runs go through a subprocess: the benchmark creates and drops its own scratch
database, which cannot happen inside pytest-django's (in-memory or test) database.
"""
import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from benchmarks import harness as bench
from benchmarks.__main__ import main as bench_main

ROOT = Path(__file__).resolve().parent.parent
INGEST_METRICS = {"object_build_seconds", "rows_per_second", "rows_per_second_all_duplicates"}


def _run_bench(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def _json_lines(stdout: str) -> list[dict]:
    # Every stdout line must be a JSON object: nothing else may go there.
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture
def throwaway_benchmarks():
    names = []

    def register(name, function):
        bench.benchmark(name)(function)
        names.append(name)

    yield register
    for name in names:
        bench.unregister(name)


def test_registry_discovers_ingest_in_its_own_module():
    found = bench.discover()
    assert "ingest" in found
    assert found["ingest"].function.__module__ == "benchmarks.ingest"


def test_result_has_exactly_the_contract_keys_and_its_ratio():
    data = bench.Result(
        "x", "rows_per_second", 50.0, "rows/s", baseline=200.0, target="ratio >= 0.5",
        config={"rows": 10},
    ).as_dict()
    assert tuple(data) == bench.RESULT_KEYS
    assert data["ratio"] == 0.25
    assert bench.target_met(data) is False


def test_result_without_baseline_has_null_ratio_and_no_verdict():
    data = bench.Result("x", "seconds", 1.5, "s").as_dict()
    assert data["baseline"] is None and data["ratio"] is None and data["target"] is None
    assert bench.target_met(data) is None


def test_unreadable_target_is_refused():
    with pytest.raises(ValueError, match="target"):
        bench.Result("x", "m", 1.0, "s", target="fast enough")


def test_unknown_benchmark_is_a_usage_error_listing_the_available_ones():
    err = StringIO()
    assert bench_main(["no-such-bench"], stdout=StringIO(), stderr=err) == 2
    assert re.search(r"no-such-bench.*available: .*ingest", err.getvalue())


def test_failing_benchmark_fails_the_command_after_the_others_printed(throwaway_benchmarks):
    def fine(context):
        print("stray output from the code under test")  # must not land on stdout
        yield bench.Result("t-fine", "value", 1.0, "s")

    def broken(context):
        raise RuntimeError("boom")
        yield  # a generator, like the others

    throwaway_benchmarks("t-fine", fine)
    throwaway_benchmarks("t-broken", broken)
    out, err = StringIO(), StringIO()
    assert bench_main(["t-fine", "t-broken"], stdout=out, stderr=err) == 1
    assert "benchmark(s) failed: t-broken" in err.getvalue()
    (line,) = _json_lines(out.getvalue())
    assert line["bench"] == "t-fine"
    assert {"database", "redis"} <= set(line["config"])
    assert "RuntimeError: boom" in err.getvalue()


def test_result_dict_with_keys_outside_the_contract_fails_the_benchmark(throwaway_benchmarks):
    def sloppy(context):
        yield {**bench.Result("t-sloppy", "m", 1.0, "s").as_dict(), "extra": 1}

    throwaway_benchmarks("t-sloppy", sloppy)
    err = StringIO()
    assert bench_main(["t-sloppy"], stdout=StringIO(), stderr=err) == 1
    assert "benchmark(s) failed: t-sloppy" in err.getvalue()


def test_ingest_on_sqlite_prints_contract_lines_and_says_what_is_missing():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["OP_BENCH_SCALE"] = "0.001"
    run = _run_bench("ingest", env=env)
    assert run.returncode == 0, run.stderr
    results = _json_lines(run.stdout)
    assert {r["metric"] for r in results} == INGEST_METRICS
    for result in results:
        assert tuple(result) == bench.RESULT_KEYS
        assert result["bench"] == "ingest"
        assert "DATABASE_URL not set: not the production path" in result["config"]["database"]
        assert "REDIS_URL not set" in result["config"]["redis"]
        assert result["config"]["scale"] == 0.001
    store = next(r for r in results if r["metric"] == "rows_per_second")
    assert store["value"] > 0 and store["baseline"] is None and store["ratio"] is None
    assert store["config"]["rows"] == 100  # 100,000 on SQLite × 0.001
    assert "warning: DATABASE_URL" in run.stderr


@pytest.mark.postgres
def test_ingest_on_postgresql_compares_with_raw_copy_in_a_scratch_database():
    # Like Django's test databases: test_<name>, so the scratch is test_<name>_bench and a
    # developer's `make bench` (scratch <name>_bench) can run at the same time.
    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    env = {**os.environ, "DATABASE_URL": url._replace(path=f"/test_{name}").geturl()}
    run = _run_bench("ingest", "--scale", "0.001", env=env)
    assert run.returncode == 0, run.stderr
    results = {r["metric"]: r for r in _json_lines(run.stdout)}
    assert set(results) == INGEST_METRICS | {"raw_copy_rows_per_second"}
    store = results["rows_per_second"]
    assert store["baseline"] == results["raw_copy_rows_per_second"]["value"] > 0
    assert store["ratio"] == pytest.approx(store["value"] / store["baseline"], rel=1e-3)
    assert store["target"] == "ratio >= 0.5"
    assert store["config"]["database"].startswith("postgresql ")
    assert store["config"]["database"].endswith(f"/test_{name}_bench")
    assert store["config"]["rows"] == 1000
    assert _database_exists(f"test_{name}_bench") is False  # dropped at the end


def _database_exists(name: str) -> bool:
    import psycopg

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"],
        dbname="postgres", connect_timeout=5,
    ) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return row.fetchone() is not None
