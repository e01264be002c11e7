"""The side-stream benchmark's pure parts and the `make up` times the footprint reports:
the spread of failed payments, the figures a run's raw observations give, the settings its
bridge and worker get, and which `up.log` line counts."""

from __future__ import annotations

from bench.footprint import last_up
from bench.messages import unified_event
from bench.settings import BenchSettings
from bench.sidestream import (
    Execution,
    Figures,
    is_failed,
    process_env,
    recovery_start_delays,
    row,
    run_settings,
)
from contracts.tables import UNIFIED_COLUMNS
from deploy.local.settings import StackSettings
from deploy.local.stack import UP_LOG, Stack
from lakehouse.settings import LakehouseSettings
from workflows.ids import recovery_workflow_id
from workflows.settings import WorkflowSettings


def test_failed_payments_are_spread_at_the_asked_share():
    flags = [is_failed(n, 0.1) for n in range(1000)]
    assert sum(flags) == 100
    # Any 10 consecutive events hold exactly one failed payment.
    assert all(sum(flags[i : i + 10]) == 1 for i in range(0, 990))
    assert not any(is_failed(n, 0.0) for n in range(100))
    assert all(is_failed(n, 1.0) for n in range(100))


def test_unified_events_have_the_topics_columns_and_stable_ids():
    event = unified_event(3, "run1", "payment.failed")
    assert list(event) == [name for name, _ in UNIFIED_COLUMNS]
    assert event["status"] == "failed" and event["failure_code"] == "insufficient_funds"
    assert event["event_id"] == unified_event(3, "run1")["event_id"]
    assert event["event_id"] != unified_event(3, "run2")["event_id"]


def test_the_runs_bridge_and_worker_get_its_own_names_from_their_environment(monkeypatch):
    settings = BenchSettings(sidestream_batch_size=77, sidestream_delay_scale=1e-6)
    workflow = run_settings(settings, "abc123", "http://127.0.0.1:9999")
    env = process_env(workflow)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    seen_by_process = WorkflowSettings()
    assert seen_by_process.task_queue == "bench-enrichment-abc123"
    assert seen_by_process.source_topic == "bench.abc123.payments.normalized"
    assert seen_by_process.sink_topic == "bench.abc123.payments.enriched"
    assert seen_by_process.consumer_group == "bench-bridge-abc123"
    assert seen_by_process.recovery_table == "bench_recovery_attempts_abc123"
    assert seen_by_process.claims_table == "bench_enrichment_claims_abc123"
    assert seen_by_process.inference_url == "http://127.0.0.1:9999"
    assert seen_by_process.batch_size == 77
    assert seen_by_process.recovery_delay_scale == 1e-6


def test_a_runs_figures_come_from_its_observations():
    figures = Figures(rate=10.0, load_seconds=2.0)
    figures.sent_at = {"a": 100.0, "b": 100.5, "c": 101.0}
    figures.failed_ids = {"c"}
    # a: one result 2 s later; b: two copies (the first counts); c: none yet.
    figures.results_at = {"a": [102.0], "b": [104.0, 103.5]}
    figures.recoveries = [
        Execution(recovery_workflow_id("c"), "COMPLETED", started=101.25, closed=102.0),
    ]
    figures.enrichments = [Execution("enrich-x-0-0-1", "COMPLETED", 100.1, 101.0)]

    figures_row = row(figures)

    assert figures_row["sent"] == 3
    assert figures_row["achieved_eps"] == 1.5
    assert figures_row["enriched"] == 2
    assert figures_row["extra_copies"] == 1
    assert figures_row["workflows"] == 1
    assert figures_row["lag_p50_s"] == 2.0
    assert figures_row["lag_max_s"] == 3.0
    assert figures_row["recoveries"] == 1 and figures_row["not_completed"] == 0
    assert figures_row["recovery_p95_s"] == 0.75
    assert recovery_start_delays(figures) == [0.25]


def test_recoveries_still_running_count_as_not_completed_and_have_no_latency():
    figures = Figures(rate=1.0, load_seconds=1.0)
    figures.sent_at = {"c": 10.0}
    figures.failed_ids = {"c"}
    figures.recoveries = [Execution(recovery_workflow_id("c"), "RUNNING", 11.0, None)]
    figures_row = row(figures)
    assert figures_row["not_completed"] == 1
    assert figures_row["recovery_p95_s"] != figures_row["recovery_p95_s"]  # NaN: none closed


def test_the_newest_cold_make_up_is_reported_before_a_newer_warm_one(tmp_path):
    log = tmp_path / "up.log"
    log.write_text(
        "2026-12-01T10:00:00Z Platform ready in 95s (started 13 of 13 services)\n"
        "2026-12-01T11:00:00Z Platform ready in 88s (started 13 of 13 services)\n"
        "2026-12-01T12:00:00Z Platform ready in 4s (started 0 of 13 services)\n"
    )
    up = last_up(log)
    assert up is not None and (up.seconds, up.cold, up.at) == (88, True, "2026-12-01T11:00:00Z")

    log.write_text("2026-12-01T12:00:00Z Platform ready in 4s (started 2 of 13 services)\n")
    up = last_up(log)
    assert up is not None and (up.seconds, up.cold, up.started) == (4, False, 2)

    assert last_up(tmp_path / "missing.log") is None


def test_what_make_up_records_is_what_the_footprint_reads(tmp_path):
    stack = Stack(StackSettings(run_dir=tmp_path), LakehouseSettings())
    stack.settings.log_dir.mkdir(parents=True)
    stack.record_up(91.4, started=len(stack.services))
    stack.record_up(3.2, started=1)
    up = last_up(stack.settings.log_dir / UP_LOG)
    assert up is not None and (up.seconds, up.cold) == (91, True)
    assert up.services == len(stack.services)
