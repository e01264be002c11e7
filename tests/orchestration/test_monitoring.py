"""The monitoring assets without a platform: Prometheus answers through httpx's
MockTransport (its HTTP API, canned series), Trino through a resource whose query returns
canned rows. Figures, metadata, and each check's verdict on both sides of its threshold."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dagster import AssetCheckSeverity, materialize
from trino.exceptions import TrinoConnectionError

from deploy.local import prometheus as platform_prometheus
from observability import series
from observability.prometheus import PrometheusClient
from observability.series import Pipeline
from observability.thresholds import AlertThresholds
from orchestration.payment_success import (
    JR,
    WEBHOOK,
    ProviderOutcomes,
    overall,
    payment_outcomes_sql,
    payment_success,
    provider_outcomes,
)
from orchestration.pipeline_health import (
    CHECKS,
    PipelineHealth,
    judge_backpressure,
    judge_consumer_lag,
    judge_no_data,
    judge_quarantine_share,
    lag_slope_promql,
    no_data_range,
    pipeline_health,
    pipeline_input_promql,
    pipeline_rows_promql,
    read_pipeline_health,
)
from orchestration.promql import Window, held, latest, trends
from orchestration.resources import AlertThresholdsResource, PrometheusResource, TrinoResource
from orchestration.workflow_metrics import (
    completed_promql,
    failed_promql,
    latency_promql,
    read_workflow_metrics,
    worker_up_promql,
    workflow_metrics,
)

THRESHOLDS = AlertThresholdsResource(
    consumer_lag_messages=50_000,
    for_minutes=2,
    quarantine_share=0.2,
    no_data_minutes=5,
    flink_backpressure=0.8,
)
# 2 min read every 15 s: the instants an alert's `for` covers.
INSTANTS = Window.ending_at(1_000_000.0, THRESHOLDS.for_minutes * 60).size
END = 1_000_000.0

# One value for every instant, or one per instant (oldest first, None: no point); a list
# shorter than the window is the newest part of it (the series began within the window).
Values = float | list[float | None]
Answers = dict[str, list[tuple[dict[str, str], Values]]]


class FakePrometheus:
    """Prometheus's range-query API over canned answers; an unexpected query is refused
    the way Prometheus refuses a bad one."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query_range"
        params = request.url.params
        promql = params["query"]
        self.asked.append(promql)
        if promql not in self.answers:
            return httpx.Response(
                400, json={"status": "error", "errorType": "bad_data", "error": promql}
            )
        start, end, step = (float(params[p]) for p in ("start", "end", "step"))
        size = round((end - start) / step) + 1
        result = []
        for labels, values in self.answers[promql]:
            column: list[float | None] = values if isinstance(values, list) else [values] * size
            assert len(column) <= size, (promql, len(column), size)
            padding: list[float | None] = [None] * (size - len(column))
            column = padding + column
            points = [[start + i * step, str(v)] for i, v in enumerate(column) if v is not None]
            if points:
                result.append({"metric": labels, "values": points})
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
        )

    def client(self) -> PrometheusClient:
        return PrometheusClient(
            "http://prometheus.test",
            client=httpx.Client(transport=httpx.MockTransport(self.handle)),
        )


def prometheus_resource(transport: Callable[[httpx.Request], httpx.Response]) -> PrometheusResource:
    class Faked(PrometheusResource):
        def client(self) -> PrometheusClient:
            return PrometheusClient(
                self.url, client=httpx.Client(transport=httpx.MockTransport(transport))
            )

    return Faked(url="http://prometheus.test", evaluation_delay_seconds=0)


