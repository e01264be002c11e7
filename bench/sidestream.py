"""Side stream: enrichment lag, and recovery workflows started per second with their latency.

For each rate, unified events (a share of them failed payments) go at that steady rate
into a `payments.normalized` of the run's own, read by a bridge and a worker of the run's
own (`python -m workflows.bridge` / `workflows.worker` as subprocesses, on a task queue,
consumer group, result topic and attempts table made for the run) that call the
platform's inference service. Measured:

- enrichment lag: from an event's append to its result's append on the result topic
  (both Kafka create times, on one clock); the Flink leg into Iceberg is the freshness
  benchmark's;
- recoveries: one `PaymentRecoveryWorkflow` per failed payment, read back from Temporal's
  visibility store: how many started per second, the delay from the failed payment's
  append to its recovery's start, and each recovery's start-to-close latency. Retry
  timers are scaled by `sidestream_delay_scale`, so the latency is the workflows' own.

Afterwards the run's workflows are terminated and its topics and table removed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer
from temporalio.client import Client

from bench.messages import unified_event
from bench.plots import histogram
from bench.processes import running
from bench.results import Result, summarise
from bench.settings import BenchSettings
from contracts.topics import ENRICHED, NORMALIZED
from deploy.local.readiness import NotReady, group_members, inference_ready, task_queue_pollers
from deploy.local.settings import StackSettings
from lakehouse.settings import LakehouseSettings
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import delete_topics, ensure_topics
from workflows.attempts_store import drop_attempts_table
from workflows.claims_store import drop_claims_table
from workflows.cleanup import terminate_running
from workflows.ids import recovery_workflow_id
from workflows.settings import WorkflowSettings

RECOVERY_TYPE = "PaymentRecoveryWorkflow"
ENRICHMENT_TYPE = "EnrichmentWorkflow"
PARTITIONS = 3


@dataclass(frozen=True)
class Execution:
    """One workflow as Temporal's visibility store lists it."""

    workflow_id: str
    status: str
    started: float
    closed: float | None


@dataclass
class Figures:
    """What one rate's run observed, raw."""

    rate: float
    sent_at: dict[str, float] = field(default_factory=dict)  # event_id -> append time
    failed_ids: set[str] = field(default_factory=set)
    results_at: dict[str, list[float]] = field(default_factory=dict)  # event_id -> appends
    recoveries: list[Execution] = field(default_factory=list)
    enrichments: list[Execution] = field(default_factory=list)
    load_seconds: float = 0.0


def is_failed(n: int, share: float) -> bool:
    """Spreads the failed payments evenly: event n is failed when n * share crosses an
    integer, so any window of the stream holds about `share` of them."""
    return int((n + 1) * share) > int(n * share)


def run_settings(settings: BenchSettings, suffix: str, inference_url: str) -> WorkflowSettings:
    return WorkflowSettings(
        task_queue=f"bench-enrichment-{suffix}",
        source_topic=f"bench.{suffix}.{NORMALIZED}",
        sink_topic=f"bench.{suffix}.{ENRICHED}",
        consumer_group=f"bench-bridge-{suffix}",
        recovery_table=f"bench_recovery_attempts_{suffix}",
        claims_table=f"bench_enrichment_claims_{suffix}",
        inference_url=inference_url,
        batch_size=settings.sidestream_batch_size,
        recovery_delay_scale=settings.sidestream_delay_scale,
    )


def process_env(workflow: WorkflowSettings) -> dict[str, str]:
    """The run's settings as the environment of its bridge and worker."""
    env = {
        f"WORKFLOWS_{name.upper()}": str(getattr(workflow, name))
        for name in (
            "temporal_address", "task_queue", "source_topic", "sink_topic", "consumer_group",
            "recovery_table", "claims_table", "inference_url", "batch_size", "recovery_delay_scale",
        )
    }  # fmt: skip
    return env | {"KAFKA_BOOTSTRAP_SERVERS": workflow.kafka.bootstrap_servers}


