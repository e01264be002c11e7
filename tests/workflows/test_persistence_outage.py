"""Kafka down for longer than any retry budget: the enrichment workflows wait it out and
publish every result exactly once when the broker is back.

The broker is a private single-node KRaft Kafka of this test (the shared one is never
stopped); the worker is the real `python -m workflows.worker` against the shared Temporal
dev server, on a task queue of its own. The workflows are started directly, as the bridge
would start them: once started, their batch's offsets are committed, so the workflow is
the only thing that will ever write their results.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from temporalio.client import Client, WorkflowExecutionStatus

from bench.messages import unified_event
from tests.workflows.harness import (
    TEMPORAL,
    Service,
    TopicReader,
    free_port,
    persistence_retries,
    wait_until,
)
from tests.workflows.private_services import PrivateProcess, bootstrap, private_kafka
from workflows.attempts_store import drop_attempts_table
from workflows.claims_store import drop_claims_table
from workflows.cleanup import terminate_running
from workflows.enrichment import EnrichmentWorkflow
from workflows.ids import enrichment_workflow_id
from workflows.models import EnrichmentBatch, EnrichmentOptions
from workflows.settings import WorkflowSettings

pytestmark = pytest.mark.integration

# Short tries and pauses, so the budget the old policy had (10 tries) was about 30 s here:
# 10 publishes that each fail after PUBLISH_TIMEOUT, with pauses of at most MAX_PAUSE.
PUBLISH_TIMEOUT = 2.0
MAX_PAUSE = 1.0
OLD_BUDGET_SECONDS = 10 * PUBLISH_TIMEOUT + 9 * MAX_PAUSE
OUTAGE_SECONDS = 2 * OLD_BUDGET_SECONDS


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[PrivateProcess]:
    broker = private_kafka(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def create_topic(bootstrap_servers: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(30)


def worker_env(settings: dict[str, str], bootstrap_servers: str) -> dict[str, str]:
    return (
        os.environ
        | settings
        | {"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers, "PYTHONUNBUFFERED": "1"}
    )


async def start_batches(task_queue: str, sink_topic: str, batches: list[list[dict]]) -> list[str]:
    client = await Client.connect(TEMPORAL)
    options = EnrichmentOptions(
        inference_retry_initial_seconds=0.1,
        inference_retry_max_seconds=0.2,
        persistence_retry_initial_seconds=0.2,
        persistence_retry_max_seconds=MAX_PAUSE,
    )
    ids = []
    for number, events in enumerate(batches):
        first = number * 100
        workflow_id = enrichment_workflow_id("outage.source", 0, first, first + len(events) - 1)
        await client.start_workflow(
            EnrichmentWorkflow.run,
            EnrichmentBatch(
                source_topic="outage.source",
                partition=0,
                first_offset=first,
                last_offset=first + len(events) - 1,
                events=events,
                sink_topic=sink_topic,
                options=options,
            ),
            id=f"{workflow_id}-{task_queue}",
            task_queue=task_queue,
        )
        ids.append(f"{workflow_id}-{task_queue}")
    return ids


async def statuses(workflow_ids: list[str]) -> list[WorkflowExecutionStatus | None]:
    client = await Client.connect(TEMPORAL)
    return [(await client.get_workflow_handle(w).describe()).status for w in workflow_ids]


def test_results_written_during_a_long_kafka_outage_all_arrive_once(
    kafka: PrivateProcess, tmp_path: Path
):
    suffix = uuid.uuid4().hex[:8]
    sink_topic = f"outage.{suffix}.payments.enriched"
    task_queue = f"it-outage-{suffix}"
    metrics_port = free_port()
    settings = {
        "WORKFLOWS_TEMPORAL_ADDRESS": TEMPORAL,
        "WORKFLOWS_TASK_QUEUE": task_queue,
        "WORKFLOWS_SINK_TOPIC": sink_topic,
        # No inference service: fallback scores, which is all this test needs.
        "WORKFLOWS_INFERENCE_URL": f"http://127.0.0.1:{free_port()}",
        "WORKFLOWS_RECOVERY_TABLE": f"it_recovery_attempts_{suffix}",
        "WORKFLOWS_CLAIMS_TABLE": f"it_enrichment_claims_{suffix}",
        "WORKFLOWS_PUBLISH_TIMEOUT_SECONDS": str(PUBLISH_TIMEOUT),
        "WORKFLOWS_METRICS_PORT": str(metrics_port),
    }
    create_topic(bootstrap(kafka), sink_topic)
    worker = Service(
        "worker",
        [sys.executable, "-m", "workflows.worker"],
        worker_env(settings, bootstrap(kafka)),
        tmp_path,
    )
    worker.start()
    try:
        run_outage(kafka, worker, task_queue, sink_topic, metrics_port, suffix)
    finally:
        worker.stop()
        asyncio.run(terminate_running(TEMPORAL, task_queue, "test cleanup"))
        dsn = WorkflowSettings().postgres_dsn
        drop_attempts_table(dsn, settings["WORKFLOWS_RECOVERY_TABLE"])
        drop_claims_table(dsn, settings["WORKFLOWS_CLAIMS_TABLE"])


def run_outage(
    kafka: PrivateProcess,
    worker: Service,
    task_queue: str,
    sink_topic: str,
    metrics_port: int,
    suffix: str,
) -> None:
    batches = [[unified_event(n, suffix) for n in range(b * 20, b * 20 + 20)] for b in range(3)]
    expected = {e["event_id"] for batch in batches for e in batch}
    wait_until(lambda: "worker on" in worker.logs(), 60, 0.2, worker.logs())

    kafka.stop()
    down_at = time.monotonic()
    workflow_ids = asyncio.run(start_batches(task_queue, sink_topic, batches))
    # Kafka stays down well past the old policy's last try.
    wait_until(
        lambda: persistence_retries(metrics_port, "publish_results") >= 3, 60, 0.5, worker.logs()
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
    states = asyncio.run(statuses(workflow_ids))
    assert states == [WorkflowExecutionStatus.RUNNING] * 3, f"{states}\n{worker.logs()}"
    assert persistence_retries(metrics_port, "publish_results") >= 10, (
        "fewer publish retries than the old budget"
    )
    assert worker.log_count("persistence retry activity=publish_results") >= 10

    kafka.start()
    reader = TopicReader(bootstrap(kafka), sink_topic)
    by_event = reader.read_until(expected, timeout=120)
    reader.close()
    assert set(by_event) == expected, worker.logs()
    duplicated = {event_id for event_id, copies in by_event.items() if len(copies) != 1}
    assert not duplicated, f"{len(duplicated)} events have more than one result"
    assert {c[0]["score_source"] for c in by_event.values()} == {"fallback"}
    wait_until(
        lambda: asyncio.run(statuses(workflow_ids)) == [WorkflowExecutionStatus.COMPLETED] * 3,
        60,
        1,
        worker.logs(),
    )
    worker.assert_running()
