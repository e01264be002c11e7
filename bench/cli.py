"""`python -m bench [--only gateway,flink,...] [--quick] [--<setting> VALUE ...]`.

Runs the benchmarks one after the other, writes each one's JSON and plots to
`.run/bench/<timestamp>/`, prints a summary table, and rewrites the sections of the
benchmarks it ran in `bench/RESULTS.md` (the others' stay). Every size is a setting: env
`BENCH_<NAME>` or the flag `--<name>` (lists comma-separated); `--quick` first shrinks
them all to a development size.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_origin

from pydantic_settings import BaseSettings

from bench.machine import describe_machine
from bench.report import (
    current_figures,
    render_figures,
    update_results_md,
    write_run_file,
)
from bench.results import Result, format_table, write_json
from bench.settings import BENCHMARKS, BenchSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of {','.join(BENCHMARKS)} (default: all, in that order)",
    )
    parser.add_argument("--quick", action="store_true", help="development sizes (minutes)")
    parser.add_argument(
        "--no-results-md", action="store_true", help="do not rewrite bench/RESULTS.md"
    )
    for name, info in BenchSettings.model_fields.items():
        parser.add_argument(
            "--" + name.replace("_", "-"), dest=name, default=None, metavar="VALUE",
            help=f"default {info.default!r}",
        )  # fmt: skip
    return parser


def settings_from(args: argparse.Namespace) -> BenchSettings:
    """Env and defaults, shrunk by --quick, then the flags given (the flags win)."""
    settings = BenchSettings()
    if args.quick:
        settings = settings.quick()
    overrides: dict[str, Any] = {}
    for name, info in BenchSettings.model_fields.items():
        value = getattr(args, name)
        if value is None:
            continue
        overrides[name] = value.split(",") if get_origin(info.annotation) is list else value
    if not overrides:
        return settings
    return BenchSettings.model_validate({**settings.model_dump(), **overrides})


def selected(only: str) -> list[str]:
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; known: {BENCHMARKS}")
    return [name for name in BENCHMARKS if name in names]


def run_one(name: str, settings: BenchSettings, run_dir: Path) -> Result:
    """Runs `bench.<name>.run`; a benchmark that breaks is reported as not measured."""
    started = time.monotonic()
    print(f"\n== {name} ==", flush=True)
    try:
        module = importlib.import_module(f"bench.{name}")
        result: Result = module.run(settings, run_dir)
    except Exception as exc:  # one broken benchmark must not lose the others' figures
        traceback.print_exc()
        result = Result.not_measured(name, f"the benchmark failed: {type(exc).__name__}: {exc}")
    result.seconds = round(time.monotonic() - started, 1)
    write_json(run_dir / f"{name}.json", result.to_json())
    return result


def leave_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM (a killed `make bench`) leaves like Ctrl-C: each benchmark's cleanup runs, so
    no job, topic or namespace of the run outlives it."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, leave_on_sigterm)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    names = selected(args.only)
    run_dir = settings.output_root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    write_json(run_dir / "machine.json", machine)
    write_json(run_dir / "settings.json", settings.model_dump(mode="json"))
    print(f"Benchmarks {', '.join(names)} -> {run_dir}", flush=True)

    results = [run_one(name, settings, run_dir) for name in names]

    print("\n== summary ==")
    for result in results:
        print(f"\n{result.name} ({result.seconds:.0f}s)")
        print(format_table(result.rows) if result.measured else f"  not measured: {result.reason}")
        for plot in result.plots:
            print(f"  plot: {plot}")
    command = shlex.join(["python", "-m", "bench", *argv])
    write_run_file(run_dir, command)
    if not args.no_results_md:
        previous = current_figures()
        update_results_md(render_figures(results, machine, run_dir, command, previous))
        print("\nbench/RESULTS.md updated.")
    return 0


def add_settings_arguments(parser: argparse.ArgumentParser, settings: type[BaseSettings]) -> None:
    """One `--field-name VALUE` option per field of a benchmark's settings (None: the
    settings' own default or environment applies)."""
    for name, info in settings.model_fields.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            metavar="VALUE",
            help=f"default {info.default!r}",
        )
