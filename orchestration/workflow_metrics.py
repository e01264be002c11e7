"""The side stream's Temporal workflows from the worker's SDK metrics (through Prometheus):
per workflow type, how many completed and failed within the window, and how long they
took end to end. A recovery's outcome (recovered, exhausted) is its workflow's result,
not a metric: it is not among these figures.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from observability import series
from observability.prometheus import PrometheusClient, PrometheusError
from orchestration.promql import SourceDown, instant
from orchestration.resources import PrometheusResource

WORKFLOW_METRICS = AssetKey(["monitoring", "workflow_metrics"])


class WorkflowMetricsConfig(Config):
    window_minutes: int = Field(default=5, gt=0, description="what the figures count over")


def completed_promql(range_: str) -> str:
    return f"sum by (workflow_type) (increase({series.WORKFLOW_COMPLETED}[{range_}]))"


def failed_promql(range_: str) -> str:
    return f"sum by (workflow_type) (increase({series.WORKFLOW_FAILED}[{range_}]))"


def latency_promql(quantile: float, range_: str) -> str:
    buckets = f"rate({series.WORKFLOW_LATENCY}_bucket[{range_}])"
    return f"histogram_quantile({quantile}, sum by (workflow_type, le) ({buckets}))"


def worker_up_promql() -> str:
    return f'up{{job="{series.WORKER_JOB}"}}'


@dataclass(frozen=True)
class WorkflowFigures:
    completed: float
    failed: float
    latency_p50_seconds: float | None  # None: none finished within the window
    latency_p95_seconds: float | None

    @property
    def failure_share(self) -> float | None:
        finished = self.completed + self.failed
        return self.failed / finished if finished else None


@dataclass(frozen=True)
class WorkflowMetrics:
    evaluated_at: float
    window_minutes: int
    by_type: dict[str, WorkflowFigures]


def ensure_worker_scraped(client: PrometheusClient, end: float) -> None:
    """Without the worker's scrape every count would read as a silent zero."""
    up = instant(client, worker_up_promql(), end, label="job").get(series.WORKER_JOB)
    if up is None:
        raise SourceDown(f"Prometheus has no scrape job {series.WORKER_JOB!r}")
    if up != 1:
        raise SourceDown(f"the {series.WORKER_JOB}'s metrics endpoint does not answer")


def _seconds(latency: float | None) -> float | None:
    return None if latency is None else latency * series.WORKFLOW_LATENCY_UNIT_SECONDS


def read_workflow_metrics(
    client: PrometheusClient, end: float, window_minutes: int
) -> WorkflowMetrics:
    ensure_worker_scraped(client, end)
    range_ = f"{window_minutes}m"
    completed = instant(client, completed_promql(range_), end, label="workflow_type")
    failed = instant(client, failed_promql(range_), end, label="workflow_type")
    p50 = instant(client, latency_promql(0.5, range_), end, label="workflow_type")
    p95 = instant(client, latency_promql(0.95, range_), end, label="workflow_type")
    # A type that never completed (or failed) has no counter yet: with the worker
    # scraped, that is a true zero.
    by_type = {
        workflow_type: WorkflowFigures(
            completed=completed.get(workflow_type) or 0.0,
            failed=failed.get(workflow_type) or 0.0,
            latency_p50_seconds=_seconds(p50.get(workflow_type)),
            latency_p95_seconds=_seconds(p95.get(workflow_type)),
        )
        for workflow_type in sorted(completed.keys() | failed.keys())
    }
    return WorkflowMetrics(end, window_minutes, by_type)


def workflow_metrics_metadata(metrics: WorkflowMetrics) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "evaluated_at": MetadataValue.timestamp(datetime.fromtimestamp(metrics.evaluated_at, UTC)),
        "window_minutes": metrics.window_minutes,
        "workflows": MetadataValue.json(
            {
                workflow_type: {
                    "completed": figures.completed,
                    "failed": figures.failed,
                    "failure_share": figures.failure_share,
                    "latency_p50_seconds": figures.latency_p50_seconds,
                    "latency_p95_seconds": figures.latency_p95_seconds,
                }
                for workflow_type, figures in metrics.by_type.items()
            }
        ),
        "completed": sum(f.completed for f in metrics.by_type.values()),
        "failed": sum(f.failed for f in metrics.by_type.values()),
    }
    # One number per workflow type and figure, so the UI plots each over time.
    for workflow_type, figures in metrics.by_type.items():
        metadata[f"{workflow_type}.completed"] = figures.completed
        metadata[f"{workflow_type}.failed"] = figures.failed
        if figures.latency_p95_seconds is not None:
            metadata[f"{workflow_type}.latency_p95_seconds"] = figures.latency_p95_seconds
    return metadata


@asset(
    key=WORKFLOW_METRICS,
    group_name="monitoring",
    description="Enrichment and recovery workflows: completed, failed and end-to-end "
    "latency within the window, from the worker's Temporal SDK metrics.",
)
def workflow_metrics(
    context: AssetExecutionContext, config: WorkflowMetricsConfig, prometheus: PrometheusResource
) -> MaterializeResult:
    try:
        metrics = read_workflow_metrics(
            prometheus.client(), prometheus.evaluation_time(), config.window_minutes
        )
    except (PrometheusError, SourceDown) as exc:
        raise Failure(description=f"workflow metrics unavailable: {exc}") from exc
    for workflow_type, figures in metrics.by_type.items():
        context.log.info(f"{workflow_type}: {figures}")
    return MaterializeResult(metadata=workflow_metrics_metadata(metrics))
