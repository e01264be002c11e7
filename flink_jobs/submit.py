"""Submits the registered Flink jobs (SQL scripts, PyFlink programs) to the local cluster.

  python -m flink_jobs.submit [submit] [--job NAME]
                              [--fresh | --from-checkpoint | --restore-from PATH]
  python -m flink_jobs.submit list
  python -m flink_jobs.submit stop [--job NAME | --all]
  python -m flink_jobs.submit cancel --job NAME

`submit` (the default) waits for Flink, Kafka and the catalog, creates each job's tables,
and starts the job unless a copy of it (same `pipeline.name`) is already active. A job
resumes from its newest savepoint or retained checkpoint unless `--fresh` is given.
`stop` takes a savepoint of each running job and stops it; the next `submit` resumes
from that savepoint. `cancel` stops without a savepoint (the last checkpoint is kept).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.local.clients import flink_sql_command
from deploy.local.readiness import NotReady
from deploy.local.render import render_all
from deploy.local.services import flink_environment
from deploy.local.settings import StackSettings
from flink_jobs.flink_rest import ACTIVE_STATES, FlinkRest, FlinkRestError, JobSummary
from flink_jobs.jobs import Job, JobSettings, PyFlinkJob, SqlJob, registered_jobs
from flink_jobs.restore import (
    RestoreKind,
    RestorePoint,
    StateDirs,
    Submission,
    SubmissionLedger,
    folder_name,
    newest_restore_point,
    now_iso,
    prune_restore_points,
)
from lakehouse.clients import load_catalog
from lakehouse.settings import REPO_ROOT, LakehouseSettings

# The Flink 2.x key (1.x's `execution.savepoint.path` still works, deprecated); it takes a
# savepoint folder or a retained checkpoint's `chk-N` folder alike.
RESTORE_PATH_KEY = "execution.state-recovery.path"

JOB_ID = re.compile(r"Job ID:\s*([0-9a-f]{32})")
# What `flink run -d` prints once the job is submitted.
FLINK_RUN_JOB_ID = re.compile(r"submitted with JobID ([0-9a-f]{32})")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
PIPELINE_NAME = re.compile(r"SET\s+'pipeline\.name'\s*=\s*'((?:[^']|'')*)'", re.IGNORECASE)


class SubmitError(RuntimeError):
    """A job could not be submitted or controlled; the message says why and what to do."""


class SubmitterSettings(BaseSettings):
    """How long the submitter waits for things (env prefix PAYSTREAM_SUBMIT_)."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_SUBMIT_", frozen=True)

    platform_timeout_seconds: float = 120.0
    running_timeout_seconds: float = 120.0
    savepoint_timeout_seconds: float = 300.0
    sql_client_timeout_seconds: float = 300.0
    # Savepoints and checkpoints of ended jobs kept per job name, newest first; older ones
    # are deleted after each submit and stop (see `prune_restore_points`).
    restore_points_retained: int = Field(default=3, ge=1)


class RestoreMode(StrEnum):
    LATEST = "latest"  # the newest savepoint or retained checkpoint
    CHECKPOINT = "checkpoint"  # the newest retained checkpoint, savepoints ignored
    FRESH = "fresh"  # no state at all


# -- pure parts ----------------------------------------------------------------------------


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_submission(job: SqlJob, settings: JobSettings, restore_from: str | None) -> str:
    """The script the SQL client runs: the job's own, after the name and restore path."""
    script = job.render(settings)
    for declared in PIPELINE_NAME.findall(script):
        if declared.replace("''", "'") != job.name:
            raise SubmitError(
                f"job {job.name!r} sets 'pipeline.name' to {declared!r}: the submitter "
                "recognises a running copy by its name, so they must be equal"
            )
    header = [
        f"-- {job.name}: {job.description}",
        "-- Written by `python -m flink_jobs.submit`; run after the catalog's init file.",
        f"SET 'pipeline.name' = {sql_string(job.name)};",
    ]
    if restore_from:
        header.append(f"SET '{RESTORE_PATH_KEY}' = {sql_string(restore_from)};")
    return "\n".join(header) + "\n\n" + script.strip() + "\n"


