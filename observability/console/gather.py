"""What the console shows, gathered into dataclasses: one function per source.

Prometheus (topic rates, consumer lag, quarantine shares, alerts), Flink's REST API (jobs
and checkpoints) and Trino (quarantine tables, enrichments). Every number is a `Figure`
with a stable key, the one the page puts in `data-metric`. `gather_view` asks every source
at once and turns a source that fails into `Unavailable` for its section only.

Recovery attempts are not here: they live in the platform's PostgreSQL, which Trino does
not read (the Temporal UI shows the recovery workflows).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import httpx

from contracts.tables import ENRICHMENT_TABLE, table_definitions
from contracts.topics import (
    ENRICHED,
    INGESTION_DLQ,
    NORMALIZED,
    RAW_EVENT_TOPICS,
    TOPIC_NAMES,
    WEBHOOK_RAW_TOPICS,
)
from deploy.flink.flink_rest import JobSummary, parse_jobs_overview
from deploy.local.toolbox import flink_consumer_groups
from lakehouse.settings import LakehouseSettings
from observability.console.settings import ConsoleSettings
from observability.exporter import watched_tables
from observability.prometheus import Alert, PrometheusClient
from observability.series import GROUP_LAG, QUARANTINE_SHARE, TOPIC_RATE, Pipeline, TableKind
from workflows.scoring import FALLBACK
from workflows.settings import WorkflowSettings

log = logging.getLogger("observability.console")

# A Trino query: SQL in, rows out.
TrinoQuery = Callable[[str], list[tuple[Any, ...]]]

# The columns the console reads, checked against contracts.tables by the unit tests.
REASON_COLUMN = "rejection_reason"
PAYLOAD_COLUMN = "raw_payload"
QUARANTINED_AT_COLUMN = "quarantine_timestamp"
SCORE_SOURCE_COLUMN = "score_source"
QUARANTINE_READ_COLUMNS = (
    PAYLOAD_COLUMN,
    REASON_COLUMN,
    QUARANTINED_AT_COLUMN,
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
)
PAYLOAD_CHARS = 160
TOP_REASONS = 5
NEWEST_ROWS = 5
BRIDGE = "bridge"


class Unit(StrEnum):
    COUNT = "count"
    PER_SECOND = "per-second"
    SHARE = "share"  # 0..1, shown as a percentage
    MILLISECONDS = "ms"
    INSTANT = "instant"  # unix seconds


class Metric(StrEnum):
    """The first part of each figure's key, `<metric>:<what>` (`lag:paystream-validation`)."""

    RATE = "rate"
    LAG = "lag"
    FLINK_STARTED_AT = "flink-started-at"
    FLINK_CHECKPOINT_AT = "flink-checkpoint-at"
    FLINK_CHECKPOINT_DURATION = "flink-checkpoint-duration"
    FLINK_CHECKPOINTS_FAILED = "flink-checkpoints-failed"
    FLINK_RESTARTS = "flink-restarts"
    QUARANTINE_ROWS = "quarantine-rows"
    QUARANTINE_SHARE = "quarantine-share"
    REASON_ROWS = "reason-rows"
    QUARANTINED_AT = "quarantined-at"
    ENRICHMENT_ROWS = "enrichment-rows"
    ENRICHMENT_FALLBACK = "enrichment-fallback"
    ALERTS_FIRING = "alerts-firing"
    ALERT_VALUE = "alert-value"
    SPARKLINE_MINUTES = "sparkline-minutes"


def metric_key(metric: Metric, what: str | int | None = None) -> str:
    return metric.value if what is None else f"{metric.value}:{what}"


@dataclass(frozen=True)
class Figure:
    """One number of the page: `value` None when the source has none (no data yet)."""

    key: str
    value: float | None
    unit: Unit = Unit.COUNT


@dataclass(frozen=True)
class Unavailable:
    """A section whose source did not answer, and why."""

    reason: str


Points = tuple[tuple[float, float], ...]  # (unix seconds, value)


@dataclass(frozen=True)
class Window:
    """The sparklines' range: `points` steps up to the evaluation instant."""

    start: float
    end: float
    step: float

    @classmethod
    def ending(cls, end: float, minutes: float, points: int) -> Window:
        span = minutes * 60
        return cls(start=end - span, end=end, step=span / (points - 1))


@dataclass(frozen=True)
class StageRate:
    topic: str
    stage: str
    rate: Figure
    history: Points


@dataclass(frozen=True)
class GroupLag:
    group: str
    reader: str  # the Flink job or the bridge that commits the group's offsets
    lag: Figure
    history: Points


