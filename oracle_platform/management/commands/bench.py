"""`manage.py bench [NAME ...]`: run the registered benchmarks, one JSON line per result.

stdout carries only the JSON lines (anything a benchmark prints goes to stderr instead);
progress and warnings go to stderr. Benchmarks run with DEBUG off, as production does, so
Django's query log does not distort the numbers.
"""
import json
import os
import sys
import traceback
from contextlib import redirect_stdout
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from oracle_platform import bench


class Command(BaseCommand):
    help = "Run benchmarks (all, or the named ones); print one JSON object per result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run")
        parser.add_argument(
            "--scale", type=float, default=None,
            help=f"multiply every count by this (default: ${bench.SCALE_ENV} or 1); "
                 "small values are for tests, the numbers then mean little",
        )
        parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        available = bench.discover()
        if options["list"]:
            for name, entry in available.items():
                self.stdout.write(f"{name}\t{entry.description}")
            return
        names = options["names"] or list(available)
        unknown = [name for name in names if name not in available]
        if unknown:
            raise CommandError(
                f"unknown benchmark {', '.join(unknown)}; "
                f"available: {', '.join(available) or '(none)'}"
            )
        scale = options["scale"]
        if scale is None:
            scale = float(os.environ.get(bench.SCALE_ENV) or 1)
        if scale <= 0:
            raise CommandError("--scale must be positive")
        context = bench.Context(scale=scale, stderr=sys.stderr)
        for warning in bench.production_path_warnings():
            self.stderr.write(f"warning: {warning}")
        if scale != 1:
            self.stderr.write(f"warning: counts scaled by {scale}: not the reference workload")

        failed = []
        for name in names:
            self.stderr.write(f"bench {name}: running")
            try:
                self._run(available[name], context, scale)
            except Exception:  # report it, run the others, exit non-zero at the end
                failed.append(name)
                self.stderr.write(f"bench {name}: failed\n{traceback.format_exc()}")
        if failed:
            raise CommandError(f"benchmark(s) failed: {', '.join(failed)}")

    def _run(self, entry: bench.Benchmark, context: bench.Context, scale: float) -> None:
        # Anything printed by the code under test must not corrupt the JSON stream.
        environment = bench.environment()
        with redirect_stdout(sys.stderr), override_settings(DEBUG=False):
            results = entry.function(context)
            try:
                for result in results:
                    self._emit(bench.normalise(result), environment, scale)
            finally:
                # Close a generator now, not whenever it is collected, so its cleanup (dropping
                # the scratch database) runs even when a result was refused or on Ctrl-C.
                close = getattr(results, "close", None)
                if close is not None:
                    close()

    def _emit(self, data: dict[str, Any], environment: dict[str, Any], scale: float) -> None:
        data["config"] = {**environment, **data["config"]}
        data["config"].setdefault("scale", scale)
        self.stdout.write(json.dumps(data, default=str))
        self.stdout.flush()
        verdict = {True: "meets", False: "MISSES", None: "no"}[bench.target_met(data)]
        self.stderr.write(
            f"  {data['metric']} = {data['value']} {data['unit']} "
            f"(ratio {data['ratio']}, {verdict} target {data['target']})"
        )
