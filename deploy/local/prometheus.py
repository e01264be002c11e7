"""Prometheus for the local platform: what it scrapes, its recording rules and its alerts.

Rendered into `<run>/conf/prometheus/` by `make up` (deploy/local/render.py). Every target
is on 127.0.0.1 and the job label is the supervised service's name. Flink pushes to the
Pushgateway (its scrape reporter would listen on every interface), so its series carry
the job of the process that pushed them (`honor_labels`). The alert thresholds are
`observability.thresholds.AlertThresholds`, which the Dagster monitoring checks use too.
"""

from __future__ import annotations

from typing import Any

from deploy.local.settings import StackSettings
from gateway.metrics import Outcome
from lakehouse.settings import LakehouseSettings
from observability import series
from observability.series import Pipeline, TableKind
from observability.thresholds import AlertThresholds

RULES_FILE = "rules.yml"
# Jobs scraped less often than the rest: the exporter reads Kafka's group offsets and the
# tables' metadata; Trino answers thousands of series, of which the query counts are kept.
SLOW_SCRAPE_SECONDS = {"exporter": 10, "trino": 15}
TRINO_KEPT_SERIES = "trino_execution_name_QueryManager_.*"
# What a webhook gateway answers when it could not take a webhook (the provider retries).
GATEWAY_UNAVAILABLE = (Outcome.UNAVAILABLE, Outcome.OVERLOADED, Outcome.NOT_CONFIGURED)


def scrape_targets(stack: StackSettings, lakehouse: LakehouseSettings) -> dict[str, str]:
    """Job name (the service) -> host:port of its /metrics; a port set to 0 is not served."""
    ports = {
        "prometheus": stack.prometheus_port,
        "pushgateway": stack.pushgateway_port,
        "kafka": stack.kafka_metrics_port,
        "temporal": stack.temporal_metrics_port,
        "gateway": stack.gateway_port,
        "inference": stack.inference_port,
        "worker": stack.worker_metrics_port,
        "bridge": stack.bridge_metrics_port,
        "exporter": stack.exporter_port,
    }
    targets = {job: f"127.0.0.1:{port}" for job, port in ports.items() if port}
    targets["trino"] = f"{lakehouse.trino_host}:{lakehouse.trino_port}"
    return targets


def prometheus_config(stack: StackSettings, lakehouse: LakehouseSettings) -> dict[str, Any]:
    every = f"{stack.prometheus_scrape_seconds}s"
    jobs: list[dict[str, Any]] = []
    for job, target in scrape_targets(stack, lakehouse).items():
        scrape: dict[str, Any] = {"job_name": job, "static_configs": [{"targets": [target]}]}
        if job == "pushgateway":
            scrape["honor_labels"] = True  # keep the job each Flink process pushed under
        if job == "trino":
            # Trino answers /metrics to any named user (no password on the local platform).
            scrape["basic_auth"] = {"username": lakehouse.trino_user}
            scrape["metric_relabel_configs"] = [
                {"source_labels": ["__name__"], "regex": TRINO_KEPT_SERIES, "action": "keep"}
            ]
        if job in SLOW_SCRAPE_SECONDS:
            scrape["scrape_interval"] = scrape["scrape_timeout"] = f"{SLOW_SCRAPE_SECONDS[job]}s"
        jobs.append(scrape)
    return {
        "global": {"scrape_interval": every, "evaluation_interval": every},
        "rule_files": [RULES_FILE],
        "scrape_configs": jobs,
    }


def _regex(values: tuple[str, ...]) -> str:
    return "|".join(values)


def recording_rules() -> list[dict[str, str]]:
    rates = series.TABLE_ROWS_RATE
    unavailable = _regex(tuple(o.value for o in GATEWAY_UNAVAILABLE))
    return [
        {
            "record": series.TOPIC_RATE,
            "expr": f"sum by (topic) (rate({series.TOPIC_END_OFFSET}[1m]))",
        },
        {"record": series.GROUP_LAG, "expr": f"sum by (group) ({series.CONSUMER_LAG})"},
        {
            "record": rates,
            "expr": f"sum by (table, pipeline, kind) (rate({series.TABLE_ROWS}[5m]))",
        },
        {
            "record": series.QUARANTINE_SHARE,
            "expr": (
                f'sum by (pipeline) ({rates}{{kind="{TableKind.QUARANTINE}"}}) / '
                f'sum by (pipeline) ({rates}{{kind=~"{TableKind.CLEAN}|{TableKind.QUARANTINE}"}})'
            ),
        },
        {
            "record": series.GATEWAY_RATE,
            "expr": f"sum by (outcome) (rate({series.GATEWAY_REQUESTS}[1m]))",
        },
        {
            "record": series.GATEWAY_5XX_SHARE,
            "expr": (
                f'sum({series.GATEWAY_RATE}{{outcome=~"{unavailable}"}}) / '
                f"sum({series.GATEWAY_RATE})"
            ),
        },
        {
            "record": series.GATEWAY_DLQ_SHARE,
            "expr": (
                f'sum({series.GATEWAY_RATE}{{outcome="{Outcome.DLQ}"}}) / '
                f"sum({series.GATEWAY_RATE})"
            ),
        },
        {
            "record": series.FLINK_BACKPRESSURE,
            "expr": f"max by (job_name) ({series.FLINK_BACKPRESSURED_MS}) / 1000",
        },
    ]


