"""Old savepoints and checkpoints of ended jobs are pruned to the newest N per job name."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.flink.policy import SubmitterSettings
from deploy.flink.restore import StateDirs, find_restore_points, prune_restore_points
from tests.deploy.flink.test_submit import JOB_ID_A, JOB_ID_B, make_state

NAME = "payments-validation"


@pytest.fixture
def dirs(tmp_path: Path) -> StateDirs:
    return StateDirs(tmp_path / "checkpoints", tmp_path / "savepoints")


def savepoints(dirs: StateDirs, ages: list[int]) -> list[Path]:
    own = dirs.savepoints_of(NAME)
    return [make_state(own / f"savepoint-988b46-{age:012x}", age) for age in ages]


def test_only_the_newest_points_are_kept(dirs: StateDirs):
    newest, middle, oldest = savepoints(dirs, [10, 20, 30])
    checkpoint = make_state(dirs.checkpoints / JOB_ID_A / "chk-7", 40)

    pruned = prune_restore_points(dirs, NAME, [JOB_ID_A], keep=2)

    assert sorted(pruned) == sorted([oldest, checkpoint])
    assert [p.path for p in find_restore_points(dirs, NAME, [JOB_ID_A])] == [newest, middle]
    # The ended job's folder (and its incremental `shared/` files) goes with its last chk-N.
    assert not (dirs.checkpoints / JOB_ID_A).exists()


def test_an_active_jobs_checkpoints_are_flinks_to_manage(dirs: StateDirs):
    running = [make_state(dirs.checkpoints / JOB_ID_B / f"chk-{n}", 50 + n) for n in (1, 2)]
    [newest, older] = savepoints(dirs, [10, 20])

    pruned = prune_restore_points(dirs, NAME, [JOB_ID_B], keep=1, active_job_ids=[JOB_ID_B])

    assert pruned == [older]
    assert newest.exists() and all(p.exists() for p in running)


def test_a_job_folder_keeps_its_newer_checkpoints(dirs: StateDirs):
    newer = make_state(dirs.checkpoints / JOB_ID_A / "chk-9", 10)
    older = make_state(dirs.checkpoints / JOB_ID_A / "chk-8", 20)
    shared = dirs.checkpoints / JOB_ID_A / "shared"
    shared.mkdir()

    assert prune_restore_points(dirs, NAME, [JOB_ID_A], keep=1) == [older]
    assert newer.exists() and shared.exists()


def test_the_point_a_job_was_started_from_is_kept_whatever_its_age(dirs: StateDirs):
    newest, middle, oldest = savepoints(dirs, [10, 20, 30])

    pruned = prune_restore_points(dirs, NAME, [], keep=1, protected=[oldest])

    assert pruned == [middle]
    assert newest.exists() and oldest.exists()


def test_other_job_names_are_not_touched(dirs: StateDirs):
    savepoints(dirs, [10, 20])
    other = make_state(dirs.savepoints_of("payments-normalization") / "savepoint-4f761b-01", 99)

    prune_restore_points(dirs, NAME, [], keep=1)

    assert other.exists()


def test_keeping_nothing_is_refused(dirs: StateDirs):
    with pytest.raises(ValueError, match="at least 1"):
        prune_restore_points(dirs, NAME, [], keep=0)
    with pytest.raises(ValueError):
        SubmitterSettings(restore_points_retained=0)
