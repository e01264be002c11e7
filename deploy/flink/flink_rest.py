"""A small typed client of the Flink REST API (the JobManager's port, also the web UI).

Only what the submitter needs: the cluster overview, jobs and their states, stop with a
savepoint, cancel, and checkpoint/restore information. Responses are parsed into frozen
dataclasses by pure `parse_*` functions, so their handling is testable without a cluster.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

# Flink's job states that end a job for good (SUSPENDED only ends it on this JobManager).
TERMINAL_STATES = frozenset({"FINISHED", "CANCELED", "FAILED", "SUSPENDED"})
# A job in any other state holds (or is about to hold) slots and writes its tables.
ACTIVE_STATES = frozenset(
    {
        "INITIALIZING",
        "CREATED",
        "RUNNING",
        "FAILING",
        "CANCELLING",
        "RESTARTING",
        "RECONCILING",
    }
)


class FlinkRestError(RuntimeError):
    """The JobManager refused a request, answered unexpectedly, or an operation failed."""


def _timestamp(millis: object) -> datetime | None:
    """Flink's epoch milliseconds; -1 or 0 mean "not yet"."""
    if not isinstance(millis, int) or millis <= 0:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


@dataclass(frozen=True)
class ClusterOverview:
    flink_version: str
    taskmanagers: int
    slots_total: int
    slots_available: int
    jobs_running: int


@dataclass(frozen=True)
class JobSummary:
    job_id: str
    name: str
    state: str
    start_time: datetime | None
    end_time: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@dataclass(frozen=True)
class VertexStatus:
    name: str
    status: str


@dataclass(frozen=True)
class JobDetails:
    job_id: str
    name: str
    state: str
    vertices: tuple[VertexStatus, ...]

    @property
    def fully_running(self) -> bool:
        """The job is RUNNING and so is every one of its tasks (not merely scheduled)."""
        return (
            self.state == "RUNNING"
            and bool(self.vertices)
            and all(v.status in ("RUNNING", "FINISHED") for v in self.vertices)
        )


@dataclass(frozen=True)
class CompletedCheckpoint:
    checkpoint_id: int
    external_path: str
    is_savepoint: bool
    completed_at: datetime | None


@dataclass(frozen=True)
class RestoredCheckpoint:
    checkpoint_id: int
    external_path: str
    is_savepoint: bool
    restored_at: datetime | None


@dataclass(frozen=True)
class JobCheckpoints:
    completed_count: int
    failed_count: int
    latest_completed: CompletedCheckpoint | None
    latest_savepoint: CompletedCheckpoint | None
    restored: RestoredCheckpoint | None


def parse_overview(body: Mapping[str, Any]) -> ClusterOverview:
    return ClusterOverview(
        flink_version=str(body.get("flink-version", "?")),
        taskmanagers=int(body.get("taskmanagers", 0)),
        slots_total=int(body.get("slots-total", 0)),
        slots_available=int(body.get("slots-available", 0)),
        jobs_running=int(body.get("jobs-running", 0)),
    )


def parse_jobs_overview(body: Mapping[str, Any]) -> list[JobSummary]:
    """`/jobs/overview`, newest first."""
    jobs = [
        JobSummary(
            job_id=job["jid"],
            name=job["name"],
            state=job["state"],
            start_time=_timestamp(job.get("start-time")),
            end_time=_timestamp(job.get("end-time")),
        )
        for job in body.get("jobs", [])
    ]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(jobs, key=lambda job: job.start_time or oldest, reverse=True)


def parse_job_details(body: Mapping[str, Any]) -> JobDetails:
    return JobDetails(
        job_id=body["jid"],
        name=body["name"],
        state=body["state"],
        vertices=tuple(
            VertexStatus(name=v.get("name", "?"), status=v.get("status", "?"))
            for v in body.get("vertices", [])
        ),
    )


def _completed(entry: Mapping[str, Any] | None) -> CompletedCheckpoint | None:
    if not entry or not entry.get("external_path"):
        return None
    return CompletedCheckpoint(
        checkpoint_id=int(entry["id"]),
        external_path=entry["external_path"],
        is_savepoint=bool(entry.get("is_savepoint", False)),
        completed_at=_timestamp(entry.get("latest_ack_timestamp")),
    )


def parse_checkpoints(body: Mapping[str, Any]) -> JobCheckpoints:
    """`/jobs/:id/checkpoints`."""
    counts = body.get("counts", {})
    latest = body.get("latest", {})
    restored = latest.get("restored")
    return JobCheckpoints(
        completed_count=int(counts.get("completed", 0)),
        failed_count=int(counts.get("failed", 0)),
        latest_completed=_completed(latest.get("completed")),
        latest_savepoint=_completed(latest.get("savepoint")),
        restored=RestoredCheckpoint(
            checkpoint_id=int(restored["id"]),
            external_path=restored["external_path"],
            is_savepoint=bool(restored.get("is_savepoint", False)),
            restored_at=_timestamp(restored.get("restore_timestamp")),
        )
        if restored and restored.get("external_path")
        else None,
    )