def wait_ready(
    workflow: WorkflowSettings,
    processes: dict[str, subprocess.Popen],
    timeout: float,
    workers: int = 1,
) -> None:
    """Until `workers` workers poll the task queue and the bridge has joined its group."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"the {name} exited before it was ready; see its log")
        try:
            pollers = task_queue_pollers(
                workflow.temporal_address, workflow.temporal_namespace, workflow.task_queue
            )
            members = group_members(workflow.kafka.bootstrap_servers, workflow.consumer_group)
        except NotReady:
            pollers = members = 0
        if pollers >= workers and members:
            return
        time.sleep(0.5)
    raise RuntimeError(
        f"the run's {workers} worker(s) and bridge were not ready within {timeout:g}s"
    )


def worker_names(workers: int) -> list[str]:
    """The run's worker processes, as their logs and messages name them: `worker` alone,
    else `worker1`, `worker2`, ..."""
    return ["worker"] if workers == 1 else [f"worker{n}" for n in range(1, workers + 1)]


class ResultReader(threading.Thread):
    """Reads the run's result topic from the start: every result's append time by event."""

    def __init__(self, workflow: WorkflowSettings, figures: Figures) -> None:
        super().__init__(daemon=True)
        self.figures = figures
        self.stop = threading.Event()
        self.failure: str | None = None
        self._consumer = Consumer(
            {
                "bootstrap.servers": workflow.kafka.bootstrap_servers,
                "group.id": f"{workflow.consumer_group}-reader",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self._consumer.subscribe([workflow.sink_topic])

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for message in self._consumer.consume(500, 0.2):
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            continue
                        raise RuntimeError(str(error))
                    result = json.loads(message.value() or b"{}")
                    _, appended_ms = message.timestamp()
                    self.figures.results_at.setdefault(str(result.get("event_id")), []).append(
                        appended_ms / 1000
                    )
        except Exception as exc:  # reported by the run, which stops waiting for results
            self.failure = f"{type(exc).__name__}: {exc}"
        finally:
            self._consumer.close()

    def seen(self) -> set[str]:
        return set(self.figures.results_at)


def steady_load(
    workflow: WorkflowSettings, settings: BenchSettings, suffix: str, figures: Figures
) -> None:
    """Unified events at `figures.rate` per second, scheduled by the clock; each event's
    append time is its Kafka create time, set here at produce."""
    producer = Producer(
        {
            "bootstrap.servers": workflow.kafka.bootstrap_servers,
            "enable.idempotence": True,
            "linger.ms": 5,
        }
    )
    count = max(1, int(figures.rate * settings.sidestream_seconds))
    started = time.monotonic()
    for n in range(count):
        delay = started + n / figures.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        failed = is_failed(n, settings.sidestream_failed_share)
        event = unified_event(n, suffix, "payment.failed" if failed else "payment.succeeded")
        now_ms = int(time.time() * 1000)
        producer.produce(
            workflow.source_topic,
            key=event["merchant_id"],
            value=json.dumps(event).encode(),
            timestamp=now_ms,
        )
        producer.poll(0)
        figures.sent_at[event["event_id"]] = now_ms / 1000
        if failed:
            figures.failed_ids.add(event["event_id"])
    figures.load_seconds = time.monotonic() - started
    if producer.flush(60) != 0:
        raise RuntimeError("the load's producer could not deliver every event in 60 s")


async def executions(workflow: WorkflowSettings, workflow_type: str) -> list[Execution]:
    client = await Client.connect(workflow.temporal_address, namespace=workflow.temporal_namespace)
    query = f"TaskQueue = '{workflow.task_queue}' AND WorkflowType = '{workflow_type}'"
    found = []
    async for execution in client.list_workflows(query):
        closed: datetime | None = execution.close_time
        found.append(
            Execution(
                workflow_id=execution.id,
                status=execution.status.name if execution.status else "UNKNOWN",
                started=execution.start_time.timestamp(),
                closed=closed.timestamp() if closed else None,
            )
        )
    return found


def wait_for_recoveries(
    workflow: WorkflowSettings, expected: int, deadline: float
) -> list[Execution]:
    """The run's recoveries once `expected` of them are listed and all are closed (or at the
    deadline: whatever is listed then, running ones included)."""
    recoveries: list[Execution] = []
    while time.monotonic() < deadline:
        recoveries = asyncio.run(executions(workflow, RECOVERY_TYPE))
        if len(recoveries) >= expected and all(r.closed is not None for r in recoveries):
            break
        time.sleep(1)
    return recoveries


def measure(
    settings: BenchSettings, rate: float, inference_url: str, out: Path, workers: int = 1
) -> Figures:
    """One rate through a bridge and `workers` worker processes on the run's task queue."""
    suffix = uuid.uuid4().hex[:8]
    workflow = run_settings(settings, suffix, inference_url)
    kafka = KafkaSettings(topics=TopicSettings(partitions=PARTITIONS))
    topics = (workflow.source_topic, workflow.sink_topic)
    ensure_topics(kafka, names=topics, report=lambda _: None)
    figures = Figures(rate=rate)
    env = process_env(workflow)
    try:
        with ExitStack() as processes:
            started = {
                name: processes.enter_context(
                    running(["workflows.worker"], env, out / f"sidestream-{rate:g}-{name}.log")
                )
                for name in worker_names(workers)
            }
            started["bridge"] = processes.enter_context(
                running(["workflows.bridge"], env, out / f"sidestream-{rate:g}-bridge.log")
            )
            wait_ready(workflow, started, timeout=90, workers=workers)
            reader = ResultReader(workflow, figures)
            reader.start()
            steady_load(workflow, settings, suffix, figures)
            deadline = time.monotonic() + settings.sidestream_drain_timeout_seconds
            while (
                reader.failure is None
                and not set(figures.sent_at) <= reader.seen()
                and time.monotonic() < deadline
            ):
                time.sleep(0.5)
            figures.recoveries = wait_for_recoveries(workflow, len(figures.failed_ids), deadline)
            time.sleep(2)  # late duplicates on the result topic would show by now
            reader.stop.set()
            reader.join(30)
            if reader.failure:
                raise RuntimeError(f"reading {workflow.sink_topic} failed: {reader.failure}")
            figures.enrichments = asyncio.run(executions(workflow, ENRICHMENT_TYPE))
    finally:
        asyncio.run(terminate_running(workflow.temporal_address, workflow.task_queue, "bench"))
        delete_topics(kafka, topics)
        drop_attempts_table(workflow.postgres_dsn, workflow.recovery_table)
        drop_claims_table(workflow.postgres_dsn, workflow.claims_table)
    return figures


