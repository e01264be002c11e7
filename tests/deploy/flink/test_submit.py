"""The job submitter: pure parts here, the whole life cycle on the real cluster below."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.flink.flink_rest import (
    ACTIVE_STATES,
    parse_checkpoints,
    parse_job_details,
    parse_jobs_overview,
)
from deploy.flink.policy import (
    JobRow,
    RestoreMode,
    Submitter,
    format_job_rows,
    local_path,
)
from deploy.flink.restore import (
    StateDirs,
    Submission,
    SubmissionLedger,
    find_restore_points,
    folder_name,
    newest_restore_point,
)
from deploy.flink.runner import (
    RESTORE_PATH_KEY,
    SubmitError,
    parse_job_id,
    render_submission,
    sql_client_error,
)
from deploy.flink.submit import parse_args
from flink_jobs.job import JobSettings, SqlJob

JOB_ID_A = "988b46e8cb5c189923761319faf0978a"
JOB_ID_B = "4f761b4ef8c2a4d36c5636aa8282ccfe"


def sql_job(name: str = "payments-validation", script: str = "INSERT INTO t SELECT 1;") -> SqlJob:
    return SqlJob(name=name, description="a test job", render=lambda settings: script)


# -- script rendering and SQL client output ------------------------------------------------


def test_submission_sets_name_and_restore_path_before_the_jobs_statements():
    script = render_submission(sql_job(), JobSettings(), "/state/savepoint-988b46-0a1b2c3d4e5f")
    lines = [line for line in script.splitlines() if line and not line.startswith("--")]
    assert lines == [
        "SET 'pipeline.name' = 'payments-validation';",
        f"SET '{RESTORE_PATH_KEY}' = '/state/savepoint-988b46-0a1b2c3d4e5f';",
        "INSERT INTO t SELECT 1;",
    ]
    assert RESTORE_PATH_KEY == "execution.state-recovery.path"


def test_fresh_submission_has_no_restore_path_and_quotes_are_escaped():
    script = render_submission(sql_job("o'brien"), JobSettings(), None)
    assert "state-recovery" not in script
    assert "SET 'pipeline.name' = 'o''brien';" in script


def test_the_jobs_own_pipeline_name_must_be_the_jobs_name():
    agreeing = sql_job(
        script="SET 'pipeline.name' = 'payments-validation';\nINSERT INTO t SELECT 1;"
    )
    rendered = render_submission(agreeing, JobSettings(), None)
    assert "INSERT INTO t" in rendered
    assert rendered.count("'pipeline.name'") == 1  # the job's own, not the header's again
    other = sql_job(script="SET 'pipeline.name' = 'something-else';\nINSERT INTO t SELECT 1;")
    with pytest.raises(SubmitError, match="something-else"):
        render_submission(other, JobSettings(), None)


SUBMITTED = (
    "Flink SQL> \x1b[34;1m[INFO] Submitting SQL update statement to the cluster...\x1b[0m\n"
    "\x1b[34;1m[INFO] SQL update statement has been successfully submitted to the cluster:"
    f"\x1b[0m\nJob ID: {JOB_ID_A}\n\n\nFlink SQL> \nShutting down the session...\ndone.\n"
)
FAILED = (
    "Flink SQL> \x1b[31;1m[ERROR] Could not execute SQL statement. Reason:\n"
    "java.io.FileNotFoundException: Cannot find checkpoint or savepoint file/directory "
    "'/nope' on file system 'file'.\x1b[0m\n\nShutting down the session...\ndone.\n"
)


def test_job_id_is_read_from_the_sql_clients_colored_output():
    assert parse_job_id(SUBMITTED) == JOB_ID_A
    assert sql_client_error(SUBMITTED) is None


def test_sql_client_errors_are_found_although_it_exits_zero():
    error = sql_client_error(FAILED)
    assert error is not None
    assert error.startswith("[ERROR] Could not execute SQL statement.")
    assert "Cannot find checkpoint or savepoint" in error
    with pytest.raises(SubmitError, match="found 0"):
        parse_job_id(FAILED)


def test_flink_and_plain_paths_compare_equal():
    assert local_path("file:/a/b/chk-3") == local_path("/a/b/chk-3")
    assert local_path("file:///a/b/") == Path("/a/b")
    assert local_path("file:/a/b") != local_path("/a/c")


# -- ledger and restore points on disk ------------------------------------------------------


def test_ledger_keeps_every_submission_across_instances(tmp_path: Path):
    path = tmp_path / "flink" / "submissions.json"
    SubmissionLedger(path).record(
        Submission("a", JOB_ID_A, "2026-01-01T00:00:00+00:00", None, "a.sql")
    )
    SubmissionLedger(path).record(
        Submission("b", JOB_ID_B, "2026-01-02T00:00:00+00:00", "/sp", "b.sql")
    )
    ledger = SubmissionLedger(path)
    assert ledger.job_ids("a") == [JOB_ID_A]
    assert ledger.job_name(JOB_ID_B) == "b"
    assert ledger.submissions()[1].restored_from == "/sp"
    assert ledger.job_ids("unknown") == []


def make_state(folder: Path, age_seconds: float) -> Path:
    folder.mkdir(parents=True)
    metadata = folder / "_metadata"
    metadata.write_bytes(b"x")
    when = time.time() - age_seconds
    os.utime(metadata, (when, when))
    return folder


@pytest.fixture
def dirs(tmp_path: Path) -> StateDirs:
    return StateDirs(tmp_path / "checkpoints", tmp_path / "savepoints")


def test_newest_restore_point_is_chosen_among_savepoints_and_checkpoints(dirs: StateDirs):
    own = dirs.savepoints_of("payments-validation")
    make_state(own / "savepoint-988b46-aaaaaaaaaaaa", age_seconds=300)
    newest_savepoint = make_state(own / "savepoint-988b46-bbbbbbbbbbbb", age_seconds=200)
    make_state(dirs.checkpoints / JOB_ID_A / "chk-7", age_seconds=400)
    newest_checkpoint = make_state(dirs.checkpoints / JOB_ID_B / "chk-12", age_seconds=100)
    # Not restore points: an unfinished checkpoint, another job's state, Flink's own folders.
    (dirs.checkpoints / JOB_ID_B / "chk-13").mkdir()
    (dirs.checkpoints / JOB_ID_B / "shared").mkdir()
    make_state(dirs.checkpoints / ("f" * 32) / "chk-99", age_seconds=1)
    make_state(dirs.savepoints_of("other-job") / "savepoint-ffffff-cccccccccccc", age_seconds=1)

    ids = [JOB_ID_A, JOB_ID_B]
    points = find_restore_points(dirs, "payments-validation", ids)
    assert [p.path for p in points][:2] == [newest_checkpoint, newest_savepoint]
    assert len(points) == 4

    latest = newest_restore_point(dirs, "payments-validation", ids)
    assert latest is not None
    assert (latest.kind, latest.path, latest.job_id) == ("checkpoint", newest_checkpoint, JOB_ID_B)
    only_savepoints = newest_restore_point(dirs, "payments-validation", ids, kinds=("savepoint",))
    assert only_savepoints is not None and only_savepoints.path == newest_savepoint


def test_a_savepoint_newer_than_every_checkpoint_wins(dirs: StateDirs):
    make_state(dirs.checkpoints / JOB_ID_A / "chk-7", age_seconds=60)
    savepoint = make_state(
        dirs.savepoints_of("payments-validation") / "savepoint-988b46-aaaaaaaaaaaa", age_seconds=5
    )
    latest = newest_restore_point(dirs, "payments-validation", [JOB_ID_A])
    assert latest is not None and (latest.kind, latest.path) == ("savepoint", savepoint)


def test_savepoints_in_the_clusters_default_folder_are_matched_by_job_id(dirs: StateDirs):
    ours = make_state(dirs.savepoints / f"savepoint-{JOB_ID_A[:6]}-0123456789ab", age_seconds=5)
    make_state(dirs.savepoints / "savepoint-abcdef-0123456789ab", age_seconds=1)
    latest = newest_restore_point(dirs, "payments-validation", [JOB_ID_A])
    assert latest is not None and (latest.path, latest.job_id) == (ours, JOB_ID_A)


def test_no_state_means_no_restore_point(dirs: StateDirs):
    assert newest_restore_point(dirs, "payments-validation", [JOB_ID_A]) is None


def test_job_names_become_safe_folder_names():
    assert folder_name("payments-validation") == "payments-validation"
    assert folder_name("a/b c") == "a_b_c"
    assert folder_name("..") == "job_.."


# -- REST responses and the command line ---------------------------------------------------


def test_restore_information_is_parsed_from_the_checkpoints_endpoint():
    body = {
        "counts": {"completed": 5, "failed": 1},
        "latest": {
            "completed": {
                "id": 12,
                "is_savepoint": False,
                "latest_ack_timestamp": 1795319578232,
                "external_path": "file:/x/checkpoints/j/chk-12",
            },
            "savepoint": None,
            "failed": None,
            "restored": {
                "id": 7,
                "restore_timestamp": 1795319598793,
                "is_savepoint": True,
                "external_path": "file:/x/savepoints/job/savepoint-e80795-6080c0bb1292",
            },
        },
    }
    checkpoints = parse_checkpoints(body)
    assert checkpoints.latest_completed is not None
    assert checkpoints.latest_completed.external_path.endswith("chk-12")
    assert checkpoints.restored is not None
    assert checkpoints.restored.checkpoint_id == 7
    assert checkpoints.restored.restored_at == datetime.fromtimestamp(1795319598.793, tz=UTC)
    empty = parse_checkpoints({"counts": {}, "latest": {"completed": None, "restored": None}})
    assert (empty.latest_completed, empty.restored) == (None, None)


def test_a_job_runs_only_when_every_task_runs():
    def details(state: str, *statuses: str):
        return parse_job_details(
            {
                "jid": JOB_ID_A,
                "name": "j",
                "state": state,
                "vertices": [{"name": f"v{i}", "status": s} for i, s in enumerate(statuses)],
            }
        )

    assert details("RUNNING", "RUNNING", "RUNNING").fully_running
    assert not details("RUNNING", "RUNNING", "SCHEDULED").fully_running
    assert not details("RESTARTING", "RUNNING").fully_running


def test_jobs_overview_is_newest_first_and_knows_active_states():
    jobs = parse_jobs_overview(
        {
            "jobs": [
                {"jid": JOB_ID_A, "name": "a", "state": "CANCELED", "start-time": 1, "end-time": 2},
                {"jid": JOB_ID_B, "name": "a", "state": "RUNNING", "start-time": 5, "end-time": -1},
            ]
        }
    )
    assert [j.job_id for j in jobs] == [JOB_ID_B, JOB_ID_A]
    assert [j.active for j in jobs] == [True, False]
    assert jobs[0].end_time is None


def test_job_table_lists_active_jobs_first():
    started = datetime(2026, 1, 1, tzinfo=UTC)
    table = format_job_rows(
        [
            JobRow("old", JOB_ID_A, "CANCELED", started, "none"),
            JobRow("payments-validation", JOB_ID_B, "RUNNING", started, "#3 at 00:00:09  file:/c"),
        ]
    ).splitlines()
    assert table[0].split() == [
        "NAME",
        "JOB",
        "ID",
        "STATE",
        "STARTED",
        "(UTC)",
        "LAST",
        "CHECKPOINT",
    ]
    assert table[1].startswith("payments-validation")
    assert table[2].startswith("old")


def test_submit_is_the_default_command():
    args = parse_args(["--job", "payments-validation", "--fresh"])
    assert (args.command, args.job, args.fresh) == ("submit", ["payments-validation"], True)
    assert parse_args([]).command == "submit"
    assert parse_args(["stop", "--all"]).all
    with pytest.raises(SystemExit):
        parse_args(["--fresh", "--from-checkpoint"])


# -- on the real cluster -------------------------------------------------------------------


def ticks_job(name: str, namespace: str, catalog) -> SqlJob:
    """A test-only streaming job: generated rows into an Iceberg table, checkpointed."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField, StringType

    def render(settings: JobSettings) -> str:
        return f"""
SET 'pipeline.name' = '{name}';
SET 'execution.runtime-mode' = 'streaming';
SET 'execution.checkpointing.interval' = '{settings.checkpoint_interval}';
SET 'parallelism.default' = '{settings.parallelism}';
CREATE TEMPORARY TABLE generated (id BIGINT, note STRING) WITH (
  'connector' = 'datagen', 'rows-per-second' = '20', 'fields.note.length' = '8'
);
INSERT INTO lakehouse.{namespace}.ticks SELECT id, note FROM generated;
"""

    def prepare(settings: JobSettings) -> None:
        schema = Schema(
            NestedField(1, "id", LongType(), required=False),
            NestedField(2, "note", StringType(), required=False),
        )
        catalog.create_table_if_not_exists(f"{namespace}.ticks", schema=schema)

    return SqlJob(name=name, description="datagen into Iceberg", render=render, prepare=prepare)


