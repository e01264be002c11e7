"""The scale-out benchmark's pure parts: the rows and their ratios to one instance, the
rates a side-stream run gives, the second TaskManager's command line (nothing of it may
collide with the platform's TaskManager), the JobManager answers it reads, the job copy
rendered at a parallelism, and its settings."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest

from bench import scaleout
from bench.cli import build_parser, selected, settings_from
from bench.flink import at_parallelism
from bench.pipeline import Pipeline, make_submitter
from bench.scaleout import (
    ENRICHMENT_PART,
    FLINK_PART,
    GATEWAY_PART,
    RECOVERY_PART,
    SECOND_TASKMANAGER,
    Measured,
    Part,
    completed_recoveries_per_s,
    dynamic_properties,
    enrichments_per_s,
    flink_measured,
    gateway_measured,
    hosting_taskmanagers,
    instance_counts,
    ratio_series,
    registered_slots,
    scaleout_rows,
    second_taskmanager_launch,
    sidestream_measured,
)
from bench.settings import BENCHMARKS, BenchSettings
from bench.sidestream import Execution, Figures, worker_names
from deploy.flink.policy import RestoreMode
from deploy.local.services import FLINK_TASKMANAGER, flink_environment, flink_taskmanager_command
from deploy.local.settings import StackSettings
from streaming.settings import KafkaSettings
from workflows.ids import recovery_workflow_id


def test_each_rate_is_against_the_one_instance_rate_of_its_own_part():
    rows = scaleout_rows(
        [
            Measured(FLINK_PART, 1, 1000.0, "events/s"),
            Measured(FLINK_PART, 2, 1800.0, "events/s"),
            Measured(FLINK_PART, 4, 900.0, "events/s"),
            Measured(GATEWAY_PART, 1, 2000.0, "requests/s", "p99 9 ms"),
            Measured(GATEWAY_PART, 2, 3000.0, "requests/s"),
        ]
    )
    ratios = {(r["part"], r["instances"]): r["ratio_to_one"] for r in rows}
    assert ratios[(FLINK_PART, 1)] == 1.0
    assert ratios[(FLINK_PART, 2)] == 1.8
    assert ratios[(FLINK_PART, 4)] == 0.9  # fewer is reported as fewer
    assert ratios[(GATEWAY_PART, 2)] == 1.5
    assert list(rows[3]) == ["part", "instances", "rate", "unit", "ratio_to_one", "detail"]
    assert rows[3]["unit"] == "requests/s" and rows[3]["detail"] == "p99 9 ms"


def test_a_ratio_without_a_usable_one_instance_rate_is_nan():
    rows = scaleout_rows(
        [
            Measured(RECOVERY_PART, 1, 0.0, "recoveries/s"),
            Measured(RECOVERY_PART, 2, 5.0, "recoveries/s"),
            Measured(GATEWAY_PART, 2, 3000.0, "requests/s"),
            Measured(ENRICHMENT_PART, 1, math.nan, "enrichments/s"),
            Measured(ENRICHMENT_PART, 2, 10.0, "enrichments/s"),
        ]
    )
    assert all(math.isnan(r["ratio_to_one"]) for r in rows)


def test_one_instance_is_always_measured_and_each_count_once():
    assert instance_counts([4, 2, 2]) == [1, 2, 4]
    assert instance_counts([1, 2]) == [1, 2]
    assert instance_counts([]) == [1]


def test_the_plot_has_one_line_per_part_and_the_linear_ideal():
    rows = scaleout_rows(
        [
            Measured(FLINK_PART, 1, 100.0, "events/s"),
            Measured(FLINK_PART, 4, 250.0, "events/s"),
            Measured(GATEWAY_PART, 1, 10.0, "requests/s"),
            Measured(GATEWAY_PART, 2, 12.0, "requests/s"),
        ]
    )
    series = ratio_series(rows)
    assert series[FLINK_PART] == ([1.0, 4.0], [1.0, 2.5])
    assert series[GATEWAY_PART] == ([1.0, 2.0], [1.0, 1.2])
    assert series["linear (ideal)"] == ([1.0, 4.0], [1.0, 4.0])


def side_stream_run() -> Figures:
    """Four events from t=100, one a failed payment; three enriched, the last at t=104."""
    figures = Figures(rate=2.0, load_seconds=2.0)
    figures.sent_at = {"a": 100.0, "b": 100.5, "c": 101.0, "d": 101.5}
    figures.failed_ids = {"c", "d"}
    figures.results_at = {"a": [101.0], "b": [102.0, 101.5], "c": [104.0], "x": [99.0]}
    figures.recoveries = [
        Execution(recovery_workflow_id("c"), "COMPLETED", started=101.5, closed=103.0),
        Execution(recovery_workflow_id("d"), "FAILED", started=102.0, closed=106.0),
    ]
    return figures


def test_enrichments_per_second_run_from_the_first_append_to_the_last_first_result():
    # a, b and c (not x: it was never sent) in the 4 s from a's append to c's result.
    assert enrichments_per_s(side_stream_run()) == 3 / 4.0


def test_recoveries_per_second_count_the_completed_ones_only():
    # c completed at 103, 2 s after the first failed payment's append (101); d failed.
    assert completed_recoveries_per_s(side_stream_run()) == 1 / 2.0
    assert completed_recoveries_per_s(Figures(rate=1.0)) == 0.0


def test_a_side_stream_run_gives_an_enrichment_and_a_recovery_row():
    enrichment, recovery = sidestream_measured(2, side_stream_run())
    assert (enrichment.part, enrichment.instances, enrichment.unit) == (
        ENRICHMENT_PART,
        2,
        "enrichments/s",
    )
    assert enrichment.rate == 0.75
    assert enrichment.detail.startswith("3 of 4 enriched, lag p95 ")
    assert (recovery.part, recovery.unit, recovery.rate) == (RECOVERY_PART, "recoveries/s", 0.5)
    assert recovery.detail.startswith("1 of 2 completed")


def test_a_gateway_step_reports_its_achieved_rate_and_p99():
    step = {
        "target_rate": 3000,
        "achieved_rate": 2412.5,
        "latency_ms": {"p50": 3.0, "p95": 20.0, "p99": 48.25, "max": 90.0},
        "errors": 3,
        "server_cpu_percent": 99.6,
        "client_cpu_percent": 31.0,
    }
    measured = gateway_measured(2, step)
    assert (measured.part, measured.instances, measured.rate) == (GATEWAY_PART, 2, 2412.5)
    assert measured.detail == "p99 48.2 ms, 3 errors, server CPU 100%, client CPU 31%"


def test_a_drain_says_where_it_ran_and_whether_it_finished():
    second = f"{SECOND_TASKMANAGER}-abc"
    drained = {
        "events_per_s": 9000.0,
        "steady_events_per_s": 9500.0,
        "complete": True,
        "taskmanagers": ["127.0.0.1:40000-platform", second],
    }
    measured = flink_measured(4, drained, second)
    assert (measured.part, measured.instances, measured.rate) == (FLINK_PART, 4, 9000.0)
    assert measured.detail == "on 2 TaskManager(s), the second among them; steady 9,500 events/s"
    short = {**drained, "steady_events_per_s": math.nan, "complete": False, "taskmanagers": []}
    assert flink_measured(1, short, second).detail == (
        "TaskManagers unknown; not drained within the timeout"
    )


def fake_flink_home(repo: Path) -> StackSettings:
    """Settings whose Flink distribution is a folder of the test's (no PyFlink needed)."""
    (repo / ".venv-flink" / "lib" / "python3.11" / "site-packages" / "pyflink" / "bin").mkdir(
        parents=True
    )
    return StackSettings(repo_root=repo, run_dir=repo / ".run")


