"""The monitoring assets materialised in-process against the running platform's Prometheus
and Trino: they succeed, carry their figures, and each figure is what a direct query says.

Nothing here depends on what ran before (a fresh platform has no Flink job and no
workflow yet): the Prometheus figures are compared with Prometheus's own instant query
at the instant the asset read them, and payment success is read from a namespace of the
test's own, holding rows the test wrote. Nothing is written to the platform's topics or
tables.
"""

from __future__ import annotations

import math
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dagster import AssetCheckSeverity, materialize

from contracts.events import CHARGES
from contracts.tables import UNIFIED_TABLE
from deploy.local.readiness import NotReady, exporter_ready, prometheus_ready, worker_ready
from lakehouse.tables import ensure_tables
from observability import series
from observability.series import Pipeline
from observability.thresholds import AlertThresholds
from orchestration.payment_success import payment_success
from orchestration.pipeline_health import pipeline_health
from orchestration.resources import AlertThresholdsResource, PrometheusResource, TrinoResource
from orchestration.workflow_metrics import workflow_metrics
from tests.dbt.lakehouse_io import insert_rows

pytestmark = pytest.mark.integration

# Past the exporter's 10 s scrape timeout: by the time the test asks again, every sample
# up to the assets' instant has landed, so both reads see the same data.
DELAY_SECONDS = 20.0
PIPELINE_HEALTH_KEYS = {
    "evaluated_at",
    "consumer_lag",
    "consumer_lag_slope_per_s",
    "max_consumer_lag",
    "flink_backpressure",
    "iceberg_rows_per_s",
    "iceberg_rows_per_s_total",
    "validation_pass_rate",
    "quarantine_share",
    "quarantine_rows",
    "quarantine_rows_per_s",
    "input_messages",
    "rows_written",
}
CHECKS = {
    "consumer_lag": AssetCheckSeverity.ERROR,
    "quarantine_share": AssetCheckSeverity.ERROR,
    "no_data": AssetCheckSeverity.ERROR,
    "flink_backpressure": AssetCheckSeverity.WARN,
}


@pytest.fixture(scope="module")
def prometheus_url(stack_settings, lakehouse_settings) -> str:
    try:
        for ready in (prometheus_ready, exporter_ready, worker_ready):
            ready(stack_settings, lakehouse_settings)
    except NotReady as exc:
        pytest.fail(f"the platform's metrics are not up ({exc}): use `make test-integration`")
    return f"http://127.0.0.1:{stack_settings.prometheus_port}"


@pytest.fixture(scope="module")
def thresholds() -> AlertThresholdsResource:
    return AlertThresholdsResource.from_settings(AlertThresholds())