@dataclass(frozen=True)
class FlinkJob:
    job_id: str
    name: str
    state: str
    started_at: Figure
    last_checkpoint_at: Figure
    checkpoint_duration: Figure
    checkpoints_failed: Figure
    restarts: Figure
    url: str  # the job's page in the Flink UI


@dataclass(frozen=True)
class FlinkJobs:
    jobs: list[FlinkJob]
    not_submitted: list[str]  # registered jobs the JobManager does not know


@dataclass(frozen=True)
class QuarantineTable:
    table: str
    pipeline: Pipeline
    rows: Figure


@dataclass(frozen=True)
class PipelineShare:
    pipeline: Pipeline
    share: Figure


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    rows: Figure


@dataclass(frozen=True)
class QuarantinedRow:
    table: str
    quarantined_at: Figure
    reason: str
    payload: str  # the start of the raw message, at most PAYLOAD_CHARS and an ellipsis


@dataclass(frozen=True)
class Enrichment:
    rows: Figure
    fallback: Figure


@dataclass(frozen=True)
class ActiveAlert:
    name: str
    state: str  # firing, pending
    labels: dict[str, str]
    value: Figure  # the alert expression's value


@dataclass(frozen=True)
class Alerts:
    firing: Figure
    alerts: list[ActiveAlert]  # firing first, then pending


@dataclass(frozen=True)
class Link:
    name: str
    url: str


@dataclass(frozen=True)
class ConsoleView:
    generated_at: float  # when the page was asked for
    evaluated_at: float  # the instant of every Prometheus value (unix seconds)
    window: Window
    sparkline_minutes: Figure
    # The sections, in the page's order.
    alerts: Alerts | Unavailable
    stages: list[StageRate] | Unavailable
    groups: list[GroupLag] | Unavailable
    flink: FlinkJobs | Unavailable
    quarantine_shares: list[PipelineShare] | Unavailable
    quarantine_tables: list[QuarantineTable] | Unavailable
    top_reasons: list[ReasonCount] | Unavailable
    newest_quarantined: list[QuarantinedRow] | Unavailable
    enrichment: Enrichment | Unavailable
    links: list[Link] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        """Every number of the view, in page order."""
        return list(_figures(self))


def _figures(value: object) -> Iterator[Figure]:
    if isinstance(value, Figure):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _figures(item)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from _figures(getattr(value, f.name))