def _alert(
    name: str, expr: str, minutes: float, summary: str, severity: str, **labels: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": f"{round(minutes * 60)}s",
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary},
    }


def no_data_expr(pipeline: Pipeline, window: str) -> str:
    """The pipeline's input topics grew in the window, and none of its tables did."""
    topics = _regex(series.PIPELINE_INPUTS[pipeline])
    return (
        f'sum(increase({series.TOPIC_END_OFFSET}{{topic=~"{topics}"}}[{window}])) > 0 '
        f'and on() sum(increase({series.TABLE_ROWS}{{pipeline="{pipeline}"}}[{window}])) == 0'
    )


def alert_rules(thresholds: AlertThresholds) -> list[dict[str, Any]]:
    t = thresholds
    minutes = t.for_minutes
    window = f"{round(t.no_data_minutes * 60)}s"
    window_words = f"{t.no_data_minutes:g} min"
    lag = series.GROUP_LAG
    rules = [
        _alert(
            "ConsumerLagGrowing",
            f"{lag} > {t.consumer_lag_messages} and deriv({lag}[5m]) > 0",
            minutes,
            "{{ $labels.group }} is {{ $value }} messages behind and falling further behind",
            "page",
        ),
        _alert(
            "QuarantineRateHigh",
            f"{series.QUARANTINE_SHARE} > {t.quarantine_share}",
            minutes,
            "{{ $labels.pipeline }} quarantines {{ $value | humanizePercentage }} of its rows",
            "page",
        ),
        _alert(
            "FlinkCheckpointsFailing",
            f"increase({series.FLINK_FAILED_CHECKPOINTS}[5m]) > 0",
            0,
            "{{ $labels.job_name }}: checkpoints failed in the last 5 minutes",
            "page",
        ),
        _alert(
            "FlinkJobRestarted",
            f"increase({series.FLINK_JOB_RESTARTS}[5m]) > 0",
            0,
            "{{ $labels.job_name }} restarted in the last 5 minutes",
            "ticket",
        ),
        _alert(
            "FlinkBackPressured",
            f"{series.FLINK_BACKPRESSURE} > {t.flink_backpressure}",
            minutes,
            "{{ $labels.job_name }}: its busiest task is back-pressured "
            "{{ $value | humanizePercentage }} of the time",
            "ticket",
        ),
        _alert(
            "GatewayUnavailable",
            f"{series.GATEWAY_5XX_SHARE} > {t.gateway_5xx_share}",
            minutes,
            "the gateway answers {{ $value | humanizePercentage }} of webhooks with a 503",
            "page",
        ),
        _alert(
            "WebhooksDeadLettered",
            f"{series.GATEWAY_DLQ_SHARE} > {t.gateway_dlq_share}",
            minutes,
            "{{ $value | humanizePercentage }} of signed webhooks go to the dead-letter topic",
            "ticket",
        ),
        *(
            _alert(
                "NoData",
                no_data_expr(pipeline, window),
                0,
                f"{pipeline}: its input topics grew in the last {window_words}, "
                "none of its tables did",
                "page",
                pipeline=pipeline.value,
            )
            for pipeline in Pipeline
        ),
        _alert(
            "TargetDown",
            "up == 0",
            1,
            "{{ $labels.job }} does not answer its scrape",
            "page",
        ),
        _alert(
            "FlinkMetricsStale",
            "time() - push_time_seconds > 60",
            0,
            "{{ $labels.job }} has pushed no metrics for a minute",
            "page",
        ),
        _alert(
            "ExporterSourceDown",
            f"{series.EXPORTER_SOURCE_UP} == 0",
            1,
            "the exporter cannot read {{ $labels.source }}",
            "page",
        ),
    ]
    return rules


def rules_file(thresholds: AlertThresholds) -> dict[str, Any]:
    # One group: its rules are evaluated in order, so each alert sees the recording rules'
    # values of the same evaluation (two groups run independently, a step apart).
    return {
        "groups": [{"name": "paystream", "rules": [*recording_rules(), *alert_rules(thresholds)]}]
    }
