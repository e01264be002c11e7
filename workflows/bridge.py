"""`python -m workflows.bridge`: `payments.normalized` -> one EnrichmentWorkflow per batch.

Delivery rules:

- Offsets are committed only after Temporal acknowledged the batch's workflow start. On
  any failure (Kafka or Temporal unreachable) the consumer is closed without committing
  and, after a capped exponential backoff, a new one re-reads from the last commit, so no
  message is ever skipped and an outage of either never ends the process.
- Batches are aligned offset ranges (see `workflows.batching`), and the workflow id
  names the range (`enrich-<topic>-<partition>-<first>-<last>`), so a message read again
  after a crash lands in a batch with the same id, and Temporal refuses a second run.
- The source topic is written *at least once*: the normalisation job's Kafka sink may
  write an event again after a Flink restart, at a new offset (so in another batch, with
  another workflow id). That duplicate is dropped by the workflow's claim on the event_id
  (`workflows.claims_store`): one result and at most one recovery per event_id. The
  consumer reads with isolation.level=read_committed all the same, so that aborted
  writes are never read once the job's sink writes transactionally.
- Throughput: a Temporal worker runs tens of workflows per second while the gateway
  takes thousands of events per second, so one workflow carries up to `batch_size`
  events and scores them with one `/v1/score/batch` call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from observability.logs import FIELDS, configure_json_logging
from workflows.batching import OffsetBatch, PartitionBatcher, parse_plan, plan_metadata
from workflows.enrichment import EnrichmentWorkflow
from workflows.ids import enrichment_workflow_id
from workflows.models import EnrichmentBatch, EnrichmentOptions, Event
from workflows.reconnect import Backoff, connect_temporal
from workflows.settings import WorkflowSettings

log = logging.getLogger("workflows.bridge")

# Why these policies:
# - USE_EXISTING: if the batch's workflow is still running (the bridge died after starting
#   it, before committing), the start attaches to it instead of failing or starting over.
# - ALLOW_DUPLICATE_FAILED_ONLY: a batch whose workflow completed is never enriched again
#   (the start raises WorkflowAlreadyStartedError, which counts as success). One that
#   *failed* (its results may be missing) runs again when its offsets are read again, e.g.
#   after an operator resets the group; whatever it had published is absorbed by the sink
#   job's keep-first dedupe on event_id, and its recoveries by their own ids.
ID_REUSE_POLICY = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
ID_CONFLICT_POLICY = WorkflowIDConflictPolicy.USE_EXISTING
POLL_SECONDS = 0.2
# The lag gauge is refreshed at most this often (from the consumer's cached watermarks).
LAG_REFRESH_SECONDS = 1.0
# What an unreachable Kafka or Temporal raises; any of them means: wait, then re-read.
# (RuntimeError: confluent-kafka on a closed consumer; RPCError: every Temporal call.)
OUTAGE_ERRORS = (KafkaException, RPCError, RuntimeError, OSError)


def read_event(message: Message) -> Event:
    """The unified event; a message that is not one is kept as an `unreadable` record, which
    the workflow shows in its input and skips (it has no event_id to enrich)."""
    value = message.value()
    try:
        event = json.loads(value) if value is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        event = None
    if isinstance(event, dict) and isinstance(event.get("event_id"), str) and event["event_id"]:
        return event
    log.warning(
        "unenrichable message at %s/%s@%s: not a unified event with an event_id",
        message.topic(),
        message.partition(),
        message.offset(),
    )
    raw = value.decode("utf-8", "replace") if value is not None else None
    return {"unreadable": raw[:2000] if raw else raw}


def consumer_config(settings: WorkflowSettings) -> dict[str, str | int | bool]:
    return {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "group.id": settings.consumer_group,
        # Offsets are committed by hand, after Temporal acknowledged the batch's workflow.
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        # Never read a transactional producer's aborted writes (module docstring).
        "isolation.level": "read_committed",
        "session.timeout.ms": settings.consumer_session_timeout_ms,
        "log_level": 3,
    }


class BridgeMetrics:
    """The bridge's Prometheus series (observability.series), in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.batches = Counter(
            "bridge_batches", "Batches handed to Temporal and committed.", registry=self.registry
        )
        self.workflow_starts = Counter(
            "bridge_workflow_starts",
            "Enrichment workflow starts Temporal acknowledged, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.outages = Counter(
            "bridge_outages",
            "Times the bridge lost Kafka or Temporal and re-read from the last commit.",
            registry=self.registry,
        )
        self.lag = Gauge(
            "bridge_consumer_lag",
            "Messages of an assigned partition not read yet (high watermark - position).",
            ["topic", "partition"],
            registry=self.registry,
        )

    def serve(self, port: int) -> None:
        start_http_server(port, addr="127.0.0.1", registry=self.registry)
        log.info("metrics on http://127.0.0.1:%d/metrics", port)


