"""Pipeline health from Prometheus: consumer lag, Flink back-pressure, Iceberg write rate,
validation pass rate and quarantine volume, each pipeline's input against its output.

The checks fail where the alert rules of `deploy/local/prometheus.py` fire, on the same
thresholds (observability.thresholds, through AlertThresholdsResource): a condition
counts once it has held at every instant of the last `for_minutes`, as an alert's `for`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from observability import series
from observability.prometheus import PrometheusClient, PrometheusError
from observability.series import Pipeline, TableKind
from orchestration.promql import SourceDown, Trend, Window, held, instant, latest, total, trends
from orchestration.resources import AlertThresholdsResource, PrometheusResource

PIPELINE_HEALTH = AssetKey(["monitoring", "pipeline_health"])
# The range the ConsumerLagGrowing alert takes the lag's slope over.
LAG_SLOPE_RANGE = "5m"


def lag_slope_promql() -> str:
    return f"deriv({series.GROUP_LAG}[{LAG_SLOPE_RANGE}])"


def no_data_range(thresholds: AlertThresholdsResource) -> str:
    return f"{round(thresholds.no_data_minutes * 60)}s"


def pipeline_input_promql(pipeline: Pipeline, range_: str) -> str:
    """Messages into the pipeline's input topics within the range (the NoData alert's)."""
    topics = "|".join(series.PIPELINE_INPUTS[pipeline])
    return f'sum(increase({series.TOPIC_END_OFFSET}{{topic=~"{topics}"}}[{range_}]))'


def pipeline_rows_promql(range_: str) -> str:
    """Rows into each pipeline's tables within the range, by pipeline."""
    return f"sum by (pipeline) (increase({series.TABLE_ROWS}[{range_}]))"


@dataclass(frozen=True)
class PipelineHealth:
    evaluated_at: float
    # Over the alerts' `for` window, oldest first:
    lag: dict[str, Trend]  # messages behind, by consumer group
    lag_slope: dict[str, Trend]  # messages/s the lag grows by, by consumer group
    backpressure: dict[str, Trend]  # busiest task's back-pressured share, by Flink job
    quarantine_share: dict[str, Trend]  # by pipeline; None when no row arrived
    # At `evaluated_at`:
    rows_per_s: dict[str, float | None]  # by table
    quarantine_rows: dict[str, float | None]  # by pipeline, in the current snapshots
    quarantine_rows_per_s: dict[str, float | None]  # by pipeline
    # Within the NoData alert's range, by pipeline:
    input_messages: dict[str, float | None]
    rows_written: dict[str, float | None]

    @property
    def pass_rate(self) -> dict[str, float | None]:
        """Share of each pipeline's rows that passed its checks (5 min)."""
        shares = latest(self.quarantine_share)
        return {p: None if share is None else 1.0 - share for p, share in shares.items()}


def ensure_exporter_reads(client: PrometheusClient, end: float) -> None:
    """Lag, topic and table figures come from the exporter: without its readings they
    would be silently missing, so a source it cannot read fails the figures."""
    sources = instant(client, series.EXPORTER_SOURCE_UP, end, label="source")
    if not sources:
        raise SourceDown(f"no {series.EXPORTER_SOURCE_UP} series: is the exporter scraped?")
    down = sorted(source for source, up in sources.items() if up != 1)
    if down:
        raise SourceDown(f"the exporter cannot read {', '.join(down)}")


