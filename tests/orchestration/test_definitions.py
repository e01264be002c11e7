"""The Dagster definitions load (as `make dagster` loads them) with everything wired."""

from __future__ import annotations

import importlib

import pytest

from observability.thresholds import AlertThresholds
from orchestration.quarantine import judge_quarantine
from orchestration.resources import QuarantineThresholds
from orchestration.settings import OrchestrationSettings


@pytest.fixture(scope="module")
def definitions():
    # Imported when a test asks: loading the definitions parses the dbt project.
    return importlib.import_module("orchestration.definitions")


@pytest.fixture(scope="module")
def repository(definitions):
    return definitions.defs.get_repository_def()


def test_dbt_models_are_assets(repository):
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert {
        "gold/fct_payments",
        "silver/stg_charges",
        "silver/subscription_status_snapshot",
    } <= keys
    assert "silver/currencies" in keys


def test_quarantine_checks_on_the_staging_models_freshness_on_the_sources(repository):
    checks = {key.to_user_string() for key in repository.asset_graph.asset_check_keys}
    for table in (
        "payment_charges",
        "payment_refunds",
        "payment_disputes",
        "payment_subscriptions",
    ):
        assert f"silver/stg_{table.removeprefix('payment_')}:quarantine_rate_{table}" in checks
        assert f"payments/{table}:source_freshness" in checks
    assert "silver/stg_payments:quarantine_rate_payments" in checks
    assert "payments/payments:source_freshness" in checks
    assert "payments/payment_enrichments:source_freshness" in checks
    assert "payments/quarantine_payments:source_freshness" not in checks  # opted out
    # dbt tests come along as asset checks
    assert "gold/fct_payments:unique_fct_payments_payment_id" in checks


def test_jobs_and_schedules(repository):
    assert {
        "silver_hourly",
        "gold_daily",
        "iceberg_maintenance",
        "streaming_health_checks",
        "monitoring",
    } <= set(repository.job_names)
    crons = {s.job_name: s.cron_schedule for s in repository.schedule_defs}
    assert crons == {
        "silver_hourly": "5 * * * *",
        "gold_daily": "30 1 * * *",
        "iceberg_maintenance": "0 3 * * *",
        "monitoring": "*/5 * * * *",
    }


def test_the_monitoring_job_runs_the_monitoring_assets_and_their_checks(definitions, repository):
    graph = repository.asset_graph
    selection = definitions.monitoring_job.selection
    assets = {key.to_user_string() for key in selection.resolve(graph)}
    assert assets == {
        "monitoring/pipeline_health",
        "monitoring/workflow_metrics",
        "monitoring/payment_success",
    }
    checks = {key.to_user_string() for key in selection.resolve_checks(graph)}
    assert checks == {
        f"monitoring/pipeline_health:{name}"
        for name in ("consumer_lag", "quarantine_share", "no_data", "flink_backpressure")
    }


def test_the_monitoring_resources_come_from_the_settings(definitions):
    resources = definitions.defs.resources
    assert resources["prometheus"].url == OrchestrationSettings().prometheus_url
    thresholds = AlertThresholds()
    assert resources["alert_thresholds"].consumer_lag_messages == thresholds.consumer_lag_messages
    assert resources["alert_thresholds"].quarantine_share == thresholds.quarantine_share


def test_the_hourly_silver_run_includes_the_streaming_checks(definitions, repository):
    graph = repository.asset_graph
    assets = {key.to_user_string() for key in definitions.silver_selection.resolve(graph)}
    checks = {key.name for key in definitions.silver_selection.resolve_checks(graph)}
    assert "silver/stg_charges" in assets and "gold/fct_payments" not in assets
    assert "quarantine_rate_payment_charges" in checks
    assert "source_freshness" in checks


DEFAULT = QuarantineThresholds()


@pytest.mark.parametrize(
    ("accepted", "quarantined", "passed"),
    [
        (0, 0, True),  # nothing arrived: no rate to judge
        (10_000, 100, True),  # at the row limit, 1 %
        (10_000, 101, False),  # one row over the limit
        (50, 5, True),  # 9.1 %
        (40, 5, False),  # 11.1 % > 10 %
    ],
)
def test_quarantine_verdict_uses_both_limits(accepted, quarantined, passed):
    verdict = judge_quarantine(accepted, quarantined, DEFAULT)
    assert verdict.passed is passed, verdict.description
    assert (DEFAULT.max_rows, DEFAULT.max_rate_pct, DEFAULT.window_minutes) == (100, 10.0, 60)
