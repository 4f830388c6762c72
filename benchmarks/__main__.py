"""`python -m benchmarks [NAME ...]` (what `make bench` runs): the registered benchmarks, one
JSON line per result.

stdout carries only the JSON lines (anything a benchmark prints goes to stderr instead);
progress and warnings go to stderr. Benchmarks run with DEBUG off, as production does, so
Django's query log does not distort the numbers. The exit status is 1 when a benchmark failed,
2 for a usage error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from contextlib import redirect_stdout
from typing import Any, TextIO

import django
from django.test.utils import override_settings

from benchmarks import harness


class UsageError(Exception):
    """A bad argument: exit status 2, the message on stderr."""


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the benchmarks named in `argv` (all when none); returns the exit status."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run benchmarks.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run")
    parser.add_argument(
        "--scale", type=float, default=None,
        help="multiply every count by this (default: $OP_BENCH_SCALE or 1); small values are "
             "for tests, the numbers then mean little",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    options = parser.parse_args(argv)
    try:
        return _run_all(options, out, err)
    except UsageError as error:
        err.write(f"error: {error}\n")
        return 2


def _run_all(options: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    available = harness.discover()
    if options.list:
        for name, entry in available.items():
            out.write(f"{name}\t{entry.description}\n")
        return 0
    names = options.names or list(available)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise UsageError(
            f"unknown benchmark {', '.join(unknown)}; "
            f"available: {', '.join(available) or '(none)'}"
        )
    scale = options.scale
    if scale is None:
        scale = float(os.environ.get(harness.SCALE_ENV) or 1)
    if scale <= 0:
        raise UsageError("--scale must be positive")
    context = harness.Context(scale=scale, stderr=err)
    for warning in harness.production_path_warnings():
        err.write(f"warning: {warning}\n")
    if scale != 1:
        err.write(f"warning: counts scaled by {scale}: not the reference workload\n")

    failed = []
    for name in names:
        err.write(f"bench {name}: running\n")
        try:
            _run(available[name], context, scale, out, err)
        except Exception:  # report it, run the others, exit non-zero at the end
            failed.append(name)
            err.write(f"bench {name}: failed\n{traceback.format_exc()}\n")
    if failed:
        err.write(f"error: benchmark(s) failed: {', '.join(failed)}\n")
        return 1
    return 0


def _run(entry: Any, context: Any, scale: float, out: TextIO, err: TextIO) -> None:
    # Anything printed by the code under test must not corrupt the JSON stream.
    environment = harness.environment()
    with redirect_stdout(err), override_settings(DEBUG=False):
        results = entry.function(context)
        try:
            for result in results:
                _emit(harness.normalise(result), environment, scale, out, err)
        finally:
            # Close a generator now, not whenever it is collected, so its cleanup (dropping
            # the scratch database) runs even when a result was refused or on Ctrl-C.
            close = getattr(results, "close", None)
            if close is not None:
                close()


def _emit(data: dict[str, Any], environment: dict[str, Any], scale: float, out: TextIO,
          err: TextIO) -> None:
    data["config"] = {**environment, **data["config"]}
    data["config"].setdefault("scale", scale)
    out.write(json.dumps(data, default=str) + "\n")
    out.flush()
    verdict = {True: "meets", False: "MISSES", None: "no"}[harness.target_met(data)]
    err.write(
        f"  {data['metric']} = {data['value']} {data['unit']} "
        f"(ratio {data['ratio']}, {verdict} target {data['target']})\n"
    )


if __name__ == "__main__":
    # Benchmark modules import models, so Django is set up before discover() imports them.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oracle_platform.settings.local")
    django.setup()
    sys.exit(main())
