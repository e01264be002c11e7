"""Which snapshots a Flink job's Iceberg committer needs to find when it resumes.

Flink SQL writes Iceberg through the sink of iceberg-flink-runtime-2.1 (1.11): `FlinkSink`,
whose `IcebergFilesCommitter` runs unless `table.exec.iceberg.use-v2-sink` is set (this
project does not set it). Every snapshot that committer commits carries three summary
properties: `flink.job-id`, `flink.operator-id` and `flink.max-committed-checkpoint-id`.
A checkpoint or savepoint holds the id of the job that took it and the data files of its
checkpoint that were not committed yet when it was taken (they are committed a moment
later, when the checkpoint completes).

On restore the committer walks the table's history from the branch's current snapshot
through the parent ids, stops at the first snapshot of the restored job id (and of its
operator, or of no operator) and takes that snapshot's checkpoint id as committed; the
restored files of every later checkpoint are committed again. If the walk reaches an
expired parent first, it concludes that nothing was committed and commits the restored
files a second time, or fails on every restart when the temporary manifests listing
them were already deleted after the first commit.

So a restore point resumes correctly only while the whole chain from the current
snapshot back to the newest commit of its job, per operator, still exists. Another
writer's commits (compaction, which always makes a new current snapshot) put that
commit behind the current one, where a time-based expiry removes it. `protection`
finds the oldest snapshot any restore point needs; expiry must keep it and everything
newer. `max_committed_checkpoint_id` is the committer's own walk (Iceberg's
`SinkUtil.getMaxCommittedCheckpointId`), to check the rule against.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

FLINK_JOB_ID = "flink.job-id"
FLINK_OPERATOR_ID = "flink.operator-id"
MAX_COMMITTED_CHECKPOINT_ID = "flink.max-committed-checkpoint-id"
# What the committer concludes when its walk finds no commit of its job.
NOTHING_COMMITTED = -1


class SnapshotView(Protocol):
    """The parts of a snapshot the rule reads: PyIceberg's `Snapshot` has them too."""

    @property
    def snapshot_id(self) -> int: ...

    @property
    def parent_snapshot_id(self) -> int | None: ...

    @property
    def timestamp_ms(self) -> int: ...

    @property
    def summary(self) -> Mapping[str, Any] | None: ...


S = TypeVar("S", bound=SnapshotView)


@dataclass(frozen=True)
class FlinkCommit:
    job_id: str
    operator_id: str | None
    checkpoint_id: int


@dataclass(frozen=True)
class Protection:
    """Every snapshot committed at or after `since_ms` must survive (for `job_id`'s state)."""

    since_ms: int
    job_id: str


def flink_commit(snapshot: SnapshotView) -> FlinkCommit | None:
    """The Flink commit a snapshot records, if a Flink committer made it."""
    summary = snapshot.summary
    if summary is None:
        return None
    job_id = summary.get(FLINK_JOB_ID)
    checkpoint_id = summary.get(MAX_COMMITTED_CHECKPOINT_ID)
    if not job_id or checkpoint_id is None:
        return None
    return FlinkCommit(str(job_id), summary.get(FLINK_OPERATOR_ID) or None, int(checkpoint_id))


def current_ancestry(snapshots: Iterable[S], current_snapshot_id: int | None) -> list[S]:
    """The current snapshot and its ancestors, newest first, up to the first missing parent."""
    by_id = {snapshot.snapshot_id: snapshot for snapshot in snapshots}
    chain: list[S] = []
    next_id = current_snapshot_id
    while next_id is not None and (snapshot := by_id.get(next_id)) is not None:
        chain.append(snapshot)
        next_id = snapshot.parent_snapshot_id
    return chain


def max_committed_checkpoint_id(
    chain: Sequence[SnapshotView], job_id: str, operator_id: str
) -> int:
    """The checkpoint a restored committer of that job and operator believes it committed."""
    for snapshot in chain:
        commit = flink_commit(snapshot)
        if commit and commit.job_id == job_id and commit.operator_id in (None, operator_id):
            return commit.checkpoint_id
    return NOTHING_COMMITTED


def _restorable(job_id: str, restorable_job_ids: Collection[str]) -> bool:
    # Savepoint folders name only a prefix of the job id.
    return any(job_id.startswith(known) for known in restorable_job_ids)


def protection(
    snapshots: Iterable[SnapshotView],
    current_snapshot_id: int | None,
    restorable_job_ids: Collection[str],
) -> Protection | None:
    """What expiry must keep so every restorable job's committer still finds its commit.

    `restorable_job_ids` are the jobs with a savepoint or retained checkpoint on disk
    (whole ids or prefixes). None when no snapshot of the current history is needed.
    """
    chain = current_ancestry(snapshots, current_snapshot_id)
    deepest: tuple[int, str] | None = None
    seen: set[tuple[str, str | None]] = set()
    # A commit without an operator id stops the walk of every operator of its job.
    stopped_jobs: set[str] = set()
    for index, snapshot in enumerate(chain):
        commit = flink_commit(snapshot)
        if commit is None or commit.job_id in stopped_jobs:
            continue
        if not _restorable(commit.job_id, restorable_job_ids):
            continue
        key = (commit.job_id, commit.operator_id)
        if key in seen:
            continue
        seen.add(key)
        if commit.operator_id is None:
            stopped_jobs.add(commit.job_id)
        deepest = (index, commit.job_id)
    if deepest is None:
        return None
    index, job_id = deepest
    # Expiry is by commit time: keep from the earliest time anywhere on the needed chain.
    return Protection(min(snapshot.timestamp_ms for snapshot in chain[: index + 1]), job_id)