def overrides_of(command: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for flag, value in pairwise(command):
        if flag == "-D":
            key, _, setting = value.partition("=")
            pairs.append((key, setting))
    return pairs


def test_the_platforms_taskmanager_command_is_as_it_was(tmp_path: Path):
    stack = fake_flink_home(tmp_path)
    assert flink_taskmanager_command(stack, FLINK_TASKMANAGER) == [
        str(stack.flink_home / "bin" / "taskmanager.sh"),
        "start-foreground",
        "-D",
        "metrics.reporter.promgateway.jobName=flink-taskmanager",
    ]


def test_the_second_taskmanager_shares_nothing_that_could_collide(tmp_path: Path):
    stack = fake_flink_home(tmp_path / "repo")
    folder = tmp_path / "run" / "scaleout-taskmanager"
    launch = second_taskmanager_launch(stack, folder, "abc123")

    # The platform's distribution and configuration folder...
    platform = flink_taskmanager_command(stack, FLINK_TASKMANAGER)
    assert launch.command[:2] == platform[:2]
    assert launch.env["FLINK_CONF_DIR"] == flink_environment(stack)["FLINK_CONF_DIR"]
    assert launch.env["JAVA_HOME"] == flink_environment(stack)["JAVA_HOME"]
    # ...with every override once, and none of the platform's TaskManager's identities.
    pairs = overrides_of(launch.command)
    settings = dict(pairs)
    assert len(settings) == len(pairs)
    assert launch.resource_id == f"{SECOND_TASKMANAGER}-abc123"
    assert settings["taskmanager.resource-id"] == launch.resource_id
    assert settings["metrics.reporter.promgateway.jobName"] == launch.resource_id
    assert launch.resource_id != FLINK_TASKMANAGER
    for key in ("taskmanager.rpc.port", "taskmanager.data.port"):
        assert settings[key] == "0"
    assert settings["metrics.internal.query-service.port"] == "0"
    for key in ("io.tmp.dirs", "process.taskmanager.working-dir"):
        assert Path(settings[key]).is_relative_to(folder)
    for key in ("FLINK_LOG_DIR", "FLINK_PID_DIR"):
        assert Path(launch.env[key]).is_relative_to(folder)
    assert launch.env["FLINK_LOG_DIR"] != flink_environment(stack)["FLINK_LOG_DIR"]


def test_two_launches_have_two_resource_ids(tmp_path: Path):
    stack = fake_flink_home(tmp_path)
    first = second_taskmanager_launch(stack, tmp_path / "a", "one")
    again = second_taskmanager_launch(stack, tmp_path / "b", "two")
    assert first.resource_id != again.resource_id


def test_dynamic_properties_are_flinks_dash_d_pairs():
    assert dynamic_properties({"a.b": "1", "c": "x=y"}) == ["-D", "a.b=1", "-D", "c=x=y"]


def test_the_second_taskmanager_counts_once_the_jobmanager_lists_its_slots():
    body = {
        "taskmanagers": [
            {"id": "127.0.0.1:37001-4f1a2b", "slotsNumber": 4, "freeSlots": 1},
            {"id": "bench-scaleout-taskmanager-abc", "slotsNumber": 4, "freeSlots": 4},
        ]
    }
    assert registered_slots(body, "bench-scaleout-taskmanager-abc") == 4
    assert registered_slots(body, "bench-scaleout-taskmanager-zzz") == 0
    assert registered_slots({}, "bench-scaleout-taskmanager-abc") == 0


def test_the_taskmanagers_of_a_job_are_those_of_all_its_vertices():
    answers = [
        {"taskmanagers": [{"taskmanager-id": "tm-b", "endpoint": "127.0.0.1:1"}]},
        {"taskmanagers": [{"taskmanager-id": "tm-a"}, {"taskmanager-id": "tm-b"}]},
        {"taskmanagers": [{"endpoint": "no id"}, {"taskmanager-id": "(unassigned)"}]},
        {},
    ]
    assert hosting_taskmanagers(answers) == ["tm-a", "tm-b"]


def test_a_job_copy_is_rendered_at_the_asked_parallelism_and_the_submitter_is_restored(
    tmp_path: Path,
):
    submitter = make_submitter("5s", tmp_path)
    try:
        topics = {"charges": "t.c", "refunds": "t.r", "disputes": "t.d", "subscriptions": "t.s"}
        p = Pipeline("abc", topics, "ns_abc", "127.0.0.1:1", submitter, KafkaSettings())
        job = p.validation_job("bench-scaleout-p4-abc")
        before = submitter.job_settings
        with at_parallelism(submitter, 4):
            assert submitter.job_settings.parallelism == 4
            script = submitter.preview(job, RestoreMode.FRESH)
        assert "SET 'parallelism.default' = '4';" in script
        assert submitter.job_settings is before
        with at_parallelism(submitter, None):
            assert submitter.job_settings is before
        assert "SET 'parallelism.default' = '4';" not in submitter.preview(job, RestoreMode.FRESH)
    finally:
        submitter.flink.close()


def test_one_worker_keeps_the_side_streams_own_log_name():
    assert worker_names(1) == ["worker"]
    assert worker_names(2) == ["worker1", "worker2"]


def test_scaleout_is_registered_with_full_and_quick_sizes():
    assert "scaleout" in BENCHMARKS
    assert selected("scaleout") == ["scaleout"]
    full, quick = BenchSettings(), BenchSettings().quick()
    assert full.scaleout_flink_parallelisms == [1, 2, 4]
    assert full.scaleout_gateway_workers == [1, 2]
    assert full.scaleout_sidestream_workers == [1, 2]
    assert full.scaleout_gateway_rate == 3000
    assert full.scaleout_sidestream_rate == 200.0
    assert quick.scaleout_flink_messages < full.scaleout_flink_messages
    assert quick.scaleout_gateway_seconds < full.scaleout_gateway_seconds
    assert quick.scaleout_gateway_rate < full.scaleout_gateway_rate
    assert quick.scaleout_sidestream_seconds < full.scaleout_sidestream_seconds
    assert quick.scaleout_sidestream_rate < full.scaleout_sidestream_rate


def test_scaleout_lists_come_from_flags():
    args = build_parser().parse_args(
        ["--only", "scaleout", "--quick", "--scaleout-flink-parallelisms", "1,3"]
    )
    assert settings_from(args).scaleout_flink_parallelisms == [1, 3]
    with pytest.raises(ValueError):
        BenchSettings(scaleout_flink_parallelisms=[])
    with pytest.raises(ValueError):
        BenchSettings(scaleout_gateway_workers=[0, 2])


def test_a_broken_part_does_not_lose_the_others(tmp_path: Path, monkeypatch):
    def measured(settings: BenchSettings, out: Path) -> Part:
        return Part(
            [Measured(GATEWAY_PART, 1, 10.0, "requests/s"), Measured(GATEWAY_PART, 2, 15.0, "r")],
            {"raw": 1},
            "Gateway: measured.",
        )

    def broken(settings: BenchSettings, out: Path) -> Part:
        raise RuntimeError("no JobManager")

    monkeypatch.setattr(scaleout, "PARTS", {"flink": broken, "gateway": measured})
    result = scaleout.run(BenchSettings(), tmp_path)

    assert result.measured
    assert [r["ratio_to_one"] for r in result.rows] == [1.0, 1.5]
    assert "flink: not measured (RuntimeError: no JobManager)." in result.reason
    assert "Gateway: measured." in result.reason
    assert "CPUs" in result.reason
    assert result.data["parts"] == {"gateway": {"raw": 1}}
    assert Path(result.plots[0]).is_file()

    monkeypatch.setattr(scaleout, "PARTS", {"flink": broken})
    assert not scaleout.run(BenchSettings(), tmp_path).measured
