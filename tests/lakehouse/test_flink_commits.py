"""The expiry rule for Flink restore points, on real PyIceberg tables (SQLite catalog).

Each test commits snapshots the way the Iceberg Flink committer and a compaction do (same
summary properties), expires with PyIceberg at the cutoff the rule gives (Trino's
`expire_snapshots` expires the same way: every snapshot committed before the cutoff),
and then walks the history as a restored committer would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

from deploy.flink.restore import StateDirs, restorable_job_ids
from lakehouse.flink_commits import (
    FLINK_JOB_ID,
    FLINK_OPERATOR_ID,
    MAX_COMMITTED_CHECKPOINT_ID,
    NOTHING_COMMITTED,
    current_ancestry,
    flink_commit,
    max_committed_checkpoint_id,
    protection,
)

JOB_1 = "a1" * 16
JOB_2 = "b2" * 16
SINK = "c3" * 16
OTHER_SINK = "d4" * 16


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Table]:
    catalog = SqlCatalog(
        "test", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri()
    )
    catalog.create_namespace("ns")
    yield catalog.create_table("ns.events", schema=pa.schema([("id", pa.int64())]))
    catalog.engine.dispose()


def rows(*ids: int) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64())})


def commit_as_flink(table: Table, job_id: str, checkpoint_id: int, operator_id: str = SINK) -> None:
    """An append as the Iceberg Flink committer makes it."""
    table.append(
        rows(checkpoint_id),
        snapshot_properties={
            FLINK_JOB_ID: job_id,
            FLINK_OPERATOR_ID: operator_id,
            MAX_COMMITTED_CHECKPOINT_ID: str(checkpoint_id),
        },
    )
    time.sleep(0.01)  # distinct commit times, as real checkpoints have


def compaction(table: Table) -> None:
    """A commit of another writer (optimize): it becomes the current snapshot."""
    table.overwrite(table.scan().to_arrow())
    time.sleep(0.01)


def expire_before(table: Table, cutoff_ms: int) -> None:
    cutoff = datetime.fromtimestamp(cutoff_ms / 1000, tz=UTC)
    table.maintenance.expire_snapshots().older_than(cutoff).commit()


def expire_all_but_current(table: Table) -> None:
    """What a 0 s retention does."""
    expire_before(table, int(time.time() * 1000) + 1)


def committed(table: Table, job_id: str, operator_id: str = SINK) -> int:
    """What a committer of that job, restored now, believes it has committed."""
    chain = current_ancestry(table.metadata.snapshots, table.metadata.current_snapshot_id)
    return max_committed_checkpoint_id(chain, job_id, operator_id)


def checkpoints_left(table: Table) -> list[int]:
    commits = [flink_commit(snapshot) for snapshot in table.metadata.snapshots]
    return sorted(commit.checkpoint_id for commit in commits if commit)


def needed(table: Table, restorable: set[str]):
    table.refresh()
    return protection(table.metadata.snapshots, table.metadata.current_snapshot_id, restorable)


def test_expiring_all_but_the_current_snapshot_loses_the_commit_a_savepoint_needs(table):
    for checkpoint in (1, 2, 3):
        commit_as_flink(table, JOB_1, checkpoint)
    compaction(table)
    assert committed(table, JOB_1) == 3

    expire_all_but_current(table)

    # The restored committer would commit checkpoint 3's files a second time.
    assert committed(table, JOB_1) == NOTHING_COMMITTED


def test_expiry_at_the_protection_keeps_the_chain_back_to_the_jobs_newest_commit(table):
    for checkpoint in (1, 2, 3):
        commit_as_flink(table, JOB_1, checkpoint)
    compaction(table)
    compaction(table)

    kept = needed(table, {JOB_1})
    assert kept is not None and kept.job_id == JOB_1
    expire_before(table, kept.since_ms)

    assert committed(table, JOB_1) == 3
    # Only what the walk needs stays: checkpoint 3's commit and the compactions after it.
    assert checkpoints_left(table) == [3]


def test_a_savepoint_folder_names_only_a_prefix_of_the_job_id(table):
    commit_as_flink(table, JOB_1, 7)
    compaction(table)

    kept = needed(table, {JOB_1[:6]})
    assert kept is not None
    expire_before(table, kept.since_ms)

    assert committed(table, JOB_1) == 7


def test_the_oldest_restorable_job_decides(table):
    # Job 1 stopped with a savepoint, job 2 resumed from it; both savepoints are on disk.
    commit_as_flink(table, JOB_1, 1)
    commit_as_flink(table, JOB_1, 2)
    commit_as_flink(table, JOB_2, 3)
    commit_as_flink(table, JOB_2, 4)
    compaction(table)

    both = needed(table, {JOB_1, JOB_2})
    only_job_2 = needed(table, {JOB_2})
    assert both is not None and only_job_2 is not None
    assert (both.job_id, only_job_2.job_id) == (JOB_1, JOB_2)
    assert both.since_ms < only_job_2.since_ms

    expire_before(table, only_job_2.since_ms)
    assert (committed(table, JOB_2), committed(table, JOB_1)) == (4, NOTHING_COMMITTED)


def test_every_operator_of_a_restorable_job_keeps_its_own_newest_commit(table):
    # Two sinks of one job write the same table; the other one committed last long ago.
    commit_as_flink(table, JOB_1, 1, operator_id=OTHER_SINK)
    commit_as_flink(table, JOB_1, 2)
    commit_as_flink(table, JOB_1, 3)
    compaction(table)

    kept = needed(table, {JOB_1})
    assert kept is not None
    expire_before(table, kept.since_ms)

    assert committed(table, JOB_1, OTHER_SINK) == 1
    assert committed(table, JOB_1) == 3


def test_nothing_is_kept_for_jobs_without_a_restore_point(table):
    commit_as_flink(table, JOB_1, 1)
    compaction(table)

    assert needed(table, {JOB_2}) is None
    assert needed(table, set()) is None


def test_a_table_without_snapshots_needs_nothing(table):
    assert needed(table, {JOB_1}) is None


def complete(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "_metadata").write_bytes(b"")
    return folder


def test_restorable_jobs_are_those_with_a_complete_savepoint_or_checkpoint(tmp_path):
    dirs = StateDirs(tmp_path / "checkpoints", tmp_path / "savepoints")
    complete(dirs.checkpoints / JOB_1 / "chk-12")
    (dirs.checkpoints / JOB_1 / "shared").mkdir()
    (dirs.checkpoints / JOB_2 / "chk-3").mkdir(parents=True)  # still being written
    complete(dirs.savepoints_of("payments-validation") / "savepoint-0a1b2c-0123456789ab")
    complete(dirs.savepoints / "savepoint-3d4e5f-ba9876543210")
    (dirs.savepoints / "savepoint-666666-000000000000").mkdir()  # no _metadata

    assert restorable_job_ids(dirs) == {JOB_1, "0a1b2c", "3d4e5f"}


def test_no_state_folders_means_no_restorable_job(tmp_path):
    assert restorable_job_ids(StateDirs(tmp_path / "x", tmp_path / "y")) == frozenset()