class EnrichmentBridge:
    def __init__(
        self, settings: WorkflowSettings, client: Client, metrics: BridgeMetrics | None = None
    ) -> None:
        self._settings = settings
        self._client = client
        self.metrics = metrics or BridgeMetrics()
        self._lag_refreshed = 0.0
        self._batchers: dict[int, PartitionBatcher] = {}
        self._options = EnrichmentOptions(
            inference_retry_initial_seconds=settings.inference_retry_initial_seconds,
            inference_retry_max_seconds=settings.inference_retry_max_seconds,
            recovery_delay_scale=settings.recovery_delay_scale,
            recovery_max_attempts=settings.recovery_max_attempts,
            persistence_retry_initial_seconds=settings.persistence_retry_initial_seconds,
            persistence_retry_max_seconds=settings.persistence_retry_max_seconds,
        )
        self._backoff = Backoff(settings.bridge_retry_seconds, settings.bridge_retry_max_seconds)
        self.started = 0  # workflow starts acknowledged, for logs and tests

    async def run(self) -> None:
        """Forever: consume, and after any failure start over from the last commit."""
        while True:
            consumer = self._new_consumer()
            try:
                await self._consume(consumer)
            except OUTAGE_ERRORS as exc:
                self.metrics.outages.inc()
                delay = self._backoff.next_delay()
                log.warning(
                    "bridge failed failures=%d retry_in=%.1fs (%s: %s); "
                    "re-reading from the last commit",
                    self._backoff.failures,
                    delay,
                    type(exc).__name__,
                    exc,
                )
            finally:
                self._batchers.clear()
                self.metrics.lag.clear()
                await asyncio.to_thread(consumer.close)
            await asyncio.sleep(delay)

    def _new_consumer(self) -> Consumer:
        settings = self._settings
        consumer = Consumer(consumer_config(settings))
        consumer.subscribe(
            [settings.source_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        return consumer

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._batchers.pop(tp.partition, None)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Uncommitted batches of a partition we lose are the new owner's to read again.
        for tp in partitions:
            self._batchers.pop(tp.partition, None)
            with contextlib.suppress(KeyError):
                self.metrics.lag.remove(tp.topic, str(tp.partition))

    def _refresh_lag(self, consumer: Consumer, now: float) -> None:
        """The lag of each assigned partition, from the watermarks the last fetch brought
        (no request to the broker)."""
        if now - self._lag_refreshed < LAG_REFRESH_SECONDS:
            return
        self._lag_refreshed = now
        for tp in consumer.position(consumer.assignment()):
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(high - tp.offset)

    async def _consume(self, consumer: Consumer) -> None:
        size = self._settings.batch_size
        while True:
            messages = await asyncio.to_thread(consumer.consume, size, POLL_SECONDS)
            now = time.monotonic()
            ready: list[OffsetBatch] = []
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(error)
                partition, offset = message.partition(), message.offset()
                if partition is None or offset is None:
                    raise KafkaException(f"message without coordinates from {message.topic()}")
                batcher = self._batcher(consumer, partition)
                ready += batcher.add(offset, read_event(message), now)
            ready += [b for b in (x.due(now) for x in self._batchers.values()) if b is not None]
            for batch in ready:
                await self._hand_over(consumer, batch)
            self._refresh_lag(consumer, now)

    def _batcher(self, consumer: Consumer, partition: int) -> PartitionBatcher:
        """The partition's batcher; a new one honours a plan left in the commit metadata."""
        if partition not in self._batchers:
            tp = TopicPartition(self._settings.source_topic, partition)
            committed = consumer.committed([tp], timeout=10)[0]
            self._batchers[partition] = PartitionBatcher(
                partition,
                self._settings.batch_size,
                self._settings.batch_max_wait_seconds,
                planned_last=parse_plan(committed.metadata),
            )
        return self._batchers[partition]

    async def _hand_over(self, consumer: Consumer, batch: OffsetBatch) -> None:
        topic = self._settings.source_topic
        if batch.partial:
            # Remember where this batch ends before anything else can happen to it, so a
            # restart cuts the same batch even though more messages have arrived by then.
            self._commit(
                consumer,
                TopicPartition(
                    topic,
                    batch.partition,
                    batch.first_offset,
                    metadata=plan_metadata(batch.last_offset),
                ),
            )
        await self._start_workflow(batch)
        self._commit(consumer, TopicPartition(topic, batch.partition, batch.last_offset + 1))
        self.metrics.batches.inc()
        self._backoff.reset()  # a batch went through: the next outage starts short again

    async def _start_workflow(self, batch: OffsetBatch) -> None:
        settings = self._settings
        workflow_id = enrichment_workflow_id(
            settings.source_topic, batch.partition, batch.first_offset, batch.last_offset
        )
        try:
            await self._client.start_workflow(
                EnrichmentWorkflow.run,
                EnrichmentBatch(
                    source_topic=settings.source_topic,
                    partition=batch.partition,
                    first_offset=batch.first_offset,
                    last_offset=batch.last_offset,
                    events=batch.events,
                    sink_topic=settings.sink_topic,
                    options=self._options,
                ),
                id=workflow_id,
                task_queue=settings.task_queue,
                id_reuse_policy=ID_REUSE_POLICY,
                id_conflict_policy=ID_CONFLICT_POLICY,
            )
        except WorkflowAlreadyStartedError:
            self.metrics.workflow_starts.labels("already_completed").inc()
            log.info(
                "%s already completed: its batch is enriched",
                workflow_id,
                extra={FIELDS: {"workflow_id": workflow_id}},
            )
        else:
            self.metrics.workflow_starts.labels("started").inc()
        self.started += 1
        log.info(
            "started %s (%d events)",
            workflow_id,
            len(batch.events),
            extra={
                FIELDS: {
                    "workflow_id": workflow_id,
                    "partition": batch.partition,
                    "first_offset": batch.first_offset,
                    "last_offset": batch.last_offset,
                    "events": len(batch.events),
                }
            },
        )

    def _commit(self, consumer: Consumer, offset: TopicPartition) -> None:
        committed = consumer.commit(offsets=[offset], asynchronous=False)
        failed = [tp for tp in committed or [] if tp.error is not None]
        if failed:
            raise KafkaException(failed[0].error)


async def run_bridge(settings: WorkflowSettings) -> None:
    client = await connect_temporal(
        settings.temporal_address,
        settings.temporal_namespace,
        Backoff(settings.bridge_retry_seconds, settings.bridge_retry_max_seconds),
    )
    log.info(
        "bridge %s -> task queue %s (group %s, batches of %d)",
        settings.source_topic,
        settings.task_queue,
        settings.consumer_group,
        settings.batch_size,
    )
    metrics = BridgeMetrics()
    if settings.bridge_metrics_port:
        metrics.serve(settings.bridge_metrics_port)
    running = asyncio.create_task(EnrichmentBridge(settings, client, metrics).run())
    # SIGTERM/SIGINT: leave the group cleanly (uncommitted batches are read again later).
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, running.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await running
    log.info("bridge stopped")


def main() -> None:
    configure_json_logging()
    asyncio.run(run_bridge(WorkflowSettings()))


if __name__ == "__main__":
    main()