@pytest.fixture(scope="module")
def monitored(prometheus_url, thresholds):
    """pipeline_health and workflow_metrics, materialised once for the module."""
    result = materialize(
        [pipeline_health, workflow_metrics],
        resources={
            "prometheus": PrometheusResource(
                url=prometheus_url, evaluation_delay_seconds=DELAY_SECONDS
            ),
            "alert_thresholds": thresholds,
        },
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def metadata_of(result, node: str) -> dict[str, Any]:
    (materialization,) = result.asset_materializations_for_node(node)
    return {key: value.value for key, value in materialization.metadata.items()}


def direct(url: str, promql: str, at: float, label: str) -> dict[str, float | None]:
    """Prometheus's own instant query at `at`, by `label`; NaN read as None."""
    response = httpx.get(
        f"{url}/api/v1/query", params={"query": promql, "time": str(at)}, timeout=10
    )
    body = response.json()
    assert body["status"] == "success", body
    values = {}
    for sample in body["data"]["result"]:
        value = float(sample["value"][1])
        values[sample["metric"].get(label, "")] = None if math.isnan(value) else value
    return values


def test_pipeline_health_figures_are_prometheus_figures(monitored, prometheus_url, thresholds):
    figures = metadata_of(monitored, "monitoring__pipeline_health")
    assert set(figures) == PIPELINE_HEALTH_KEYS
    at = figures["evaluated_at"]
    assert datetime.now(UTC).timestamp() - at >= DELAY_SECONDS

    def query(promql: str, label: str) -> dict[str, float | None]:
        return direct(prometheus_url, promql, at, label)

    quarantine = '{kind="quarantine"}'
    assert figures["consumer_lag"] == query(series.GROUP_LAG, "group")
    assert figures["flink_backpressure"] == query(series.FLINK_BACKPRESSURE, "job_name")
    assert figures["iceberg_rows_per_s"] == query(series.TABLE_ROWS_RATE, "table")
    assert figures["quarantine_share"] == query(series.QUARANTINE_SHARE, "pipeline")
    assert figures["quarantine_rows"] == query(
        f"sum by (pipeline) ({series.TABLE_ROWS}{quarantine})", "pipeline"
    )
    # The exporter reports every table of every pipeline (zero rows on a fresh platform).
    assert set(figures["quarantine_rows"]) == {p.value for p in Pipeline}
    range_ = f"{round(thresholds.no_data_minutes * 60)}s"
    assert figures["rows_written"] == query(
        f"sum by (pipeline) (increase({series.TABLE_ROWS}[{range_}]))", "pipeline"
    )
    for pipeline in Pipeline:
        topics = "|".join(series.PIPELINE_INPUTS[pipeline])
        offsets = f'{series.TOPIC_END_OFFSET}{{topic=~"{topics}"}}'
        arrived = query(f"sum(increase({offsets}[{range_}]))", "")
        assert figures["input_messages"][pipeline.value] == arrived.get("")


def test_pipeline_health_checks_agree_with_the_figures(monitored, thresholds):
    figures = metadata_of(monitored, "monitoring__pipeline_health")
    checks = {
        e.check_name: e
        for e in monitored.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "monitoring/pipeline_health"
    }
    assert {name: e.severity for name, e in checks.items()} == CHECKS

    stalled = {
        pipeline
        for pipeline, messages in figures["input_messages"].items()
        if (messages or 0) > 0 and not (figures["rows_written"].get(pipeline) or 0) > 0
    }
    assert checks["no_data"].passed is (not stalled), checks["no_data"].description
    assert set(checks["no_data"].metadata["offenders"].value) == stalled

    # The other conditions must also have held for `for_minutes`: a value above its limit
    # now is necessary for a failure, and whatever fails is above it now.
    limits = {
        "consumer_lag": ("consumer_lag", thresholds.consumer_lag_messages),
        "quarantine_share": ("quarantine_share", thresholds.quarantine_share),
        "flink_backpressure": ("flink_backpressure", thresholds.flink_backpressure),
    }
    for name, (figure, limit) in limits.items():
        now = figures[figure].items()
        above = {key for key, value in now if value is not None and value > limit}
        offenders = set(checks[name].metadata["offenders"].value)
        assert offenders <= above, (name, offenders, above)
        assert checks[name].passed is (not offenders)


def test_workflow_metrics_are_the_workers_sdk_metrics(monitored, prometheus_url):
    figures = metadata_of(monitored, "monitoring__workflow_metrics")
    at = figures["evaluated_at"]
    assert figures["window_minutes"] == 5
    assert direct(prometheus_url, f'up{{job="{series.WORKER_JOB}"}}', at, "job") == {
        series.WORKER_JOB: 1.0
    }
    completed = direct(
        prometheus_url,
        f"sum by (workflow_type) (increase({series.WORKFLOW_COMPLETED}[5m]))",
        at,
        "workflow_type",
    )
    failed = direct(
        prometheus_url,
        f"sum by (workflow_type) (increase({series.WORKFLOW_FAILED}[5m]))",
        at,
        "workflow_type",
    )
    workflows = figures["workflows"]
    assert set(workflows) == set(completed) | set(failed)
    for workflow_type, counts in workflows.items():
        assert counts["completed"] == (completed.get(workflow_type) or 0.0)
        assert counts["failed"] == (failed.get(workflow_type) or 0.0)
    assert figures["completed"] == sum(c["completed"] for c in workflows.values())


def test_a_prometheus_that_does_not_answer_fails_the_asset_with_its_address(thresholds):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = materialize(
        [pipeline_health],
        resources={
            "prometheus": PrometheusResource(url=url, timeout_seconds=2),
            "alert_thresholds": thresholds,
        },
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert f"Prometheus at {url} did not answer" in description


# -- payment success, on rows of the test's own ----------------------------------------


def charge(n: int, provider: str | None, status: str, ingested_at: datetime) -> dict[str, Any]:
    return {
        "charge_id": f"ch_it_{n}",
        "customer_id": "cus_1",
        "merchant_id": "m_1",
        "amount": Decimal("12.50"),
        "amount_minor": 1250,
        "currency": "USD",
        "status": status,
        "provider": provider,
        "created_at": ingested_at,
        "ingested_at": ingested_at,
    }


def payment_event(n: int, provider: str, event_type: str, processed_at: datetime) -> dict[str, Any]:
    return {
        "event_id": f"evt_it_{n}",
        "provider": provider,
        "provider_event_id": f"pe_{n}",
        "event_type": event_type,
        "merchant_id": "m_1",
        "amount_minor": 1250,
        "currency": "USD",
        "processed_at": processed_at,
        "received_at": processed_at,
    }


@pytest.fixture
def own_payments(namespace, catalog, trino_rows):
    ensure_tables(catalog, namespace)
    now = datetime.now(UTC)
    old = now - timedelta(hours=2)  # outside the 60 min window
    charges = [
        *(charge(n, "stripe", "succeeded", now) for n in range(3)),
        charge(3, "stripe", "failed", now),
        charge(4, "stripe", "pending", now),
        charge(5, None, "succeeded", now),
        charge(6, "stripe", "failed", old),
    ]
    events = [
        payment_event(0, "stripe", "payment.succeeded", now),
        payment_event(1, "stripe", "payment.succeeded", now),
        payment_event(2, "stripe", "payment.failed", now),
        payment_event(3, "stripe", "payment.pending", now),
        payment_event(4, "stripe", "refund.succeeded", now),  # not a payment
        payment_event(5, "square", "payment.succeeded", now),
        payment_event(6, "square", "payment.failed", old),
    ]
    insert_rows(trino_rows, f"{namespace}.{CHARGES.bronze_table}", charges)
    insert_rows(trino_rows, f"{namespace}.{UNIFIED_TABLE}", events)
    return namespace


def test_payment_success_on_the_platforms_trino(own_payments, lakehouse_settings, trino_rows):
    trino = TrinoResource(
        host=lakehouse_settings.trino_host,
        port=lakehouse_settings.trino_port,
        user=lakehouse_settings.trino_user,
        catalog=lakehouse_settings.catalog_name,
        source_schema=own_payments,
    )
    result = materialize([payment_success], resources={"trino": trino})
    assert result.success
    figures = metadata_of(result, "monitoring__payment_success")
    assert {row["source"] + "/" + row["provider"]: row for row in figures["by_provider"]} == {
        "jr/stripe": {
            "source": "jr",
            "provider": "stripe",
            "succeeded": 3,
            "failed": 1,
            "payment_events": 5,
            "success_share": 0.75,
        },
        "jr/unknown": {
            "source": "jr",
            "provider": "unknown",
            "succeeded": 1,
            "failed": 0,
            "payment_events": 1,
            "success_share": 1.0,
        },
        "webhook/square": {
            "source": "webhook",
            "provider": "square",
            "succeeded": 1,
            "failed": 0,
            "payment_events": 1,
            "success_share": 1.0,
        },
        "webhook/stripe": {
            "source": "webhook",
            "provider": "stripe",
            "succeeded": 2,
            "failed": 1,
            "payment_events": 4,
            "success_share": pytest.approx(2 / 3),
        },
    }
    assert (figures["succeeded"], figures["failed"], figures["payment_events"]) == (7, 2, 11)
    assert figures["success_share"] == pytest.approx(7 / 9)

    # The same counts, asked of Trino directly.
    since = "current_timestamp - interval '60' minute"
    [(jr_succeeded, jr_failed)] = trino_rows(
        f"SELECT count_if(status = 'succeeded'), count_if(status = 'failed') "
        f"FROM {own_payments}.{CHARGES.bronze_table} WHERE ingested_at >= {since}"
    )
    [(webhook_succeeded, webhook_failed)] = trino_rows(
        "SELECT count_if(event_type = 'payment.succeeded'),"
        " count_if(event_type = 'payment.failed')"
        f" FROM {own_payments}.{UNIFIED_TABLE} WHERE processed_at >= {since}"
    )
    assert figures["succeeded"] == jr_succeeded + webhook_succeeded
    assert figures["failed"] == jr_failed + webhook_failed
