"""Where a job can resume from: its savepoints and retained checkpoints on disk.

Flink names checkpoint folders by job id (`<checkpoints>/<job-id>/chk-N/_metadata`), and a
job id does not outlive its job, so the submitter keeps a ledger of every submission (job
name, job id, time, what it resumed from). Savepoints taken by the submitter go to a
folder per job name (`<savepoints>/<job-name>/savepoint-*`); savepoints taken elsewhere
into the cluster's default folder (`<savepoints>/savepoint-<first 6 of job id>-*`) are
matched to a job name through the ledger as well.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

METADATA = "_metadata"
CHECKPOINT_FOLDER = re.compile(r"^chk-(\d+)$")
DEFAULT_SAVEPOINT_FOLDER = re.compile(r"^savepoint-([0-9a-f]{6})-[0-9a-f]+$")

RestoreKind = Literal["savepoint", "checkpoint"]


@dataclass(frozen=True)
class Submission:
    job_name: str
    job_id: str
    submitted_at: str
    restored_from: str | None
    script: str


class SubmissionLedger:
    """A JSON list of every submission, safe against concurrent submitters."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> list[Submission]:
        if not self.path.exists():
            return []
        return [Submission(**entry) for entry in json.loads(self.path.read_text())]

    def submissions(self) -> list[Submission]:
        with self._locked():
            return self._read()

    def record(self, submission: Submission) -> None:
        with self._locked():
            entries = [asdict(s) for s in self._read()] + [asdict(submission)]
            # Written beside and renamed over, so a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name)
            with os.fdopen(fd, "w") as out:
                json.dump(entries, out, indent=2)
                out.write("\n")
            os.replace(tmp, self.path)

    def job_ids(self, job_name: str) -> list[str]:
        return [s.job_id for s in self.submissions() if s.job_name == job_name]

    def job_name(self, job_id: str) -> str | None:
        return next((s.job_name for s in self.submissions() if s.job_id == job_id), None)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RestorePoint:
    kind: RestoreKind
    # The folder holding `_metadata`: what `execution.state-recovery.path` takes.
    path: Path
    created_at: datetime
    job_id: str | None = None


@dataclass(frozen=True)
class StateDirs:
    """The cluster's checkpoint and savepoint folders (local file system)."""

    checkpoints: Path
    savepoints: Path

    def savepoints_of(self, job_name: str) -> Path:
        return self.savepoints / folder_name(job_name)


def folder_name(job_name: str) -> str:
    """A job name as one safe folder name."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", job_name)
    return name if name.strip(".") else f"job_{name}"


def _metadata_time(folder: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp((folder / METADATA).stat().st_mtime, tz=UTC)
    except FileNotFoundError:
        # A checkpoint still being written, or removed while we looked.
        return None


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def find_restore_points(
    dirs: StateDirs, job_name: str, job_ids: Collection[str]
) -> list[RestorePoint]:
    """Every complete savepoint and retained checkpoint of that job name, newest first."""
    points: list[RestorePoint] = []
    for folder in _subfolders(dirs.savepoints_of(job_name)):
        if created := _metadata_time(folder):
            points.append(RestorePoint("savepoint", folder, created))
    prefixes = {job_id[:6]: job_id for job_id in job_ids}
    for folder in _subfolders(dirs.savepoints):
        match = DEFAULT_SAVEPOINT_FOLDER.match(folder.name)
        if match and match.group(1) in prefixes and (created := _metadata_time(folder)):
            points.append(RestorePoint("savepoint", folder, created, prefixes[match.group(1)]))
    for job_id in job_ids:
        for folder in _subfolders(dirs.checkpoints / job_id):
            if CHECKPOINT_FOLDER.match(folder.name) and (created := _metadata_time(folder)):
                points.append(RestorePoint("checkpoint", folder, created, job_id))
    return sorted(points, key=_recency, reverse=True)


def _recency(point: RestorePoint) -> tuple[datetime, int, int]:
    # Same second: the savepoint wins (it was taken deliberately), then the higher chk-N.
    match = CHECKPOINT_FOLDER.match(point.path.name)
    return (point.created_at, point.kind == "savepoint", int(match.group(1)) if match else 0)


def restorable_job_ids(dirs: StateDirs) -> frozenset[str]:
    """Every job a complete savepoint or retained checkpoint on disk may resume, of any name.

    A checkpoint gives its job's whole id (its folder's name); a savepoint folder only the
    first 6 hex digits of the id of the job that took it, which is all Flink writes into
    its name. Callers match ids by prefix: a false match only keeps more.
    """
    ids: set[str] = set()
    for folder in _subfolders(dirs.checkpoints):
        if any(
            CHECKPOINT_FOLDER.match(chk.name) and _metadata_time(chk) for chk in _subfolders(folder)
        ):
            ids.add(folder.name)
    # Savepoints into the cluster's default folder, and into one folder per job name.
    for folder in _subfolders(dirs.savepoints):
        for candidate in [folder, *_subfolders(folder)]:
            match = DEFAULT_SAVEPOINT_FOLDER.match(candidate.name)
            if match and _metadata_time(candidate):
                ids.add(match.group(1))
    return frozenset(ids)


def newest_restore_point(
    dirs: StateDirs,
    job_name: str,
    job_ids: Collection[str],
    kinds: Collection[RestoreKind] = ("savepoint", "checkpoint"),
) -> RestorePoint | None:
    points = [p for p in find_restore_points(dirs, job_name, job_ids) if p.kind in kinds]
    return points[0] if points else None


def prune_restore_points(
    dirs: StateDirs,
    job_name: str,
    job_ids: Collection[str],
    keep: int,
    active_job_ids: Collection[str] = (),
    protected: Collection[Path] = (),
) -> list[Path]:
    """Deletes all but the newest `keep` restore points of that job name; returns them.

    Savepoints and retained checkpoints are never pruned by Flink once their job has ended,
    and each one that stays on disk also holds back snapshot expiry (lakehouse maintenance
    keeps what any restore point may need), so without this they pile up for ever. Points
    of a job that is still active are Flink's to manage (`state.checkpoints.num-retained`)
    and neither counted nor touched; `protected` (the point a job was just started from)
    is kept whatever its age. A checkpoint's job folder goes with its last `chk-N`: its
    `shared/` files belong to that job's checkpoints only.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    active = set(active_job_ids)
    kept = {local.resolve() for local in protected}
    points = [
        p
        for p in find_restore_points(dirs, job_name, job_ids)
        if p.kind == "savepoint" or p.job_id not in active
    ]
    pruned = []
    for point in points[keep:]:
        if point.path.resolve() in kept:
            continue
        shutil.rmtree(point.path, ignore_errors=True)
        pruned.append(point.path)
        job_folder = point.path.parent
        if point.kind == "checkpoint" and not any(
            CHECKPOINT_FOLDER.match(p.name) for p in _subfolders(job_folder)
        ):
            shutil.rmtree(job_folder, ignore_errors=True)
    return pruned