def read_pipeline_health(
    client: PrometheusClient, end: float, thresholds: AlertThresholdsResource
) -> PipelineHealth:
    ensure_exporter_reads(client, end)
    window = Window.ending_at(end, thresholds.for_minutes * 60)
    range_ = no_data_range(thresholds)
    quarantine = f'{{kind="{TableKind.QUARANTINE}"}}'
    return PipelineHealth(
        evaluated_at=end,
        lag=trends(client, series.GROUP_LAG, window, label="group"),
        lag_slope=trends(client, lag_slope_promql(), window, label="group"),
        backpressure=trends(client, series.FLINK_BACKPRESSURE, window, label="job_name"),
        quarantine_share=trends(client, series.QUARANTINE_SHARE, window, label="pipeline"),
        rows_per_s=instant(client, series.TABLE_ROWS_RATE, end, label="table"),
        quarantine_rows=instant(
            client, f"sum by (pipeline) ({series.TABLE_ROWS}{quarantine})", end, "pipeline"
        ),
        quarantine_rows_per_s=instant(
            client, f"sum by (pipeline) ({series.TABLE_ROWS_RATE}{quarantine})", end, "pipeline"
        ),
        input_messages={
            p.value: total(client, pipeline_input_promql(p, range_), end) for p in Pipeline
        },
        rows_written=instant(client, pipeline_rows_promql(range_), end, label="pipeline"),
    )


@dataclass(frozen=True)
class Verdict:
    passed: bool
    description: str
    offenders: dict[str, float | None]  # what fails the check, with its current value


def _verdict(
    offenders: dict[str, float | None], failing: Callable[[str], str], passing: str
) -> Verdict:
    if offenders:
        return Verdict(False, "; ".join(failing(key) for key in sorted(offenders)), offenders)
    return Verdict(True, passing, {})


def _for(thresholds: AlertThresholdsResource) -> str:
    return f"for {thresholds.for_minutes:g} min"


def judge_consumer_lag(health: PipelineHealth, thresholds: AlertThresholdsResource) -> Verdict:
    """ConsumerLagGrowing: a group above the limit whose lag keeps growing."""
    limit = thresholds.consumer_lag_messages
    offenders = {
        group: trend[-1]
        for group, trend in health.lag.items()
        if held(trend, lambda lag: lag > limit)
        and held(health.lag_slope.get(group, []), lambda slope: slope > 0)
    }
    lags = latest(health.lag)
    worst = max(lags, key=lambda g: lags[g] or 0.0, default=None)
    return _verdict(
        offenders,
        lambda g: (
            f"{g} is {offenders[g]:.0f} messages behind (limit {limit}) and falling "
            f"further behind {_for(thresholds)}"
        ),
        f"no consumer group above {limit} messages and growing"
        + (f" (most behind: {worst}, {lags[worst] or 0:.0f})" if worst else ""),
    )


def judge_quarantine_share(health: PipelineHealth, thresholds: AlertThresholdsResource) -> Verdict:
    """QuarantineRateHigh: a pipeline quarantining more than its share of rows."""
    limit = thresholds.quarantine_share
    offenders = {
        pipeline: trend[-1]
        for pipeline, trend in health.quarantine_share.items()
        if held(trend, lambda share: share > limit)
    }
    return _verdict(
        offenders,
        lambda p: (
            f"{p} quarantines {offenders[p] or 0:.1%} of its rows (limit {limit:.0%}) "
            f"{_for(thresholds)}"
        ),
        f"every pipeline quarantines at most {limit:.0%} of its rows",
    )


def judge_backpressure(health: PipelineHealth, thresholds: AlertThresholdsResource) -> Verdict:
    """FlinkBackPressured: a job whose busiest task is back-pressured most of the time."""
    limit = thresholds.flink_backpressure
    offenders = {
        job: trend[-1]
        for job, trend in health.backpressure.items()
        if held(trend, lambda ratio: ratio > limit)
    }
    return _verdict(
        offenders,
        lambda j: (
            f"{j}: its busiest task is back-pressured {offenders[j] or 0:.0%} of the "
            f"time (limit {limit:.0%}) {_for(thresholds)}"
        ),
        f"no Flink job back-pressured above {limit:.0%}"
        + ("" if health.backpressure else " (no job reports back-pressure)"),
    )


def judge_no_data(health: PipelineHealth, thresholds: AlertThresholdsResource) -> Verdict:
    """NoData: a pipeline's input topics grew within the range and none of its tables did
    (a pipeline whose tables report nothing counts as writing nothing)."""
    range_ = f"the last {thresholds.no_data_minutes:g} min"
    offenders: dict[str, float | None] = {
        pipeline: messages
        for pipeline, messages in health.input_messages.items()
        if messages is not None
        and messages > 0
        and not (health.rows_written.get(pipeline) or 0) > 0
    }
    return _verdict(
        offenders,
        lambda p: (
            f"{p}: {offenders[p] or 0:.0f} messages into its topics in {range_} "
            "and no row into its tables"
        ),
        f"every pipeline whose topics grew in {range_} wrote rows",
    )


