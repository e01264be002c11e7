"""Submits the registered Flink jobs (`flink_jobs.registry`) to the local cluster.

  python -m deploy.flink.submit [submit] [--job NAME]
                                [--fresh | --from-checkpoint | --restore-from PATH] [--print]
  python -m deploy.flink.submit list
  python -m deploy.flink.submit stop [--job NAME | --all]
  python -m deploy.flink.submit cancel --job NAME

`submit` (the default) waits for Flink, Kafka and the catalog, creates each job's tables,
and starts the job unless a copy of it (same `pipeline.name`) is already active. A job
resumes from its newest savepoint or retained checkpoint unless `--fresh` is given.
`submit --print` prints the SQL each job would run and submits nothing (no cluster needed).
`stop` takes a savepoint of each running job and stops it; the next `submit` resumes
from that savepoint. `cancel` stops without a savepoint (the last checkpoint is kept).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from deploy.flink.flink_rest import ACTIVE_STATES, FlinkRest, FlinkRestError
from deploy.flink.policy import (
    CLI,
    RestoreMode,
    Stopped,
    Submitter,
    SubmitterSettings,
    format_job_rows,
)
from deploy.flink.runner import SubmitError
from deploy.local.settings import StackSettings
from flink_jobs.job import JobSettings, SqlJob
from flink_jobs.registry import registered_jobs
from lakehouse.settings import LakehouseSettings

COMMANDS = ("submit", "list", "stop", "cancel")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=CLI,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{submit,list,stop,cancel}")
    submit = sub.add_parser("submit", help="start the registered jobs (the default command)")
    submit.add_argument("--job", action="append", metavar="NAME", help="only this job (repeatable)")
    restore = submit.add_mutually_exclusive_group()
    restore.add_argument("--fresh", action="store_true", help="start without any saved state")
    restore.add_argument(
        "--from-checkpoint",
        action="store_true",
        help="resume from the newest retained checkpoint, ignoring savepoints",
    )
    restore.add_argument(
        "--restore-from", metavar="PATH", help="resume from this savepoint or chk-N folder"
    )
    submit.add_argument(
        "--print",
        action="store_true",
        help="print the SQL each job would run, submit nothing (needs no cluster)",
    )
    sub.add_parser("list", help="every job on the cluster: name, id, state, start, last checkpoint")
    stop = sub.add_parser("stop", help="stop running jobs with a savepoint and print its path")
    which = stop.add_mutually_exclusive_group()
    which.add_argument("--job", action="append", metavar="NAME", help="only this job (repeatable)")
    which.add_argument("--all", action="store_true", help="every running job, registered or not")
    cancel = sub.add_parser("cancel", help="cancel a job without a savepoint")
    cancel.add_argument("--job", action="append", metavar="NAME", required=True)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["submit", *argv]
    return build_parser().parse_args(argv)


def select_jobs(names: Sequence[str] | None) -> list[SqlJob]:
    jobs = registered_jobs()
    if not names:
        return list(jobs.values())
    unknown = [n for n in names if n not in jobs]
    if unknown:
        raise SubmitError(f"unknown job(s) {', '.join(unknown)}; registered: {', '.join(jobs)}")
    return [jobs[n] for n in names]


def default_submitter() -> Submitter:
    stack = StackSettings()
    return Submitter(
        stack,
        LakehouseSettings(),
        JobSettings(),
        SubmitterSettings(),
        FlinkRest(f"http://127.0.0.1:{stack.flink_rest_port}"),
        say=lambda message: print(message, flush=True),
    )


def restore_mode(args: argparse.Namespace) -> RestoreMode:
    if args.fresh:
        return RestoreMode.FRESH
    if args.from_checkpoint:
        return RestoreMode.CHECKPOINT
    return RestoreMode.LATEST


def run_print(submitter: Submitter, jobs: Sequence[SqlJob], args: argparse.Namespace) -> int:
    """Each job's script as `submit` would write and run it (after the catalog's init file)."""
    mode = restore_mode(args)
    print("\n".join(submitter.preview(job, mode, args.restore_from) for job in jobs), end="")
    return 0


def run_submit(submitter: Submitter, args: argparse.Namespace) -> int:
    jobs = select_jobs(args.job)
    if args.restore_from and len(jobs) != 1:
        raise SubmitError("--restore-from needs exactly one --job")
    if args.print:
        return run_print(submitter, jobs, args)
    submitter.wait_for_platform()
    mode = restore_mode(args)
    failures = []
    results = []
    for job in jobs:
        try:
            results.append(submitter.submit(job, mode, args.restore_from))
        except (SubmitError, FlinkRestError) as exc:
            print(f"error: {job.name}: {exc}", file=sys.stderr, flush=True)
            failures.append(job.name)
    print()
    for result in results:
        status = result.state if result.started else f"{result.state} (already)"
        print(f"  {result.job_name:<28} {status:<20} {result.job_id}  {result.web_ui}")
    if failures:
        print(f"error: not running: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def run_list(submitter: Submitter) -> int:
    rows = submitter.job_rows()
    print(format_job_rows(rows) if rows else "No jobs on the cluster.")
    try:
        jobs = select_jobs(None)
    except SubmitError as exc:
        print(f"(registered jobs not shown: {exc})", file=sys.stderr)
        return 0
    active = {r.name for r in rows if r.state in ACTIVE_STATES}
    idle = [job.name for job in jobs if job.name not in active]
    if idle:
        print("\nRegistered jobs not running (`make submit` starts them):")
    for name in idle:
        point = submitter.restore_point(name, RestoreMode.LATEST)
        resume = f"would resume from {point.kind} {point.path}" if point else "no saved state"
        print(f"  {name:<28} {resume}")
    return 0


def run_stop(submitter: Submitter, args: argparse.Namespace) -> int:
    if args.all:
        names = sorted({j.name for j in submitter.flink.jobs() if j.state in ACTIVE_STATES})
    else:
        names = [job.name for job in select_jobs(args.job)]
    stopped: list[Stopped] = []
    failures = []
    for name in names:
        try:
            stopped += submitter.stop(name)
        except (SubmitError, FlinkRestError) as exc:
            print(f"error: {name}: {exc}", file=sys.stderr, flush=True)
            failures.append(name)
    if not stopped and not failures:
        print("No running jobs to stop." if args.all else "None of those jobs is running.")
    for s in stopped:
        print(f"  {s.job_name:<28} {s.job_id}  savepoint {s.savepoint}")
    if failures:
        print(f"error: not stopped: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command or "submit"
    submitter = default_submitter()
    try:
        if command == "submit":
            return run_submit(submitter, args)
        if command == "list":
            return run_list(submitter)
        if command == "stop":
            return run_stop(submitter, args)
        for name in args.job:
            if not submitter.cancel(name):
                print(f"{name}: no active job of that name")
        return 0
    except (SubmitError, FlinkRestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        submitter.flink.close()


if __name__ == "__main__":
    sys.exit(main())