def healthy(**overrides: list[tuple[dict[str, str], Values]]) -> Answers:
    """What a platform in good health answers to every query of the pipeline health asset:
    JR events flowing through validation, nothing into the other pipelines."""
    quarantine = '{kind="quarantine"}'
    range_ = no_data_range(THRESHOLDS)
    answers: Answers = {
        series.EXPORTER_SOURCE_UP: [({"source": "kafka"}, 1), ({"source": "iceberg"}, 1)],
        series.GROUP_LAG: [({"group": "paystream-validation"}, 120)],
        lag_slope_promql(): [({"group": "paystream-validation"}, 0.5)],
        series.FLINK_BACKPRESSURE: [({"job_name": "payments-validation"}, 0.1)],
        series.QUARANTINE_SHARE: [
            ({"pipeline": "validation"}, 0.05),
            ({"pipeline": "normalization"}, math.nan),  # 0 / 0: nothing arrived
        ],
        series.TABLE_ROWS_RATE: [
            ({"table": "payment_charges", "pipeline": "validation", "kind": "clean"}, 9.5),
            (
                {
                    "table": "quarantine_payment_charges",
                    "pipeline": "validation",
                    "kind": "quarantine",
                },
                0.5,
            ),
        ],
        f"sum by (pipeline) ({series.TABLE_ROWS}{quarantine})": [({"pipeline": "validation"}, 40)],
        f"sum by (pipeline) ({series.TABLE_ROWS_RATE}{quarantine})": [
            ({"pipeline": "validation"}, 0.5)
        ],
        **{
            pipeline_input_promql(p, range_): [({}, 3000 if p is Pipeline.VALIDATION else 0)]
            for p in Pipeline
        },
        pipeline_rows_promql(range_): [
            ({"pipeline": "validation"}, 2990),
            ({"pipeline": "normalization"}, 0),
            ({"pipeline": "enrichment"}, 0),
        ],
    }
    return {**answers, **overrides}


def read(answers: Answers) -> PipelineHealth:
    return read_pipeline_health(FakePrometheus(answers).client(), END, THRESHOLDS)


# -- windows -------------------------------------------------------------------------


def test_a_window_covers_the_alerts_for_duration_at_most_15_s_apart():
    window = Window.ending_at(END, 120)
    assert (window.start, window.step, window.size) == (END - 120, 15, 9)
    uneven = Window.ending_at(END, 100)  # 7 steps of 14.3 s, the last one at END
    assert uneven.size == 8 and math.isclose(uneven.start + 7 * uneven.step, END)
    assert Window.ending_at(END, 0).size == 1


def test_trends_place_each_point_at_its_instant_and_keep_gaps_and_nan_apart():
    window = Window.ending_at(END, 60)
    fake = FakePrometheus({"q": [({"job": "a"}, [1.0, None, math.nan, 4.0, 5.0]), ({}, 7.0)]})
    found = trends(fake.client(), "q", window, label="job")
    assert found[""] == [7.0] * 5
    a = found["a"]
    assert a[:2] == [1.0, None] and a[2] is not None and math.isnan(a[2]) and a[3:] == [4.0, 5.0]


def test_latest_reads_as_an_instant_query_at_the_end():
    # NaN (a ratio of nothing) is None; a series gone before the end is left out.
    trends_by_key = {"ratio": [0.5, math.nan], "stopped": [3.0, None], "up": [1.0, 2.0]}
    assert latest(trends_by_key) == {"ratio": None, "up": 2.0}


def test_held_means_at_every_instant():
    assert held([3, 4, 5], lambda v: v > 2)
    assert not held([3, None, 5], lambda v: v > 2)  # a gap: not throughout
    assert not held([3, math.nan, 5], lambda v: v > 2)  # a ratio of nothing: neither
    assert not held([2, 4, 5], lambda v: v > 2)
    assert not held([], lambda v: v > 2)


# -- pipeline health: figures ----------------------------------------------------------


def test_pipeline_health_figures():
    fake = FakePrometheus(healthy())
    health = read_pipeline_health(fake.client(), END, THRESHOLDS)
    assert health.evaluated_at == END
    assert health.lag == {"paystream-validation": [120.0] * INSTANTS}
    assert health.backpressure == {"payments-validation": [0.1] * INSTANTS}
    assert health.rows_per_s == {"payment_charges": 9.5, "quarantine_payment_charges": 0.5}
    assert health.pass_rate == {"validation": pytest.approx(0.95), "normalization": None}
    assert health.quarantine_rows == {"validation": 40.0}
    assert health.quarantine_rows_per_s == {"validation": 0.5}
    assert health.input_messages == {"validation": 3000.0, "normalization": 0.0, "enrichment": 0.0}
    assert health.rows_written["validation"] == 2990.0
    assert set(fake.asked) == set(healthy())  # every figure asked for, nothing else