def recovery_start_delays(figures: Figures) -> list[float]:
    """From each failed payment's append to its recovery's start."""
    started = {r.workflow_id: r.started for r in figures.recoveries}
    return [
        started[recovery_workflow_id(event_id)] - figures.sent_at[event_id]
        for event_id in figures.failed_ids
        if recovery_workflow_id(event_id) in started
    ]


def enrichment_lags(figures: Figures) -> list[float]:
    """From each event's append to its first result's append."""
    return [
        min(appends) - figures.sent_at[event_id]
        for event_id, appends in figures.results_at.items()
        if event_id in figures.sent_at
    ]


def recovery_latencies(figures: Figures) -> list[float]:
    return [r.closed - r.started for r in figures.recoveries if r.closed is not None]


def row(figures: Figures) -> dict[str, object]:
    sent = len(figures.sent_at)
    enriched = len(set(figures.results_at) & set(figures.sent_at))
    copies = sum(len(ats) for ats in figures.results_at.values())
    starts = sorted(r.started for r in figures.recoveries)
    span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
    lag = summarise(enrichment_lags(figures))
    start_delay = summarise(recovery_start_delays(figures))
    took = summarise(recovery_latencies(figures))
    statuses = Counter(r.status for r in figures.recoveries)
    return {
        "rate_eps": figures.rate,
        "sent": sent,
        "achieved_eps": sent / figures.load_seconds if figures.load_seconds else 0.0,
        "enriched": enriched,
        "extra_copies": copies - enriched,
        "workflows": len(figures.enrichments),
        "lag_p50_s": lag["p50"],
        "lag_p95_s": lag["p95"],
        "lag_max_s": lag["max"],
        "failed": len(figures.failed_ids),
        "recoveries": len(figures.recoveries),
        "recoveries_per_s": (len(starts) - 1) / span if span else 0.0,
        "start_p95_s": start_delay["p95"],
        "recovery_p50_s": took["p50"],
        "recovery_p95_s": took["p95"],
        "not_completed": sum(n for status, n in statuses.items() if status != "COMPLETED"),
    }


def run(settings: BenchSettings, out: Path) -> Result:
    stack = StackSettings()
    try:
        inference_ready(stack, LakehouseSettings())
    except NotReady as exc:
        return Result.not_measured(
            "sidestream", f"the platform's inference service is not ready ({exc}): `make up`"
        )
    inference_url = f"http://127.0.0.1:{stack.inference_port}"
    runs = []
    for rate in settings.sidestream_rates:
        print(f"  {rate:g} events/s for {settings.sidestream_seconds:g}s", flush=True)
        figures = measure(settings, rate, inference_url, out)
        runs.append(figures)
        print(f"    {row(figures)}", flush=True)
    lag_plot = histogram(
        out / "sidestream_lag.png",
        {f"{f.rate:g} events/s": enrichment_lags(f) for f in runs},
        title="Event appended -> its enrichment result appended",
        xlabel="seconds",
        ylabel="events",
    )
    recovery_plot = histogram(
        out / "sidestream_recovery.png",
        {f"{f.rate:g} events/s": recovery_latencies(f) for f in runs},
        title="Recovery workflow start -> close",
        xlabel="seconds",
        ylabel="workflows",
    )
    return Result(
        name="sidestream",
        measured=True,
        reason=(
            f"Unified events ({settings.sidestream_failed_share:.0%} failed payments) at each "
            f"rate for {settings.sidestream_seconds:g}s into {PARTITIONS} partitions; one bridge "
            f"and one worker process (batches of up to {settings.sidestream_batch_size}), the "
            f"platform's inference service. Lag: event append -> result append. Recoveries "
            f"from Temporal's visibility store; retry timers scaled by "
            f"{settings.sidestream_delay_scale:g} (a day is "
            f"{86_400 * settings.sidestream_delay_scale * 1000:.0f} ms), up to 3 attempts each. "
            "extra_copies: results published more than once (retried publishes; the sink "
            "job's dedupe keeps one row)."
        ),
        rows=[row(f) for f in runs],
        data={
            "runs": [
                {
                    "rate": f.rate,
                    "row": row(f),
                    "lag_s": enrichment_lags(f),
                    "recoveries": [vars(r) for r in f.recoveries],
                }
                for f in runs
            ]
        },
        plots=[lag_plot, recovery_plot],
    )
