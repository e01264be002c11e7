"""Thousands of random and hostile messages through a copy of the validation job.

The job must never fail or restart, and the reconciliation must hold: every Kafka
(partition, offset) in exactly one of bronze or quarantine. Where the message is text,
its placement must also be the one the Python rules give.
"""

from __future__ import annotations

import httpx
import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, given, settings

from tests.adversarial.hostile import hostile_payloads, payload_strategy
from tests.integration.test_validation_job import (  # noqa: F401  (pytest fixture)
    landed,
    pipeline,
    wait_until_reconciled,
)
from validation.python_rules import validate
from validation.rules import EVENT_TYPES, EventType

pytestmark = pytest.mark.integration

RANDOM_PER_TYPE = 750  # 3,000 random messages, plus the hostile ones


def random_payloads(t: EventType, count: int) -> list[bytes]:
    """`count` hypothesis-generated payloads (collected, not shrunk: each one is a case)."""
    collected: list[bytes] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload_strategy(t))
    def collect(payload: bytes) -> None:
        collected.append(payload)

    collect()
    return collected


def produce_bytes(bootstrap: str, topic: str, values: list[bytes | None]) -> dict:
    """Sends every value; returns (partition, offset) -> value. Fails on any delivery error."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
         "message.max.bytes": 1_000_000}
    )  # fmt: skip
    where: dict[tuple[int, int], bytes | None] = {}
    errors: list[str] = []

    def report(value: bytes | None):
        def delivered(error, message) -> None:
            if error is not None:
                errors.append(str(error))
            else:
                where[(message.partition(), message.offset())] = value

        return delivered

    for index, value in enumerate(values):
        producer.produce(topic, key=str(index).encode(), value=value, on_delivery=report(value))
        producer.poll(0)
    assert producer.flush(120) == 0
    assert not errors, errors[:3]
    return where


def restarts(submitter, job_id: str) -> int:
    base = submitter.flink.base_url
    body = httpx.get(f"{base}/jobs/{job_id}/metrics", params={"get": "numRestarts"}).json()
    return int(body[0]["value"]) if body else 0


def test_random_and_hostile_messages_never_fail_the_job_and_all_reconcile(pipeline, trino_rows):  # noqa: F811
    sent = {}
    for t in EVENT_TYPES:
        values = [*hostile_payloads(t), *random_payloads(t, RANDOM_PER_TYPE)]
        sent[t.name] = produce_bytes(pipeline.bootstrap, pipeline.topics[t.name], values)
    submitted = pipeline.submitter.submit(pipeline.job)

    wait_until_reconciled(
        trino_rows, pipeline, {name: len(v) for name, v in sent.items()}, timeout=600
    )

    flink = pipeline.submitter.flink
    assert flink.job(submitted.job_id).state == "RUNNING"
    assert restarts(pipeline.submitter, submitted.job_id) == 0
    disagreements = []
    for t in EVENT_TYPES:
        bronze, _ = landed(trino_rows, pipeline.namespace, t)
        in_bronze = set(bronze)
        for where, value in sent[t.name].items():
            try:
                text = None if value is None else value.decode("utf-8")
            except UnicodeDecodeError:
                continue  # how bytes that are not UTF-8 read as text is Flink's business
            if validate(t, text).valid != (where in in_bronze):
                disagreements.append((t.name, where, (value or b"")[:120]))
    assert not disagreements, f"{len(disagreements)} placements differ: {disagreements[:5]}"
