"""The bridge's delivery rules on the real Kafka and Temporal: a batch whose workflow
started but whose offsets were not committed is read again after the failure, and gets
the same workflow id (even though more messages arrived meanwhile), so it is enriched
once. The bridge runs in-process here so the failure can be placed exactly; the worker
is the real `python -m workflows.worker`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from temporalio.client import Client

from bench.messages import unified_event
from tests.workflows.harness import (
    TEMPORAL,
    SideStream,
    TopicReader,
    produce_events,
    side_stream,
)
from workflows.bridge import EnrichmentBridge

pytestmark = pytest.mark.integration


@pytest.fixture
def stream(tmp_path) -> Iterator[SideStream]:
    # No inference service: every result is a fallback, which is all this test needs.
    yield from side_stream(
        tmp_path, WORKFLOWS_BATCH_SIZE="50", WORKFLOWS_BATCH_MAX_WAIT_SECONDS="1"
    )


class CommitLostAfterStart(EnrichmentBridge):
    """Fails the first offset commit after a workflow start, as a crash there would, and
    lets more messages arrive before the bridge reads again."""

    def __init__(self, *args, on_failure, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.on_failure = on_failure
        self.failures = 0

    def _commit(self, consumer: Consumer, offset: TopicPartition) -> None:
        if self.failures == 0 and not offset.metadata:
            self.failures += 1
            self.on_failure()
            raise KafkaException("injected: the commit after the workflow start was lost")
        super()._commit(consumer, offset)


async def enrichment_workflow_ids(task_queue: str) -> list[str]:
    client = await Client.connect(TEMPORAL)
    query = f"TaskQueue = '{task_queue}' AND WorkflowType = 'EnrichmentWorkflow'"
    return sorted([w.id async for w in client.list_workflows(query)])


def test_a_batch_read_again_after_a_lost_commit_is_enriched_once(stream: SideStream):
    worker = stream.worker()
    worker.start()
    run = stream.suffix
    # One merchant: one partition, so the offsets are 0, 1, 2, ...
    first = [unified_event(n, run, merchant_id="acct_one") for n in range(3)]
    later = [unified_event(n, run, merchant_id="acct_one") for n in range(3, 8)]
    produce_events(stream.bootstrap, stream.source_topic, first)

    async def run_bridge() -> tuple[CommitLostAfterStart, dict[str, list[dict]], list[float]]:
        client = await Client.connect(TEMPORAL)
        bridge = CommitLostAfterStart(
            stream.settings(),
            client,
            on_failure=lambda: produce_events(stream.bootstrap, stream.source_topic, later),
        )
        task = asyncio.create_task(bridge.run())
        reader = TopicReader(stream.bootstrap, stream.sink_topic)
        wanted = {e["event_id"] for e in first + later}
        by_event = await asyncio.to_thread(reader.read_until, wanted, 120)
        reader.close()
        # The lag gauge while the bridge runs (it is cleared when its consumer closes).
        lag = [
            sample.value
            for family in bridge.metrics.lag.collect()
            for sample in family.samples
            if sample.labels["topic"] == stream.source_topic
        ]
        task.cancel()
        return bridge, by_event, lag

    bridge, by_event, lag = asyncio.run(run_bridge())
    assert bridge.failures == 1
    assert set(by_event) == {e["event_id"] for e in first + later}, worker.logs()
    assert all(len(copies) == 1 for copies in by_event.values()), "an event was enriched twice"

    ids = asyncio.run(enrichment_workflow_ids(stream.task_queue))
    partition = int(ids[0].split("-")[-3]) if ids else -1
    prefix = f"enrich-{stream.source_topic}-{partition}"
    # The first batch was cut by the timeout at offset 2; read again with 5 more messages
    # behind it, it was cut at 2 again (the plan in the commit metadata), so the retried
    # start found its workflow instead of enriching offsets 0-7 in a new one.
    assert ids == [f"{prefix}-0-2", f"{prefix}-3-7"]
    assert {c[0]["workflow_id"] for c in by_event.values()} == set(ids)

    # Its metrics tell the same story: two batches committed, three starts acknowledged
    # (the first batch's twice), one outage, and a lag gauge for the partition it read.
    registry = bridge.metrics.registry
    assert registry.get_sample_value("bridge_batches_total") == 2
    starts = sum(
        registry.get_sample_value("bridge_workflow_starts_total", {"outcome": o}) or 0
        for o in ("started", "already_completed")
    )
    assert starts == 3
    assert registry.get_sample_value("bridge_outages_total") == 1
    assert lag and all(value >= 0 for value in lag), lag