@dataclass(frozen=True)
class Check:
    name: str
    severity: AssetCheckSeverity
    judge: Callable[[PipelineHealth, AlertThresholdsResource], Verdict]
    description: str


CHECKS: tuple[Check, ...] = (
    Check(
        "consumer_lag",
        AssetCheckSeverity.ERROR,
        judge_consumer_lag,
        "No consumer group above the lag limit and still falling behind (ConsumerLagGrowing).",
    ),
    Check(
        "quarantine_share",
        AssetCheckSeverity.ERROR,
        judge_quarantine_share,
        "No pipeline quarantining more than its share of rows (QuarantineRateHigh).",
    ),
    Check(
        "no_data",
        AssetCheckSeverity.ERROR,
        judge_no_data,
        "Every pipeline whose input topics grow writes rows (NoData).",
    ),
    Check(
        "flink_backpressure",
        AssetCheckSeverity.WARN,
        judge_backpressure,
        "No Flink job whose busiest task is back-pressured most of the time (FlinkBackPressured).",
    ),
)


def _json(values: dict[str, Any]) -> MetadataValue:
    return MetadataValue.json(dict(sorted(values.items())))


def pipeline_health_metadata(health: PipelineHealth) -> dict[str, Any]:
    lags = latest(health.lag)
    rates = [rate for rate in health.rows_per_s.values() if rate is not None]
    return {
        "evaluated_at": MetadataValue.timestamp(datetime.fromtimestamp(health.evaluated_at, UTC)),
        "consumer_lag": _json(lags),
        "consumer_lag_slope_per_s": _json(latest(health.lag_slope)),
        "max_consumer_lag": max((lag for lag in lags.values() if lag is not None), default=0.0),
        "flink_backpressure": _json(latest(health.backpressure)),
        "iceberg_rows_per_s": _json(health.rows_per_s),
        "iceberg_rows_per_s_total": sum(rates),
        "validation_pass_rate": _json(health.pass_rate),
        "quarantine_share": _json(latest(health.quarantine_share)),
        "quarantine_rows": _json(health.quarantine_rows),
        "quarantine_rows_per_s": _json(health.quarantine_rows_per_s),
        "input_messages": _json(health.input_messages),
        "rows_written": _json(health.rows_written),
    }


def check_result(
    check: Check, health: PipelineHealth, thresholds: AlertThresholdsResource
) -> AssetCheckResult:
    verdict = check.judge(health, thresholds)
    return AssetCheckResult(
        check_name=check.name,
        passed=verdict.passed,
        severity=check.severity,
        description=verdict.description,
        metadata={"offenders": _json(verdict.offenders)},
    )


@asset(
    key=PIPELINE_HEALTH,
    group_name="monitoring",
    description="Consumer lag, Flink back-pressure, Iceberg write rate, validation pass "
    "rate and quarantine volume, from Prometheus.",
    check_specs=[
        AssetCheckSpec(check.name, asset=PIPELINE_HEALTH, description=check.description)
        for check in CHECKS
    ],
)
def pipeline_health(
    context: AssetExecutionContext,
    prometheus: PrometheusResource,
    alert_thresholds: AlertThresholdsResource,
) -> MaterializeResult:
    try:
        health = read_pipeline_health(
            prometheus.client(), prometheus.evaluation_time(), alert_thresholds
        )
    except (PrometheusError, SourceDown) as exc:
        raise Failure(description=f"pipeline health unavailable: {exc}") from exc
    results = [check_result(check, health, alert_thresholds) for check in CHECKS]
    for result in results:
        context.log.info(f"{result.check_name}: {result.description}")
    return MaterializeResult(metadata=pipeline_health_metadata(health), check_results=results)