def parse_root_exception(body: Mapping[str, Any]) -> str | None:
    """The newest failure of `/jobs/:id/exceptions`: its first lines, enough to act on."""
    entries = body.get("exceptionHistory", {}).get("entries", [])
    trace = entries[0].get("stacktrace") if entries else body.get("root-exception")
    if not trace:
        return None
    return "\n".join(str(trace).splitlines()[:6])


class FlinkRest:
    """The Flink REST API of one JobManager, e.g. `FlinkRest("http://127.0.0.1:8081")`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FlinkRest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def web_ui_url(self, job_id: str) -> str:
        return f"{self.base_url}/#/job/running/{job_id}/overview"

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise FlinkRestError(f"Flink REST {method} {path}: {exc}") from exc
        if response.status_code >= 400:
            errors = response.text
            with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
                errors = "; ".join(str(e).splitlines()[0] for e in response.json()["errors"])
            raise FlinkRestError(
                f"Flink REST {method} {path}: HTTP {response.status_code}: {errors}"
            )
        return response.json() if response.content else {}

    # -- reading -------------------------------------------------------------------------

    def overview(self) -> ClusterOverview:
        return parse_overview(self._request("GET", "/overview"))

    def jobs(self) -> list[JobSummary]:
        """Every job the JobManager remembers, newest first."""
        return parse_jobs_overview(self._request("GET", "/jobs/overview"))

    def jobs_named(self, name: str, states: Collection[str] | None = None) -> list[JobSummary]:
        return [
            job
            for job in self.jobs()
            if job.name == name and (states is None or job.state in states)
        ]

    def active_job(self, name: str) -> JobSummary | None:
        """The newest job of that name that is not finished, cancelled or failed."""
        active = self.jobs_named(name, ACTIVE_STATES)
        return active[0] if active else None

    def job(self, job_id: str) -> JobDetails:
        return parse_job_details(self._request("GET", f"/jobs/{job_id}"))

    def checkpoints(self, job_id: str) -> JobCheckpoints:
        return parse_checkpoints(self._request("GET", f"/jobs/{job_id}/checkpoints"))

    def latest_checkpoint_path(self, job_id: str) -> str | None:
        """Where the job's newest completed checkpoint lives, if it has one."""
        latest = self.checkpoints(job_id).latest_completed
        return latest.external_path if latest else None

    def root_exception(self, job_id: str) -> str | None:
        return parse_root_exception(self._request("GET", f"/jobs/{job_id}/exceptions"))

    # -- acting --------------------------------------------------------------------------

    def cancel(self, job_id: str) -> None:
        self._request("PATCH", f"/jobs/{job_id}", params={"mode": "cancel"})

    def stop_with_savepoint(
        self, job_id: str, target_directory: Path | str, *, timeout: float = 300.0
    ) -> str:
        """Stops the job after a savepoint into `target_directory`; returns its path.

        Waits for the savepoint and then for the job to reach a terminal state, so the
        caller can restart from the savepoint right away.
        """
        target = (
            target_directory.as_uri() if isinstance(target_directory, Path) else target_directory
        )
        trigger = self._request(
            "POST",
            f"/jobs/{job_id}/stop",
            json={"targetDirectory": target, "drain": False},
        )["request-id"]
        deadline = time.monotonic() + timeout
        while True:
            status = self._request("GET", f"/jobs/{job_id}/savepoints/{trigger}")
            if status.get("status", {}).get("id") == "COMPLETED":
                break
            if time.monotonic() > deadline:
                raise FlinkRestError(f"savepoint of job {job_id} not done after {timeout:.0f}s")
            time.sleep(0.5)
        operation = status.get("operation", {})
        if "failure-cause" in operation:
            cause = operation["failure-cause"]
            first = str(cause.get("stack-trace") or cause.get("class") or cause).splitlines()
            raise FlinkRestError(
                f"stop-with-savepoint of job {job_id} failed: {first[0] if first else cause}"
            )
        location = str(operation["location"])
        self.wait_for_terminal(job_id, timeout=max(deadline - time.monotonic(), 30.0))
        return location

    def wait_for_terminal(self, job_id: str, *, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.job(job_id).state
            if state in TERMINAL_STATES:
                return state
            if time.monotonic() > deadline:
                raise FlinkRestError(f"job {job_id} still {state} after {timeout:.0f}s")
            time.sleep(0.5)

    def wait_until_running(self, job_id: str, *, timeout: float) -> JobDetails:
        """Waits until the job and all its tasks run; fails fast if it fails or restarts."""
        deadline = time.monotonic() + timeout
        while True:
            details = self.job(job_id)
            if details.fully_running:
                return details
            if details.state in TERMINAL_STATES | {"FAILING", "RESTARTING"}:
                cause = self.root_exception(job_id)
                raise FlinkRestError(
                    f"job {details.name} ({job_id}) is {details.state} instead of RUNNING"
                    + (f":\n{cause}" if cause else "")
                )
            if time.monotonic() > deadline:
                pending = [
                    f"{v.name}: {v.status}" for v in details.vertices if v.status != "RUNNING"
                ]
                raise FlinkRestError(
                    f"job {details.name} ({job_id}) not running after {timeout:.0f}s "
                    f"(job {details.state}; {', '.join(pending) or 'no tasks'})"
                )
            time.sleep(0.5)