def test_pipeline_health_reads_every_figure_at_the_same_instant():
    instants: set[tuple[str, str]] = set()
    fake = FakePrometheus(healthy())

    def handle(request: httpx.Request) -> httpx.Response:
        instants.add((request.url.params["end"], request.url.params["query"]))
        return fake.handle(request)

    client = PrometheusClient(
        "http://p", client=httpx.Client(transport=httpx.MockTransport(handle))
    )
    read_pipeline_health(client, END, THRESHOLDS)
    assert {end for end, _ in instants} == {str(END)}


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([({"source": "kafka"}, 1), ({"source": "iceberg"}, 0)], "cannot read iceberg"),
        ([], "is the exporter scraped"),
    ],
)
def test_a_source_the_exporter_cannot_read_fails_the_figures(sources, message):
    result = materialize(
        [pipeline_health],
        resources={
            "prometheus": prometheus_resource(
                FakePrometheus(healthy(**{series.EXPORTER_SOURCE_UP: sources})).handle
            ),
            "alert_thresholds": THRESHOLDS,
        },
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_failure_data.user_failure_data is not None
    assert message in failure.step_failure_data.user_failure_data.description


def test_prometheus_not_answering_fails_the_asset_with_its_address():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = materialize(
        [pipeline_health],
        resources={"prometheus": prometheus_resource(refuse), "alert_thresholds": THRESHOLDS},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "http://prometheus.test did not answer" in description


def test_pipeline_health_materialises_its_figures_and_checks():
    result = materialize(
        [pipeline_health],
        resources={
            "prometheus": prometheus_resource(FakePrometheus(healthy()).handle),
            "alert_thresholds": THRESHOLDS,
        },
    )
    (materialization,) = result.asset_materializations_for_node("monitoring__pipeline_health")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["consumer_lag"] == {"paystream-validation": 120.0}
    assert metadata["max_consumer_lag"] == 120.0
    assert metadata["flink_backpressure"] == {"payments-validation": 0.1}
    assert metadata["iceberg_rows_per_s_total"] == 10.0
    assert metadata["validation_pass_rate"]["validation"] == pytest.approx(0.95)
    assert metadata["quarantine_share"]["normalization"] is None
    assert metadata["quarantine_rows"] == {"validation": 40.0}
    assert metadata["input_messages"]["validation"] == 3000.0
    assert abs(metadata["evaluated_at"] - time.time()) < 60  # no delay configured
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {check.name for check in CHECKS}
    assert all(e.passed for e in checks.values())
    assert checks["flink_backpressure"].severity == AssetCheckSeverity.WARN
    assert {checks[n].severity for n in ("consumer_lag", "quarantine_share", "no_data")} == {
        AssetCheckSeverity.ERROR
    }


# -- pipeline health: verdicts on both sides of each threshold -------------------------


def lagging(lag: Values, slope: Values) -> PipelineHealth:
    return read(
        healthy(
            **{
                series.GROUP_LAG: [({"group": "g"}, lag)],
                lag_slope_promql(): [({"group": "g"}, slope)],
            }
        )
    )


@pytest.mark.parametrize(
    ("lag", "slope", "passed"),
    [
        (50_001, 10.0, False),  # above the limit and growing throughout
        (50_000, 10.0, True),  # at the limit
        (50_001, 0.0, True),  # above, but no longer growing
        (50_001, [10.0] * (INSTANTS - 1) + [-1.0], True),  # catching up now
        ([None, *[50_001.0] * (INSTANTS - 1)], 10.0, True),  # not yet for the whole 2 min
        ([40_000.0] + [60_000.0] * (INSTANTS - 1), 10.0, True),  # was below 2 min ago
    ],
)
def test_consumer_lag_verdict(lag, slope, passed):
    verdict = judge_consumer_lag(lagging(lag, slope), THRESHOLDS)
    assert verdict.passed is passed, verdict.description
    if not passed:
        assert verdict.offenders == {"g": 50_001.0}
        assert "g is 50001 messages behind (limit 50000)" in verdict.description


@pytest.mark.parametrize(
    ("share", "passed"),
    [(0.21, False), (0.2, True), (math.nan, True), ([0.5] * (INSTANTS - 1) + [0.1], True)],
)
def test_quarantine_share_verdict(share, passed):
    health = read(healthy(**{series.QUARANTINE_SHARE: [({"pipeline": "validation"}, share)]}))
    verdict = judge_quarantine_share(health, THRESHOLDS)
    assert verdict.passed is passed, verdict.description
    if not passed:
        assert verdict.offenders == {"validation": 0.21}


@pytest.mark.parametrize(("ratio", "passed"), [(0.81, False), (0.8, True)])
def test_backpressure_verdict(ratio, passed):
    health = read(healthy(**{series.FLINK_BACKPRESSURE: [({"job_name": "j"}, ratio)]}))
    verdict = judge_backpressure(health, THRESHOLDS)
    assert verdict.passed is passed, verdict.description


def test_no_flink_job_is_no_backpressure():
    health = read(healthy(**{series.FLINK_BACKPRESSURE: []}))
    verdict = judge_backpressure(health, THRESHOLDS)
    assert verdict.passed and "no job reports" in verdict.description


@pytest.mark.parametrize(
    ("messages", "rows", "passed"),
    [
        (10, 0, False),  # its topics grew, its tables did not
        (10, None, False),  # its tables report nothing at all
        (10, 1, True),
        (0, 0, True),  # nothing came in: nothing to write
    ],
)
def test_no_data_verdict(messages, rows, passed):
    range_ = no_data_range(THRESHOLDS)
    normalization_rows = [] if rows is None else [({"pipeline": "normalization"}, rows)]
    health = read(
        healthy(
            **{
                pipeline_input_promql(Pipeline.NORMALIZATION, range_): [({}, messages)],
                pipeline_rows_promql(range_): [
                    ({"pipeline": "validation"}, 2990),
                    *normalization_rows,
                ],
            }
        )
    )
    verdict = judge_no_data(health, THRESHOLDS)
    assert verdict.passed is passed, verdict.description
    if not passed:
        assert verdict.offenders == {"normalization": 10.0}


def test_a_failing_check_fails_in_the_materialisation_with_its_offender():
    answers = healthy(**{series.QUARANTINE_SHARE: [({"pipeline": "validation"}, 0.5)]})
    result = materialize(
        [pipeline_health],
        resources={
            "prometheus": prometheus_resource(FakePrometheus(answers).handle),
            "alert_thresholds": THRESHOLDS,
        },
    )
    assert result.success  # a failed check does not fail the run
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["quarantine_share"].passed
    assert checks["quarantine_share"].metadata["offenders"].value == {"validation": 0.5}
    assert checks["consumer_lag"].passed


# -- the same thresholds and conditions as the alert rules ---------------------------


def alert(name: str, thresholds: AlertThresholds) -> str:
    (expr,) = [r["expr"] for r in platform_prometheus.alert_rules(thresholds) if r["alert"] == name]
    return str(expr)


def test_the_checks_read_the_alert_rules_conditions_and_thresholds():
    t = AlertThresholds(
        consumer_lag_messages=123, quarantine_share=0.3, flink_backpressure=0.7, no_data_minutes=4
    )
    resource = AlertThresholdsResource.from_settings(t)
    assert f"{series.GROUP_LAG} > {resource.consumer_lag_messages}" in alert(
        "ConsumerLagGrowing", t
    )
    assert f"{lag_slope_promql()} > 0" in alert("ConsumerLagGrowing", t)
    assert (
        alert("QuarantineRateHigh", t) == f"{series.QUARANTINE_SHARE} > {resource.quarantine_share}"
    )
    assert (
        alert("FlinkBackPressured", t)
        == f"{series.FLINK_BACKPRESSURE} > {resource.flink_backpressure}"
    )
    range_ = no_data_range(resource)
    for pipeline in Pipeline:
        expr = platform_prometheus.no_data_expr(pipeline, range_)
        assert expr.startswith(f"{pipeline_input_promql(pipeline, range_)} > 0 and on() ")
        assert f'increase({series.TABLE_ROWS}{{pipeline="{pipeline}"}}[{range_}])) == 0' in expr


def test_the_thresholds_resource_is_built_from_the_environment(monkeypatch):
    monkeypatch.setenv("PAYSTREAM_ALERT_CONSUMER_LAG_MESSAGES", "7")
    monkeypatch.setenv("PAYSTREAM_ALERT_FOR_MINUTES", "0")
    resource = AlertThresholdsResource.from_settings(AlertThresholds())
    assert (resource.consumer_lag_messages, resource.for_minutes) == (7, 0)
    # `for` 0: the instant alone decides.
    health = read_pipeline_health(
        FakePrometheus(
            healthy(
                **{
                    series.GROUP_LAG: [({"group": "g"}, 8)],
                    lag_slope_promql(): [({"group": "g"}, 1)],
                }
            )
        ).client(),
        END,
        resource,
    )
    assert health.lag == {"g": [8.0]}
    assert not judge_consumer_lag(health, resource).passed


# -- workflow metrics ----------------------------------------------------------------


def workflow_answers(up: list[tuple[dict[str, str], Values]]) -> Answers:
    return {
        worker_up_promql(): up,
        completed_promql("5m"): [
            ({"workflow_type": "EnrichmentWorkflow"}, 40),
            ({"workflow_type": "PaymentRecoveryWorkflow"}, 3),
        ],
        failed_promql("5m"): [({"workflow_type": "PaymentRecoveryWorkflow"}, 1)],
        latency_promql(0.5, "5m"): [
            ({"workflow_type": "EnrichmentWorkflow"}, 250.0),
            ({"workflow_type": "PaymentRecoveryWorkflow"}, 90_000.0),
        ],
        latency_promql(0.95, "5m"): [
            ({"workflow_type": "EnrichmentWorkflow"}, 900.0),
            ({"workflow_type": "PaymentRecoveryWorkflow"}, math.nan),
        ],
    }


WORKER_UP = [({"job": "worker"}, 1)]


def test_workflow_figures_per_type_with_latency_in_seconds():
    fake = FakePrometheus(workflow_answers(WORKER_UP))
    metrics = read_workflow_metrics(fake.client(), END, window_minutes=5)
    enrichment = metrics.by_type["EnrichmentWorkflow"]
    recovery = metrics.by_type["PaymentRecoveryWorkflow"]
    assert (enrichment.completed, enrichment.failed) == (40.0, 0.0)  # no failure counted yet
    assert enrichment.latency_p50_seconds == pytest.approx(0.25)
    assert enrichment.latency_p95_seconds == pytest.approx(0.9)
    assert (recovery.completed, recovery.failed, recovery.failure_share) == (3.0, 1.0, 0.25)
    assert recovery.latency_p50_seconds == pytest.approx(90.0)
    assert recovery.latency_p95_seconds is None  # NaN: nothing to take a quantile of


def test_workflow_metrics_materialise():
    result = materialize(
        [workflow_metrics],
        resources={
            "prometheus": prometheus_resource(FakePrometheus(workflow_answers(WORKER_UP)).handle)
        },
    )
    (materialization,) = result.asset_materializations_for_node("monitoring__workflow_metrics")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["completed"] == 43.0 and metadata["failed"] == 1.0
    assert metadata["window_minutes"] == 5
    assert metadata["workflows"]["PaymentRecoveryWorkflow"]["failure_share"] == 0.25
    assert metadata["EnrichmentWorkflow.latency_p95_seconds"] == pytest.approx(0.9)


def test_a_window_of_its_own_through_the_run_config():
    answers = {
        worker_up_promql(): WORKER_UP,
        completed_promql("30m"): [({"workflow_type": "EnrichmentWorkflow"}, 400)],
        failed_promql("30m"): [],
        latency_promql(0.5, "30m"): [],
        latency_promql(0.95, "30m"): [],
    }
    result = materialize(
        [workflow_metrics],
        resources={"prometheus": prometheus_resource(FakePrometheus(answers).handle)},
        run_config={"ops": {"monitoring__workflow_metrics": {"config": {"window_minutes": 30}}}},
    )
    (materialization,) = result.asset_materializations_for_node("monitoring__workflow_metrics")
    assert materialization.metadata["completed"].value == 400.0


@pytest.mark.parametrize(
    ("up", "message"),
    [
        ([({"job": "worker"}, 0)], "metrics endpoint does not answer"),
        ([], "no scrape job 'worker'"),
    ],
)
def test_an_unscraped_worker_fails_the_workflow_metrics(up, message):
    result = materialize(
        [workflow_metrics],
        resources={"prometheus": prometheus_resource(FakePrometheus(workflow_answers(up)).handle)},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert message in failure.step_failure_data.user_failure_data.description


# -- payment success -----------------------------------------------------------------


def trino_resource(answer: Callable[[str], list[tuple[Any, ...]]]) -> TrinoResource:
    class Canned(TrinoResource):
        def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
            return answer(sql)

    return Canned(host="trino.test", port=8080, user="t", catalog="c", source_schema="s")


ROWS = [
    (JR, "stripe", 90, 10, 120),
    (JR, None, 1, 0, 1),
    (WEBHOOK, "square", 0, 0, 5),  # only pending events so far
]


def test_success_share_of_the_payments_with_an_outcome():
    outcomes = provider_outcomes(ROWS)
    assert [(o.source, o.provider) for o in outcomes] == [
        (JR, "stripe"),
        (JR, "unknown"),
        (WEBHOOK, "square"),
    ]
    assert outcomes[0].success_share == 0.9
    assert outcomes[2].success_share is None
    assert overall(outcomes) == ProviderOutcomes("all", "all", 91, 10, 126)


def test_the_outcomes_query_reads_both_sources_within_the_window():
    sql = payment_outcomes_sql(45)
    assert sql.count("interval '45' minute") == 2
    assert "count_if(event_type = 'payment.succeeded')" in sql
    assert "count_if(status = 'succeeded')" in sql


def test_payment_success_materialises():
    asked: list[str] = []

    def answer(sql: str) -> list[tuple[Any, ...]]:
        asked.append(sql)
        return ROWS

    result = materialize([payment_success], resources={"trino": trino_resource(answer)})
    assert asked == [payment_outcomes_sql(60)]
    (materialization,) = result.asset_materializations_for_node("monitoring__payment_success")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert (metadata["succeeded"], metadata["failed"], metadata["payment_events"]) == (91, 10, 126)
    assert metadata["success_share"] == pytest.approx(91 / 101)
    assert metadata["by_provider"][0] == {
        "source": JR,
        "provider": "stripe",
        "succeeded": 90,
        "failed": 10,
        "payment_events": 120,
        "success_share": 0.9,
    }


def test_no_payment_with_an_outcome_has_no_success_share():
    result = materialize([payment_success], resources={"trino": trino_resource(lambda sql: [])})
    (materialization,) = result.asset_materializations_for_node("monitoring__payment_success")
    assert materialization.metadata["payment_events"].value == 0
    assert materialization.metadata["success_share"].value is None


def test_trino_not_answering_fails_payment_success_with_its_address():
    def refuse(sql: str) -> list[tuple[Any, ...]]:
        raise TrinoConnectionError("failed to execute: connection refused")

    result = materialize(
        [payment_success], resources={"trino": trino_resource(refuse)}, raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "Trino at trino.test:8080" in failure.step_failure_data.user_failure_data.description
