"""The enrichment sink on the real standalone cluster: poison messages in the enriched topic
go to `quarantine_payment_enrichments` with their reasons, the valid results (also those
after the poison) to `payment_enrichments`, and the job never restarts.

Runs on a topic, consumer group, job name and namespace of the test's own.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from confluent_kafka import Producer

from contracts.tables import ENRICHMENT_QUARANTINE_TABLE, ENRICHMENT_TABLE
from flink_jobs.enrichment_job import render_enrichment_job
from flink_jobs.job import SqlJob
from lakehouse.tables import ensure_tables
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import delete_topics, ensure_topics

pytestmark = pytest.mark.integration


def valid_result(n: int) -> dict:
    return {
        "event_id": f"{n:032x}",
        "fraud_score": 0.25,
        "risk_level": "low",
        "churn_score": 0.5,
        "retry_strategy": None,
        "model_version": "it-model",
        "score_source": "model",
        "workflow_id": f"enrich-it-{n}",
        "enriched_at": "2026-11-22T10:00:00.123Z",
    }


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for value in values:
        producer.produce(topic, value=value)
        producer.flush(10)  # one at a time: offsets in list order
    assert producer.flush(10) == 0


def num_restarts(flink_url: str, job_id: str) -> int:
    response = httpx.get(f"{flink_url}/jobs/{job_id}/metrics", params={"get": "numRestarts"})
    response.raise_for_status()
    (metric,) = response.json()
    return int(metric["value"])


def test_poison_messages_are_quarantined_and_the_job_keeps_running(
    stack_settings, namespace, catalog, submitter, forget_jobs, trino_rows
):
    suffix = uuid.uuid4().hex[:8]
    bootstrap = f"127.0.0.1:{stack_settings.kafka_port}"
    topic = f"it.{suffix}.payments.enriched"
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topics=TopicSettings(partitions=1))
    ensure_topics(kafka, names=(topic,), report=lambda _: None)
    name = f"it-enrichment-quarantine-{suffix}"
    job = SqlJob(
        name=name,
        description="enrichment sink on a test topic",
        render=lambda settings: render_enrichment_job(
            settings, namespace=namespace, job_name=name, group_id=name, topic=topic
        ),
        prepare=lambda settings: ensure_tables(catalog, namespace),
    )
    forget_jobs(name)
    out_of_range = valid_result(3) | {"fraud_score": 7.5}
    messages = [
        json.dumps(valid_result(1)).encode(),
        b'{"event_id": "truncated',  # offset 1
        json.dumps(valid_result(2)).encode(),
        json.dumps(out_of_range).encode(),  # offset 3
        json.dumps(valid_result(4)).encode(),
    ]
    produce(bootstrap, topic, messages)
    try:
        submitted = submitter.submit(job)
        deadline = time.monotonic() + 180
        counts = (0, 0)
        while time.monotonic() < deadline and counts != (3, 2):
            time.sleep(2)
            counts = trino_rows(
                f"SELECT (SELECT count(*) FROM {namespace}.{ENRICHMENT_TABLE}),"
                f" (SELECT count(*) FROM {namespace}.{ENRICHMENT_QUARANTINE_TABLE})"
            )[0]
        time.sleep(5)  # two more checkpoints: anything more would have landed
        enriched = trino_rows(
            f"SELECT event_id, fraud_score, workflow_id FROM {namespace}.{ENRICHMENT_TABLE}"
        )
        quarantined = trino_rows(
            "SELECT kafka_offset, raw_payload, rejection_reason, rejection_reasons, event_id,"
            f" kafka_topic FROM {namespace}.{ENRICHMENT_QUARANTINE_TABLE} ORDER BY kafka_offset"
        )
        restarts = num_restarts(
            f"http://127.0.0.1:{stack_settings.flink_rest_port}", submitted.job_id
        )
        state = submitter.flink.job(submitted.job_id).state
    finally:
        submitter.cancel(name)
        delete_topics(kafka, (topic,))

    assert sorted(enriched) == [(f"{n:032x}", 0.25, f"enrich-it-{n}") for n in (1, 2, 4)]
    assert quarantined == [
        (1, messages[1].decode(), "MALFORMED_JSON", ["MALFORMED_JSON"], None, topic),
        (
            3,
            messages[3].decode(),
            "INVALID_FRAUD_SCORE",
            ["INVALID_FRAUD_SCORE"],
            f"{3:032x}",
            topic,
        ),
    ]
    assert (state, restarts) == ("RUNNING", 0)
