"""The Temporal side stream on the real platform: Kafka -> bridge -> Temporal workflows +
inference service -> `payments.enriched` -> Flink -> Iceberg `payment_enrichments`.

The worker, bridge and inference service run as subprocesses so they can be killed -9.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from bench.messages import unified_event
from contracts.tables import ENRICHMENT_TABLE
from flink_jobs.enrichment_job import render_enrichment_job
from flink_jobs.job import SqlJob
from lakehouse.tables import ensure_tables
from tests.workflows.harness import (
    TEMPORAL,
    SideStream,
    TopicReader,
    produce_events,
    side_stream,
    wait_until,
)
from workflows.ids import recovery_workflow_id

pytestmark = pytest.mark.integration


@pytest.fixture
def stream(tmp_path) -> Iterator[SideStream]:
    yield from side_stream(tmp_path)


def events_for(run: str, count: int, start: int = 0) -> list[dict]:
    """Mostly successful payments, every 20th a failed one."""
    return [
        unified_event(n, run, "payment.failed" if n % 20 == 7 else "payment.succeeded")
        for n in range(start, start + count)
    ]


def create_tables(catalog, namespace: str) -> None:
    ensure_tables(catalog, namespace)


def trino_enrichments(trino_rows, namespace: str) -> list[tuple]:
    return trino_rows(
        "SELECT event_id, fraud_score, risk_level, churn_score, retry_strategy, model_version, "
        f"score_source, workflow_id, enriched_at FROM {namespace}.{ENRICHMENT_TABLE}"
    )


def test_every_event_gets_exactly_one_enrichment_row_through_kills_of_bridge_and_worker(
    stream: SideStream, namespace, catalog, submitter, forget_jobs, trino_rows
):
    name = f"it-enrichment-sink-{stream.suffix}"
    job = SqlJob(
        name=name,
        description="enrichment sink on test topics",
        render=lambda settings: render_enrichment_job(
            settings, namespace=namespace, job_name=name, group_id=name, topic=stream.sink_topic
        ),
        prepare=lambda settings: create_tables(catalog, namespace),
    )
    forget_jobs(name)
    submitter.submit(job)

    inference, worker, bridge = stream.inference(), stream.worker(), stream.bridge()
    inference.start()
    stream.wait_for_inference()
    worker.start()
    bridge.start()

    events = events_for(stream.suffix, 600)

    def send() -> None:
        for i in range(0, len(events), 10):
            produce_events(stream.bootstrap, stream.source_topic, events[i : i + 10])
            time.sleep(0.5)

    sender = threading.Thread(target=send)
    # The stream runs for about 40 s; both kills fall inside it.
    wait_until(lambda: bridge.log_count("bridge ") >= 1, 60, 0.1, bridge.logs())
    sender.start()
    # Kill the bridge once it has handed over a few batches, with more on their way.
    wait_until(lambda: bridge.log_count("started enrich-") >= 3, 60, 0.1, bridge.logs())
    assert sender.is_alive(), "the stream ended before the bridge was killed"
    bridge.kill9()
    bridge.start()
    # Kill the worker while the restarted bridge hands it new batches.
    wait_until(lambda: bridge.log_count("started enrich-") >= 2, 60, 0.1, bridge.logs())
    assert sender.is_alive(), "the stream ended before the worker was killed"
    worker.kill9()
    time.sleep(2)
    worker.start()
    sender.join()

    expected_ids = {e["event_id"] for e in events}
    deadline = time.monotonic() + 240
    rows = trino_enrichments(trino_rows, namespace)
    while {r[0] for r in rows} != expected_ids and time.monotonic() < deadline:
        time.sleep(3)
        rows = trino_enrichments(trino_rows, namespace)
    time.sleep(6)  # two more checkpoints: late duplicates would have landed by now
    rows = trino_enrichments(trino_rows, namespace)
    bridge.assert_running()
    worker.assert_running()

    assert {r[0] for r in rows} == expected_ids, bridge.logs()
    assert len(rows) == len(expected_ids), "an event has more than one row"
    # The kills change no score: every row is the model's answer for its event.
    model = stream.model_scores(events)
    for event_id, fraud, risk, churn, strategy, version, source, workflow_id, at in rows:
        answer = model[event_id]
        assert source == "model" and version != "fallback", event_id
        assert (fraud, risk, churn) == (
            answer["fraud_score"],
            answer["risk_level"],
            answer["churn_score"],
        ), event_id
        assert (json.loads(strategy) if strategy else None) == answer["retry_strategy"]
        assert workflow_id.startswith(f"enrich-{stream.source_topic}-")
        assert at is not None
    # Every result message on the topic (duplicates from retried publishes included) has
    # the same scores as its row.
    reader = TopicReader(stream.bootstrap, stream.sink_topic)
    by_event = reader.read_until(expected_ids, timeout=30)
    reader.close()
    for event_id, copies in by_event.items():
        assert {(c["fraud_score"], c["churn_score"]) for c in copies} == {
            (model[event_id]["fraud_score"], model[event_id]["churn_score"])
        }
    submitter.cancel(name)


def test_results_fall_back_while_inference_is_down_and_use_the_model_once_it_is_back(
    stream: SideStream,
):
    worker, bridge = stream.worker(), stream.bridge()
    worker.start()
    bridge.start()
    reader = TopicReader(stream.bootstrap, stream.sink_topic)

    # The inference service is not running: its port refuses connections.
    down = events_for(stream.suffix, 40)
    produce_events(stream.bootstrap, stream.source_topic, down)
    by_event = reader.read_until({e["event_id"] for e in down}, timeout=90)
    assert set(by_event) == {e["event_id"] for e in down}, bridge.logs() + worker.logs()
    for event in down:
        (result,) = by_event[event["event_id"]]
        assert (result["score_source"], result["model_version"]) == ("fallback", "fallback")
        assert (result["fraud_score"], result["risk_level"]) == (0.5, "medium")
        if event["event_type"] == "payment.failed":
            assert json.loads(result["retry_strategy"])["should_retry"] is True
        else:
            assert result["retry_strategy"] is None

    inference = stream.inference()
    inference.start()
    stream.wait_for_inference()
    back = events_for(stream.suffix, 40, start=1000)
    produce_events(stream.bootstrap, stream.source_topic, back)
    by_event = reader.read_until({e["event_id"] for e in down + back}, timeout=90)
    reader.close()
    model = stream.model_scores(back)
    for event in back:
        (result,) = by_event[event["event_id"]]
        assert result["score_source"] == "model"
        assert result["model_version"] not in ("fallback", None)
        assert result["fraud_score"] == model[event["event_id"]]["fraud_score"]
    # The outage's results stay as they were: one each, still marked fallback.
    assert all(len(by_event[e["event_id"]]) == 1 for e in down)


async def executions(task_queue: str, workflow_type: str) -> list[str]:
    client = await Client.connect(TEMPORAL)
    query = f"TaskQueue = '{task_queue}' AND WorkflowType = '{workflow_type}'"
    return sorted([w.id async for w in client.list_workflows(query)])


def test_an_event_redelivered_at_a_new_offset_gets_one_result_and_one_recovery(
    stream: SideStream,
):
    """`payments.normalized` is written at least once: after a Flink restart the same
    event can arrive again at a later offset, in another batch with another workflow id."""
    worker, bridge = stream.worker(), stream.bridge()
    worker.start()
    bridge.start()
    reader = TopicReader(stream.bootstrap, stream.sink_topic)
    # One merchant: one partition, so offsets (and batches) follow the send order.
    failed = unified_event(7, stream.suffix, "payment.failed", merchant_id="acct_one")
    succeeded = unified_event(8, stream.suffix, merchant_id="acct_one")
    produce_events(stream.bootstrap, stream.source_topic, [failed, succeeded])
    reader.read_until({failed["event_id"], succeeded["event_id"]}, timeout=90)

    # The same two events again, at new offsets, then one new event behind them: once its
    # result is in, the batch holding the redeliveries has been enriched too.
    marker = unified_event(9, stream.suffix, merchant_id="acct_one")
    produce_events(stream.bootstrap, stream.source_topic, [failed, succeeded, marker])
    by_event = reader.read_until({marker["event_id"]}, timeout=90)
    reader.close()

    def enrichments_listed() -> list[str]:  # the visibility store lags a little
        return asyncio.run(executions(stream.task_queue, "EnrichmentWorkflow"))

    wait_until(lambda: len(enrichments_listed()) >= 2, 15, 0.5, bridge.logs())
    enrichments = enrichments_listed()
    assert len(enrichments) == 2, (
        f"the redeliveries were not in a batch of their own: {enrichments}"
    )
    assert {k: len(v) for k, v in by_event.items()} == {
        failed["event_id"]: 1,
        succeeded["event_id"]: 1,
        marker["event_id"]: 1,
    }, bridge.logs() + worker.logs()
    assert by_event[failed["event_id"]][0]["workflow_id"] == enrichments[0]
    recoveries = asyncio.run(executions(stream.task_queue, "PaymentRecoveryWorkflow"))
    assert recoveries == [recovery_workflow_id(failed["event_id"])]