@pytest.fixture
def test_job(namespace: str, catalog, forget_jobs) -> SqlJob:
    job = ticks_job(f"it-submit-{uuid.uuid4().hex[:8]}", namespace, catalog)
    forget_jobs(job.name)
    return job


def active_copies(submitter: Submitter, name: str) -> list[str]:
    return [j.job_id for j in submitter.flink.jobs_named(name, ACTIVE_STATES)]


def wait_for_committed_rows(
    submitter: Submitter, job_id: str, trino_rows, table: str, more_than: int = 0
) -> int:
    """Waits until the job has completed a checkpoint and committed rows Trino can see."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if submitter.flink.checkpoints(job_id).latest_completed:
            [(rows,)] = trino_rows(f"SELECT count(*) FROM {table}")
            if rows > more_than:
                return int(rows)
        time.sleep(1)
    pytest.fail(f"job {job_id} committed no more than {more_than} rows to {table} within 60s")


@pytest.mark.integration
def test_submit_runs_one_copy_and_resumes_from_savepoint_and_checkpoint(
    submitter: Submitter, test_job: SqlJob, namespace: str, trino_rows
):
    name, table = test_job.name, f"{namespace}.ticks"

    first = submitter.submit(test_job)
    assert first.started and first.state == "RUNNING"
    assert first.restored_from is None
    assert (submitter.jobs_dir / f"{name}.sql").read_text().count("INSERT INTO") == 1

    again = submitter.submit(test_job)
    assert not again.started
    assert again.job_id == first.job_id
    assert active_copies(submitter, name) == [first.job_id]

    rows_before_stop = wait_for_committed_rows(submitter, first.job_id, trino_rows, table)
    [stopped] = submitter.stop(name)
    assert stopped.job_id == first.job_id
    savepoint = local_path(stopped.savepoint)
    assert (savepoint / "_metadata").is_file()
    assert savepoint.parent == submitter.state_dirs.savepoints_of(name)
    assert active_copies(submitter, name) == []

    resumed = submitter.submit(test_job)
    assert resumed.started and resumed.job_id != first.job_id
    assert resumed.restored_from is not None and local_path(resumed.restored_from) == savepoint
    restored = submitter.flink.checkpoints(resumed.job_id).restored
    assert restored is not None and local_path(restored.external_path) == savepoint
    assert submitter.flink.job(resumed.job_id).state == "RUNNING"
    assert active_copies(submitter, name) == [resumed.job_id]
    wait_for_committed_rows(submitter, resumed.job_id, trino_rows, table, rows_before_stop)

    # Cancelled, the job leaves a retained checkpoint, found through the ledger's job id.
    [cancelled] = submitter.cancel(name)
    assert cancelled.last_checkpoint is not None
    point = submitter.restore_point(name, RestoreMode.CHECKPOINT)
    assert point is not None and point.kind == "checkpoint"
    assert point.job_id == resumed.job_id
    assert (point.path / "_metadata").is_file()

    from_checkpoint = submitter.submit(test_job, RestoreMode.CHECKPOINT)
    assert from_checkpoint.started
    restored = submitter.flink.checkpoints(from_checkpoint.job_id).restored
    assert restored is not None and local_path(restored.external_path) == point.path
    assert active_copies(submitter, name) == [from_checkpoint.job_id]
    assert [s.job_id for s in submitter.ledger.submissions()] == [
        first.job_id,
        resumed.job_id,
        from_checkpoint.job_id,
    ]


@pytest.mark.integration
def test_a_failing_submission_is_reported_with_the_sql_clients_error(
    submitter: Submitter, namespace: str, catalog
):
    job = ticks_job(f"it-broken-{uuid.uuid4().hex[:8]}", namespace, catalog)
    broken = SqlJob(
        name=job.name,
        description=job.description,
        render=lambda settings: job.render(settings).replace("SELECT id", "SELECT no_such_column"),
        prepare=job.prepare,
    )
    try:
        with pytest.raises(SubmitError, match="no_such_column"):
            submitter.submit(broken, RestoreMode.FRESH)
        assert active_copies(submitter, job.name) == []
        assert submitter.ledger.job_ids(job.name) == []
    finally:
        for suffix in (".sql", ".lock"):
            (submitter.jobs_dir / f"{job.name}{suffix}").unlink(missing_ok=True)


def test_a_savepoint_of_another_plan_says_how_to_start_the_new_sql():
    from deploy.flink.runner import unmappable_state_hint

    flink = "IllegalStateException: ... Cannot map checkpoint/savepoint state for operator 7d"
    assert "make submit FRESH=1" in unmappable_state_hint(flink)
    assert unmappable_state_hint("[ERROR] Object 'x' not found") == ""