def sql_client_error(output: str) -> str | None:
    """The SQL client's first error and the lines that explain it (it exits 0 on errors)."""
    lines = ANSI_ESCAPE.sub("", output).splitlines()
    for index, line in enumerate(lines):
        if "[ERROR]" in line:
            block = [line[line.index("[ERROR]") :]]
            for following in lines[index + 1 : index + 12]:
                if not following.strip() or following.startswith("Flink SQL>"):
                    break
                block.append(following)
            return "\n".join(block)
    return None


def parse_job_id(output: str) -> str:
    """The id of the job the SQL client submitted."""
    ids = JOB_ID.findall(ANSI_ESCAPE.sub("", output))
    if len(ids) != 1:
        raise SubmitError(
            f"expected one 'Job ID:' in the SQL client's output, found {len(ids)}:\n"
            + "\n".join(ANSI_ESCAPE.sub("", output).strip().splitlines()[-15:])
        )
    return str(ids[0])


def parse_flink_run_job_id(output: str) -> str:
    """The id of the job `flink run -d` submitted (the CLI and the program may both say it)."""
    ids = set(FLINK_RUN_JOB_ID.findall(ANSI_ESCAPE.sub("", output)))
    if len(ids) != 1:
        raise SubmitError(
            f"expected one job id in the output of `flink run`, found {len(ids)}:\n"
            + "\n".join(ANSI_ESCAPE.sub("", output).strip().splitlines()[-15:])
        )
    return ids.pop()


def flink_run_command(
    flink_home: Path, python: Path, job: PyFlinkJob, restore_from: str | None
) -> list[str]:
    """`flink run -d -py`: the program runs in `python`; so would any Python UDF."""
    restore = ["--fromSavepoint", restore_from] if restore_from else []
    return [
        str(flink_home / "bin" / "flink"),
        "run",
        "--detached",
        *restore,
        "--python",
        str(job.script),
        "--pyExecutable",
        str(python),
        "--pyClientExecutable",
        str(python),
    ]


def local_path(location: str) -> Path:
    """`file:/x`, `file:///x` and `/x` as the same local path."""
    if location.startswith("file://"):
        location = location.removeprefix("file://")
    elif location.startswith("file:"):
        location = location.removeprefix("file:")
    return Path(os.path.normpath("/" + location.lstrip("/")))


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    job_name: str
    job_id: str
    # False when an active copy was found and nothing was submitted.
    started: bool
    state: str
    restored_from: str | None
    web_ui: str


@dataclass(frozen=True)
class Stopped:
    job_name: str
    job_id: str
    savepoint: str


@dataclass(frozen=True)
class Cancelled:
    job_name: str
    job_id: str
    last_checkpoint: str | None


@dataclass(frozen=True)
class JobRow:
    name: str
    job_id: str
    state: str
    started: datetime | None
    last_checkpoint: str


# -- the submitter -------------------------------------------------------------------------