def _instant(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


# -- what is watched --------------------------------------------------------------------


def stage_of(topic: str) -> str:
    if topic in RAW_EVENT_TOPICS.values():
        return "JR raw"
    if topic in WEBHOOK_RAW_TOPICS.values():
        return "webhook raw"
    return {INGESTION_DLQ: "dead letters", NORMALIZED: "normalized", ENRICHED: "enriched"}[topic]


def watched_groups() -> dict[str, str]:
    """Reader by consumer group: each Flink job's group named by its job, the bridge's."""
    return {**flink_consumer_groups(), WorkflowSettings().consumer_group: BRIDGE}


def quarantine_tables() -> list[tuple[str, Pipeline]]:
    """Every quarantine table with its pipeline (the exporter's labels, so that a table's
    rows and its pipeline's share agree)."""
    return [(w.table, w.pipeline) for w in watched_tables() if w.kind is TableKind.QUARANTINE]


def has_columns(table: str, columns: Sequence[str]) -> bool:
    definitions = {name: {c for c, _ in cols} for name, cols, _ in table_definitions()}
    return set(columns) <= definitions.get(table, set())


# -- Prometheus ---------------------------------------------------------------------------


def _now_and_history(
    prometheus: PrometheusClient, promql: str, label: str, at: float, window: Window
) -> tuple[dict[str, float], dict[str, Points]]:
    """Each series' value at `at` and its points over the window, by one label."""
    now = {s.labels.get(label, ""): s.value for s in prometheus.query(promql, at=at)}
    history = {
        s.labels.get(label, ""): tuple(s.points)
        for s in prometheus.query_range(promql, window.start, window.end, window.step)
    }
    return now, history


def stage_rates(prometheus: PrometheusClient, at: float, window: Window) -> list[StageRate]:
    """Messages per second into each contract topic at `at`, and over the window."""
    now, history = _now_and_history(prometheus, TOPIC_RATE, "topic", at, window)
    return [
        StageRate(
            topic=topic,
            stage=stage_of(topic),
            rate=Figure(metric_key(Metric.RATE, topic), now.get(topic), Unit.PER_SECOND),
            history=history.get(topic, ()),
        )
        for topic in TOPIC_NAMES
    ]


def group_lags(
    prometheus: PrometheusClient, at: float, window: Window, groups: Mapping[str, str]
) -> list[GroupLag]:
    """Messages each watched consumer group is behind at `at`, and over the window."""
    now, history = _now_and_history(prometheus, GROUP_LAG, "group", at, window)
    return [
        GroupLag(
            group=group,
            reader=reader,
            lag=Figure(metric_key(Metric.LAG, group), now.get(group)),
            history=history.get(group, ()),
        )
        for group, reader in groups.items()
    ]


def quarantine_shares(prometheus: PrometheusClient, at: float) -> list[PipelineShare]:
    """The share of each pipeline's rows (5 min) that went to its quarantine table."""
    now = {s.labels.get("pipeline", ""): s.value for s in prometheus.query(QUARANTINE_SHARE, at=at)}
    return [
        PipelineShare(
            pipeline,
            Figure(
                metric_key(Metric.QUARANTINE_SHARE, pipeline.value),
                now.get(pipeline.value),
                Unit.SHARE,
            ),
        )
        for pipeline in Pipeline
    ]


def _active(position: int, alert: Alert) -> ActiveAlert:
    others = {k: v for k, v in sorted(alert.labels.items()) if k != "alertname"}
    value = Figure(metric_key(Metric.ALERT_VALUE, position), alert.value)
    return ActiveAlert(alert.name, alert.state, others, value)


def alerts(prometheus: PrometheusClient) -> Alerts:
    """Firing alerts first, then pending ones, each by name and labels."""
    found = sorted(
        prometheus.alerts(),
        key=lambda a: (a.state != "firing", a.name, sorted(a.labels.items())),
    )
    firing = sum(a.state == "firing" for a in found)
    return Alerts(
        Figure(metric_key(Metric.ALERTS_FIRING), firing),
        [_active(position, alert) for position, alert in enumerate(found)],
    )


# -- Flink --------------------------------------------------------------------------------


# The job-scope metric Flink counts a job's restarts in.
RESTARTS_METRIC = "numRestarts"


class FlinkUnavailable(RuntimeError):
    """The JobManager's REST API did not answer, or answered with an error."""


def _flink_get(flink: httpx.Client, path: str, params: dict[str, str] | None = None) -> Any:
    try:
        response = flink.get(path, params=params)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise FlinkUnavailable(f"Flink REST GET {path}: {exc}") from exc


def _checkpoint_figures(flink: httpx.Client, job_id: str, name: str) -> tuple[Figure, ...]:
    """Last completed checkpoint (time, duration) and failed checkpoints of one job; no
    values when Flink has none (checkpointing off, the job just started, or it is gone)."""
    at = duration = failed = None
    try:
        body = _flink_get(flink, f"/jobs/{job_id}/checkpoints")
    except FlinkUnavailable as exc:
        log.debug("no checkpoints of %s: %s", name, exc)
    else:
        completed = (body.get("latest") or {}).get("completed") or {}
        ack = completed.get("latest_ack_timestamp")
        at = ack / 1000 if isinstance(ack, int | float) and ack > 0 else None
        took = completed.get("end_to_end_duration")
        duration = float(took) if isinstance(took, int | float) and at is not None else None
        counts = body.get("counts") or {}
        failed = float(counts["failed"]) if "failed" in counts else None
    return (
        Figure(metric_key(Metric.FLINK_CHECKPOINT_AT, name), at, Unit.INSTANT),
        Figure(metric_key(Metric.FLINK_CHECKPOINT_DURATION, name), duration, Unit.MILLISECONDS),
        Figure(metric_key(Metric.FLINK_CHECKPOINTS_FAILED, name), failed),
    )


def _restarts(flink: httpx.Client, job_id: str, name: str) -> Figure:
    """The job's `numRestarts` metric, when the JobManager reports it."""
    value = None
    try:
        body = _flink_get(flink, f"/jobs/{job_id}/metrics", {"get": RESTARTS_METRIC})
    except FlinkUnavailable as exc:
        log.debug("no restart count of %s: %s", name, exc)
    else:
        reported = {m.get("id"): m.get("value") for m in body if isinstance(m, dict)}
        raw = reported.get(RESTARTS_METRIC)
        value = float(raw) if raw is not None else None
    return Figure(metric_key(Metric.FLINK_RESTARTS, name), value)


def flink_job_url(flink: httpx.Client, job: JobSummary) -> str:
    where = "running" if job.active else "completed"
    return f"{str(flink.base_url).rstrip('/')}/#/job/{where}/{job.job_id}/overview"


def flink_jobs(flink: httpx.Client, registered: Sequence[str]) -> FlinkJobs:
    """The newest job of each name the JobManager knows (registered jobs first), with its
    checkpoints and restarts, and the registered jobs it does not know."""
    newest: dict[str, JobSummary] = {}
    for job in parse_jobs_overview(_flink_get(flink, "/jobs/overview")):  # newest first
        newest.setdefault(job.name, job)
    order = [name for name in registered if name in newest] + sorted(
        name for name in newest if name not in registered
    )
    jobs = []
    for name in order:
        job = newest[name]
        started = _instant(job.start_time)
        checkpoint_at, duration, failed = _checkpoint_figures(flink, job.job_id, name)
        jobs.append(
            FlinkJob(
                job_id=job.job_id,
                name=name,
                state=job.state,
                started_at=Figure(metric_key(Metric.FLINK_STARTED_AT, name), started, Unit.INSTANT),
                last_checkpoint_at=checkpoint_at,
                checkpoint_duration=duration,
                checkpoints_failed=failed,
                restarts=_restarts(flink, job.job_id, name),
                url=flink_job_url(flink, job),
            )
        )
    return FlinkJobs(jobs, [name for name in registered if name not in newest])


# -- Trino --------------------------------------------------------------------------------


def qualified(lakehouse: LakehouseSettings, table: str) -> str:
    return f'"{lakehouse.catalog_name}"."{lakehouse.namespace}"."{table}"'


def _union(lakehouse: LakehouseSettings, tables: Sequence[str], columns: Sequence[str]) -> str:
    """Every table's `columns`, with its name as `table_name`, one row set."""
    selected = ", ".join(columns)
    return "\nUNION ALL\n".join(
        f"SELECT '{table}' AS table_name, {selected} FROM {qualified(lakehouse, table)}"
        for table in tables
    )


def quarantine_rows_sql(lakehouse: LakehouseSettings, tables: Sequence[str]) -> str:
    return "\nUNION ALL\n".join(
        f"SELECT '{table}', count(*) FROM {qualified(lakehouse, table)}" for table in tables
    )


def top_reasons_sql(lakehouse: LakehouseSettings, tables: Sequence[str]) -> str:
    return (
        f"SELECT {REASON_COLUMN}, count(*) AS n FROM (\n"
        f"{_union(lakehouse, tables, [REASON_COLUMN])}\n) "
        f"GROUP BY {REASON_COLUMN} ORDER BY n DESC, {REASON_COLUMN} LIMIT {TOP_REASONS}"
    )


def newest_quarantined_sql(lakehouse: LakehouseSettings, tables: Sequence[str]) -> str:
    # One more character than shown tells whether the payload was cut.
    return (
        f"SELECT table_name, {QUARANTINED_AT_COLUMN}, {REASON_COLUMN}, "
        f"substr({PAYLOAD_COLUMN}, 1, {PAYLOAD_CHARS + 1}) FROM (\n"
        f"{_union(lakehouse, tables, QUARANTINE_READ_COLUMNS)}\n) "
        f"ORDER BY {QUARANTINED_AT_COLUMN} DESC, table_name, kafka_topic, kafka_partition, "
        f"kafka_offset DESC LIMIT {NEWEST_ROWS}"
    )


def enrichment_sql(lakehouse: LakehouseSettings) -> str:
    return (
        f"SELECT count(*), count_if({SCORE_SOURCE_COLUMN} = '{FALLBACK}') "
        f"FROM {qualified(lakehouse, ENRICHMENT_TABLE)}"
    )


def truncate_payload(text: str | None) -> str:
    if text is None:
        return ""
    return text if len(text) <= PAYLOAD_CHARS else f"{text[:PAYLOAD_CHARS]}…"


def quarantine_table_rows(
    trino: TrinoQuery, lakehouse: LakehouseSettings, tables: Sequence[tuple[str, Pipeline]]
) -> list[QuarantineTable]:
    counts: dict[str, int] = dict(trino(quarantine_rows_sql(lakehouse, [t for t, _ in tables])))
    return [
        QuarantineTable(
            table, pipeline, Figure(metric_key(Metric.QUARANTINE_ROWS, table), counts[table])
        )
        for table, pipeline in tables
    ]


def top_reasons(
    trino: TrinoQuery, lakehouse: LakehouseSettings, tables: Sequence[str]
) -> list[ReasonCount]:
    """The most frequent first reasons across every quarantine table."""
    return [
        ReasonCount(reason or "", Figure(metric_key(Metric.REASON_ROWS, reason or ""), rows))
        for reason, rows in trino(top_reasons_sql(lakehouse, tables))
    ]


def newest_quarantined(
    trino: TrinoQuery, lakehouse: LakehouseSettings, tables: Sequence[str]
) -> list[QuarantinedRow]:
    return [
        QuarantinedRow(
            table=table,
            quarantined_at=Figure(
                metric_key(Metric.QUARANTINED_AT, position), _instant(moment), Unit.INSTANT
            ),
            reason=reason or "",
            payload=truncate_payload(payload),
        )
        for position, (table, moment, reason, payload) in enumerate(
            trino(newest_quarantined_sql(lakehouse, tables))
        )
    ]


def enrichment(trino: TrinoQuery, lakehouse: LakehouseSettings) -> Enrichment:
    [(rows, fallback)] = trino(enrichment_sql(lakehouse))
    return Enrichment(
        Figure(metric_key(Metric.ENRICHMENT_ROWS), rows),
        Figure(metric_key(Metric.ENRICHMENT_FALLBACK), fallback),
    )


def trino_query(lakehouse: LakehouseSettings) -> TrinoQuery:
    """Each query on a connection of its own (they run in parallel threads)."""
    from lakehouse.clients import trino_rows

    return functools.partial(trino_rows, lakehouse)


# -- the whole view -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    prometheus: PrometheusClient
    flink: httpx.Client
    trino: TrinoQuery
    lakehouse: LakehouseSettings
    groups: Mapping[str, str]  # reader by consumer group
    registered_jobs: Sequence[str]
    quarantine_tables: Sequence[tuple[str, Pipeline]]


T = TypeVar("T")
REASON_CHARS = 400


def _section(name: str, read: Callable[[], T]) -> T | Unavailable:
    """The section's data, or why its source did not answer. Whatever goes wrong in one
    section (a source down, an answer the console does not understand) stays in it."""
    try:
        return read()
    except Exception as exc:
        log.warning("console section %s unavailable (%s: %s)", name, type(exc).__name__, exc)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Unavailable(reason[:REASON_CHARS])


def evaluation_instant(now: float, delay_seconds: float) -> float:
    """Whole seconds, so that the page's `data-evaluated-at` is the instant itself."""
    return float(math.floor(now - delay_seconds))


def ui_links(settings: ConsoleSettings) -> list[Link]:
    return [
        Link("Flink", settings.flink_url),
        Link("Temporal", settings.temporal_ui_url),
        Link("Dagster", settings.dagster_url),
        Link("Prometheus", settings.prometheus_url),
    ]


def gather_view(
    sources: Sources, settings: ConsoleSettings, *, now: float | None = None
) -> ConsoleView:
    """Every section, each source asked in parallel; never raises for a source."""
    generated_at = time.time() if now is None else now
    at = evaluation_instant(generated_at, settings.evaluation_delay_seconds)
    window = Window.ending(at, settings.sparkline_window_minutes, settings.sparkline_points)
    prometheus, trino, lakehouse = sources.prometheus, sources.trino, sources.lakehouse
    tables = [table for table, _ in sources.quarantine_tables]

    with ThreadPoolExecutor(max_workers=9, thread_name_prefix="console") as pool:

        def ask(name: str, read: Callable[[], T]) -> Future[T | Unavailable]:
            return pool.submit(_section, name, read)

        stages = ask("stages", lambda: stage_rates(prometheus, at, window))
        groups = ask("groups", lambda: group_lags(prometheus, at, window, sources.groups))
        flink = ask("flink", lambda: flink_jobs(sources.flink, sources.registered_jobs))
        rows = ask(
            "quarantine tables",
            lambda: quarantine_table_rows(trino, lakehouse, sources.quarantine_tables),
        )
        shares = ask("quarantine shares", lambda: quarantine_shares(prometheus, at))
        reasons = ask("top reasons", lambda: top_reasons(trino, lakehouse, tables))
        newest = ask("newest quarantined", lambda: newest_quarantined(trino, lakehouse, tables))
        enriched = ask("enrichment", lambda: enrichment(trino, lakehouse))
        firing = ask("alerts", lambda: alerts(prometheus))
        return ConsoleView(
            generated_at=generated_at,
            evaluated_at=at,
            window=window,
            sparkline_minutes=Figure(
                metric_key(Metric.SPARKLINE_MINUTES), settings.sparkline_window_minutes
            ),
            alerts=firing.result(),
            stages=stages.result(),
            groups=groups.result(),
            flink=flink.result(),
            quarantine_shares=shares.result(),
            quarantine_tables=rows.result(),
            top_reasons=reasons.result(),
            newest_quarantined=newest.result(),
            enrichment=enriched.result(),
            links=ui_links(settings),
        )
