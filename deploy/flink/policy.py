"""What the submitter does: submit a job unless a copy of it runs, resuming from its newest
restore point; stop with a savepoint; cancel; list; prune old restore points.

One submitter at a time per job name (a lock file); every submission is recorded in a
ledger (job ids do not outlive their jobs, restore points are found by them). The script
of each submission is written to `.run/flink/jobs/<job>.sql` and run by a `Runner`.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.flink.flink_rest import ACTIVE_STATES, FlinkRest, FlinkRestError, JobSummary
from deploy.flink.restore import (
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
from deploy.flink.runner import Runner, SqlClientRunner, SubmitError, render_submission
from deploy.local.readiness import NotReady, flink_ready, kafka_ready
from deploy.local.settings import StackSettings
from flink_jobs.job import JobSettings, SqlJob
from lakehouse.clients import load_catalog
from lakehouse.settings import LakehouseSettings

# How the submitter is run by hand, in the hints of its errors.
CLI = "python -m deploy.flink.submit"


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
        runner: Runner | None = None,
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
        self.runner = runner or SqlClientRunner(
            stack, lakehouse, settings.sql_client_timeout_seconds
        )

    # -- waiting for the platform --------------------------------------------------------

    def wait_for_platform(self) -> None:
        timeout = self.settings.platform_timeout_seconds
        self.say(f"Waiting for Flink, Kafka and the catalog (up to {timeout:.0f}s)")
        deadline = time.monotonic() + timeout
        for name, check in (
            ("flink", lambda: flink_ready(self.stack, self.lakehouse)),
            ("kafka", lambda: kafka_ready(self.stack, self.lakehouse)),
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

    def _slots_free(self, slots_needed: int) -> str:
        """Enough free slots for a job of `slots_needed` (the platform is up by now)."""
        try:
            overview = self.flink.overview()
        except FlinkRestError as exc:
            raise NotReady(str(exc)) from exc
        if overview.slots_available < slots_needed:
            raise NotReady(
                f"{overview.slots_available} of {overview.slots_total} slots free, "
                f"{slots_needed} needed (`make jobs` shows what runs)"
            )
        return f"{overview.slots_available}/{overview.slots_total} slots free"

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

    def restore_point(
        self, job_name: str, mode: RestoreMode, *, ask_flink: bool = True
    ) -> RestorePoint | None:
        """The newest restore point of the job on disk; `ask_flink=False` finds the job's
        ids in the ledger only, without a cluster."""
        if mode is RestoreMode.FRESH:
            return None
        kinds: tuple[RestoreKind, ...] = (
            ("checkpoint",) if mode is RestoreMode.CHECKPOINT else ("savepoint", "checkpoint")
        )
        job_ids = self.known_job_ids(job_name) if ask_flink else self.ledger.job_ids(job_name)
        return newest_restore_point(self.state_dirs, job_name, job_ids, kinds=kinds)

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
        job: SqlJob,
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
                lambda: self._slots_free(self.job_settings.parallelism),
                time.monotonic() + self.settings.platform_timeout_seconds,
            )
            script = self.write_script(job, restore_from)
            job_id = self.runner.run(script)
            self.ledger.record(Submission(name, job_id, now_iso(), restore_from, str(script)))
        self.say(f"{name}: submitted as job {job_id}; waiting until it runs")
        try:
            details = self.flink.wait_until_running(
                job_id, timeout=self.settings.running_timeout_seconds
            )
        except FlinkRestError as exc:
            raise SubmitError(
                f"{exc}\n  web UI: {self.flink.web_ui_url(job_id)}\n  stop it with "
                f"`{CLI} cancel --job {name}`"
            ) from exc
        if details.name != name:
            raise SubmitError(
                f"job {job_id} is named {details.name!r}, not {name!r}: the submitter recognises "
                "a running copy by its name, so the script must set 'pipeline.name' to it"
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

    def script_path(self, job_name: str) -> Path:
        return self.jobs_dir / f"{folder_name(job_name)}.sql"

    def preview(
        self, job: SqlJob, mode: RestoreMode = RestoreMode.LATEST, restore_from: str | None = None
    ) -> str:
        """The script `submit` would run now, found without a cluster (the restore point
        from the ledger and the state folders)."""
        if restore_from is None and (point := self.restore_point(job.name, mode, ask_flink=False)):
            restore_from = str(point.path)
        return render_submission(job, self.job_settings, restore_from)

    def write_script(self, job: SqlJob, restore_from: str | None) -> Path:
        """The script of the submission, where the run folder keeps it."""
        script = self.script_path(job.name)
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(render_submission(job, self.job_settings, restore_from))
        return script

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
                    f"a savepoint; cancel it with `{CLI} cancel --job {job_name}` (its last "
                    "retained checkpoint is kept)"
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