class Submitter:
    """Submits and controls jobs on one Flink cluster; every step is told through `say`."""

    def __init__(
        self,
        stack: StackSettings,
        lakehouse: LakehouseSettings,
        job_settings: JobSettings,
        settings: SubmitterSettings,
        flink: FlinkRest,
        say: Callable[[str], None] = print,
    ) -> None:
        self.stack = stack
        self.lakehouse = lakehouse
        self.job_settings = job_settings
        self.settings = settings
        self.flink = flink
        self.say = say
        flink_run = stack.run_dir / "flink"
        self.state_dirs = StateDirs(stack.flink_checkpoints, stack.flink_savepoints)
        self.jobs_dir = flink_run / "jobs"
        self.ledger = SubmissionLedger(flink_run / "submissions.json")

    # -- waiting for the platform --------------------------------------------------------

    def wait_for_platform(self) -> None:
        timeout = self.settings.platform_timeout_seconds
        self.say(f"Waiting for Flink, Kafka and the catalog (up to {timeout:.0f}s)")
        deadline = time.monotonic() + timeout
        for name, check in (
            ("flink", self._flink_ready),
            ("kafka", self._kafka_ready),
            ("catalog", self._catalog_ready),
        ):
            self.say(f"  {name:<8} ready  {self._wait(name, check, deadline)}")

    def _wait(self, name: str, check: Callable[[], str], deadline: float) -> str:
        while True:
            try:
                return check()
            except NotReady as exc:
                if time.monotonic() > deadline:
                    raise SubmitError(
                        f"{name} is not ready ({exc}); is the platform up? (`make up`, "
                        "`make status`)"
                    ) from exc
            time.sleep(1)

    def _flink_ready(self, slots_needed: int = 0) -> str:
        try:
            overview = self.flink.overview()
        except FlinkRestError as exc:
            raise NotReady(str(exc)) from exc
        if overview.taskmanagers < 1:
            raise NotReady(f"no TaskManager registered at {self.flink.base_url}")
        if overview.slots_available < slots_needed:
            raise NotReady(
                f"{overview.slots_available} of {overview.slots_total} slots free, "
                f"{slots_needed} needed (`make jobs` shows what runs)"
            )
        return (
            f"Flink {overview.flink_version} at {self.flink.base_url}, "
            f"{overview.slots_available}/{overview.slots_total} slots free"
        )

    def _kafka_ready(self) -> str:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        bootstrap = self.job_settings.kafka_bootstrap_servers
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=3)
        except KafkaException as exc:
            raise NotReady(f"Kafka at {bootstrap}: {exc}") from exc
        if not metadata.brokers:
            raise NotReady(f"Kafka at {bootstrap}: no broker in the metadata")
        return f"Kafka at {bootstrap}, {len(metadata.brokers)} broker(s)"

    def _catalog_ready(self) -> str:
        try:
            namespaces = load_catalog(self.lakehouse).list_namespaces()
        except Exception as exc:
            raise NotReady(f"catalog {self.lakehouse.catalog_name}: {exc}") from exc
        return f"catalog {self.lakehouse.catalog_name}, {len(namespaces)} namespace(s)"

    # -- submitting ----------------------------------------------------------------------

    def known_job_ids(self, job_name: str) -> list[str]:
        """Ids of every job of that name: from the ledger and from the JobManager's memory."""
        ids = self.ledger.job_ids(job_name)
        return ids + [j.job_id for j in self.flink.jobs_named(job_name) if j.job_id not in ids]

    def restore_point(self, job_name: str, mode: RestoreMode) -> RestorePoint | None:
        if mode is RestoreMode.FRESH:
            return None
        kinds: tuple[RestoreKind, ...] = (
            ("checkpoint",) if mode is RestoreMode.CHECKPOINT else ("savepoint", "checkpoint")
        )
        return newest_restore_point(
            self.state_dirs, job_name, self.known_job_ids(job_name), kinds=kinds
        )

    @contextmanager
    def _exclusive(self, job_name: str) -> Iterator[None]:
        """One submitter at a time per job name, so two cannot both start a copy."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.jobs_dir / f"{folder_name(job_name)}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def submit(
        self,
        job: Job,
        mode: RestoreMode = RestoreMode.LATEST,
        restore_from: str | None = None,
    ) -> Submitted:
        """Prepares the job's tables and starts the job, unless a copy is already active."""
        name = job.name
        self.say(f"{name}: creating its tables if missing")
        try:
            job.prepare(self.job_settings)
        except Exception as exc:
            raise SubmitError(f"preparing its tables failed: {type(exc).__name__}: {exc}") from exc
        with self._exclusive(name):
            active = self.flink.active_job(name)
            if active:
                self.say(
                    f"{name}: already {active.state} as job {active.job_id}; "
                    "not starting a second copy"
                )
                return Submitted(
                    name,
                    active.job_id,
                    False,
                    active.state,
                    None,
                    self.flink.web_ui_url(active.job_id),
                )
            if restore_from is None and (point := self.restore_point(name, mode)):
                restore_from = str(point.path)
                self.say(
                    f"{name}: resuming from {point.kind} {point.path} "
                    f"({point.created_at:%Y-%m-%d %H:%M:%S} UTC)"
                )
            elif restore_from is None:
                self.say(f"{name}: starting without state ({self._why_fresh(mode)})")
            else:
                self.say(f"{name}: resuming from {restore_from}")
            self._wait(
                "flink",
                lambda: self._flink_ready(self.job_settings.parallelism),
                time.monotonic() + self.settings.platform_timeout_seconds,
            )
            if isinstance(job, PyFlinkJob):
                job_id = self._run_pyflink(job, restore_from)
            else:
                job_id = self._run_sql_client(job, restore_from)
        self.say(f"{name}: submitted as job {job_id}; waiting until it runs")
        try:
            details = self.flink.wait_until_running(
                job_id, timeout=self.settings.running_timeout_seconds
            )
        except FlinkRestError as exc:
            raise SubmitError(
                f"{exc}\n  web UI: {self.flink.web_ui_url(job_id)}\n  stop it with "
                f"`python -m flink_jobs.submit cancel --job {name}`"
            ) from exc
        if details.name != name:
            raise SubmitError(
                f"job {job_id} is named {details.name!r}, not {name!r}: the submitter recognises "
                "a running copy by its name, so the program must set 'pipeline.name' to it"
            )
        if restore_from:
            self._check_restored(job_id, restore_from)
        url = self.flink.web_ui_url(job_id)
        self.say(f"{name}: {details.state}  job {job_id}  {url}")
        self.prune(name, protected=[local_path(restore_from)] if restore_from else [])
        return Submitted(name, job_id, True, details.state, restore_from, url)

    def prune(self, job_name: str, protected: Sequence[Path] = ()) -> list[Path]:
        """Keeps the newest `restore_points_retained` restore points of ended jobs."""
        active = [job.job_id for job in self.flink.jobs_named(job_name, ACTIVE_STATES)]
        pruned = prune_restore_points(
            self.state_dirs,
            job_name,
            self.known_job_ids(job_name),
            keep=self.settings.restore_points_retained,
            active_job_ids=active,
            protected=protected,
        )
        for path in pruned:
            self.say(f"{job_name}: deleted old restore point {path}")
        return pruned

    def _why_fresh(self, mode: RestoreMode) -> str:
        if mode is RestoreMode.FRESH:
            return "--fresh"
        kind = (
            "retained checkpoint" if mode is RestoreMode.CHECKPOINT else "savepoint or checkpoint"
        )
        return f"no {kind} of it on disk"

    def _run_sql_client(self, job: SqlJob, restore_from: str | None) -> str:
        script = self.jobs_dir / f"{folder_name(job.name)}.sql"
        script.write_text(render_submission(job, self.job_settings, restore_from))
        # The init file registers the catalog; rendering keeps it in step with the settings.
        render_all(self.stack, self.lakehouse)
        command, env = flink_sql_command(self.stack, ["-f", str(script)])
        try:
            result = subprocess.run(
                command,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.settings.sql_client_timeout_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SubmitError(
                f"the SQL client did not finish {script} in "
                f"{self.settings.sql_client_timeout_seconds:.0f}s"
            ) from exc
        output = result.stdout + result.stderr
        error = sql_client_error(output)
        if result.returncode != 0 or error:
            raise SubmitError(
                f"the SQL client failed on {script} (exit {result.returncode}):\n"
                + (error or output[-3000:])
            )
        job_id = parse_job_id(output)
        self.ledger.record(Submission(job.name, job_id, now_iso(), restore_from, str(script)))
        return job_id

    def _run_pyflink(self, job: PyFlinkJob, restore_from: str | None) -> str:
        python = self.stack.flink_venv / "bin" / "python"
        command = flink_run_command(self.stack.flink_home, python, job, restore_from)
        # The Flink configuration the cluster runs with (and its catalog settings).
        render_all(self.stack, self.lakehouse)
        env = (
            os.environ
            | flink_environment(self.stack)
            # The program imports the checkout's packages, installed in the Flink venv or not.
            | {"PYTHONPATH": str(REPO_ROOT)}
            | job.environment(self.job_settings)
        )
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        (self.jobs_dir / f"{folder_name(job.name)}.cmd").write_text(" ".join(command) + "\n")
        try:
            result = subprocess.run(
                command,
                env=env,
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=self.settings.sql_client_timeout_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SubmitError(
                f"`flink run` did not submit {job.script} in "
                f"{self.settings.sql_client_timeout_seconds:.0f}s"
            ) from exc
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise SubmitError(
                f"`flink run` failed on {job.script} (exit {result.returncode}):\n" + output[-3000:]
            )
        job_id = parse_flink_run_job_id(output)
        self.ledger.record(Submission(job.name, job_id, now_iso(), restore_from, str(job.script)))
        return job_id

    def _check_restored(self, job_id: str, restore_from: str) -> None:
        restored = self.flink.checkpoints(job_id).restored
        if restored is None or local_path(restored.external_path) != local_path(restore_from):
            raise SubmitError(
                f"job {job_id} was asked to resume from {restore_from} but Flink reports "
                f"{restored.external_path if restored else 'no restore'}"
            )
        self.say(f"  restored checkpoint #{restored.checkpoint_id} from {restored.external_path}")

    # -- stopping ------------------------------------------------------------------------

    def stop(self, job_name: str) -> list[Stopped]:
        """Stops every active job of that name with a savepoint in its own folder."""
        stopped = []
        for job in self.flink.jobs_named(job_name, ACTIVE_STATES):
            if job.state != "RUNNING":
                raise SubmitError(
                    f"{job_name} (job {job.job_id}) is {job.state}: only a RUNNING job can take "
                    f"a savepoint; cancel it with `python -m flink_jobs.submit cancel --job "
                    f"{job_name}` (its last retained checkpoint is kept)"
                )
            self.say(f"{job_name}: stopping job {job.job_id} with a savepoint")
            savepoint = self.flink.stop_with_savepoint(
                job.job_id,
                self.state_dirs.savepoints_of(job_name),
                timeout=self.settings.savepoint_timeout_seconds,
            )
            self.say(f"{job_name}: stopped; savepoint {savepoint}")
            stopped.append(Stopped(job_name, job.job_id, savepoint))
        if stopped:
            self.prune(job_name)
        return stopped

    def cancel(self, job_name: str) -> list[Cancelled]:
        """Cancels every active job of that name; its retained checkpoints stay on disk."""
        cancelled = []
        for job in self.flink.jobs_named(job_name, ACTIVE_STATES):
            checkpoint = self.flink.latest_checkpoint_path(job.job_id)
            self.flink.cancel(job.job_id)
            self.flink.wait_for_terminal(job.job_id, timeout=self.settings.running_timeout_seconds)
            self.say(
                f"{job_name}: cancelled job {job.job_id}; last checkpoint {checkpoint or 'none'}"
            )
            cancelled.append(Cancelled(job_name, job.job_id, checkpoint))
        return cancelled

    # -- listing -------------------------------------------------------------------------

    def job_rows(self) -> list[JobRow]:
        return [
            JobRow(job.name, job.job_id, job.state, job.start_time, self._last_checkpoint(job))
            for job in self.flink.jobs()
        ]

    def _last_checkpoint(self, job: JobSummary) -> str:
        try:
            checkpoints = self.flink.checkpoints(job.job_id)
        except FlinkRestError:
            return "?"
        candidates = [c for c in (checkpoints.latest_completed, checkpoints.latest_savepoint) if c]
        if not candidates:
            return "none"
        latest = max(candidates, key=lambda c: c.checkpoint_id)
        kind = "savepoint " if latest.is_savepoint else ""
        when = f" at {latest.completed_at:%H:%M:%S}" if latest.completed_at else ""
        return f"{kind}#{latest.checkpoint_id}{when}  {latest.external_path}"


def format_job_rows(rows: Sequence[JobRow]) -> str:
    """The `make jobs` table: active jobs first, each group newest first."""
    ordered = sorted(rows, key=lambda r: r.state not in ACTIVE_STATES)
    header = ("NAME", "JOB ID", "STATE", "STARTED (UTC)", "LAST CHECKPOINT")
    table = [header] + [
        (
            r.name,
            r.job_id,
            r.state,
            f"{r.started:%Y-%m-%d %H:%M:%S}" if r.started else "-",
            r.last_checkpoint,
        )
        for r in ordered
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in table
    )


# -- command line --------------------------------------------------------------------------

COMMANDS = ("submit", "list", "stop", "cancel")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m flink_jobs.submit",
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


def select_jobs(names: Sequence[str] | None) -> list[Job]:
    try:
        jobs = registered_jobs()
    except ImportError as exc:
        raise SubmitError(f"the job registry (flink_jobs/jobs.py) cannot be loaded: {exc}") from exc
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


def run_submit(submitter: Submitter, args: argparse.Namespace) -> int:
    jobs = select_jobs(args.job)
    if args.restore_from and len(jobs) != 1:
        raise SubmitError("--restore-from needs exactly one --job")
    submitter.wait_for_platform()
    mode = RestoreMode.LATEST
    if args.fresh:
        mode = RestoreMode.FRESH
    elif args.from_checkpoint:
        mode = RestoreMode.CHECKPOINT
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
