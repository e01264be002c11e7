"""The validation job on the real platform: every message in exactly one table, exactly once.

One fixed, varied case table (every reason, null variant, timestamp form, non-JSON, unknown
fields) goes through Kafka and the Flink job; Trino must show each message where the
Python rules say, with the same reasons and values. Then faults: kill -9 of the
TaskManager under load, and stop-with-savepoint and re-submit; the reconciliation by
Kafka partition and offset stays exact.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from confluent_kafka import Producer

from contracts.events import EVENT_TYPES, EventType
from deploy.flink.policy import Submitter
from flink_jobs.job import SqlJob
from flink_jobs.validation_job import render_validation_job
from lakehouse.tables import ensure_tables
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import delete_topics, ensure_topics
from tests.validation.cases import BASE, all_cases, render
from validation.python_rules import stored_payload, validate

pytestmark = pytest.mark.integration

COMPARED_TEXT = ("currency", "status", "provider")


@dataclass
class Pipeline:
    submitter: Submitter
    job: SqlJob
    topics: dict[str, str]
    namespace: str
    bootstrap: str


@pytest.fixture
def pipeline(stack_settings, namespace, catalog, submitter, forget_jobs) -> Iterator[Pipeline]:
    suffix = uuid.uuid4().hex[:8]
    bootstrap = f"127.0.0.1:{stack_settings.kafka_port}"
    topics = {t.name: f"it.{suffix}.{t.topic}" for t in EVENT_TYPES}
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topics=TopicSettings(partitions=2))
    ensure_topics(kafka, names=tuple(topics.values()), report=lambda _: None)

    name = f"it-validation-{suffix}"
    job = SqlJob(
        name=name,
        description="validation job on test topics",
        render=lambda settings: render_validation_job(
            settings, namespace=namespace, job_name=name, group_id=name, topics=topics
        ),
        prepare=lambda settings: ensure_tables(catalog, namespace),
    )
    forget_jobs(name)
    yield Pipeline(submitter, job, topics, namespace, bootstrap)

    submitter.cancel(name)  # before its topics go
    delete_topics(kafka, tuple(topics.values()))


def as_bytes(payload: str | bytes | None) -> bytes | None:
    return payload.encode() if isinstance(payload, str) else payload


def produce(
    bootstrap: str, messages: list[tuple[str, str | bytes | None]]
) -> list[tuple[int, int]]:
    """Sends (topic, payload) messages; returns each one's (partition, offset)."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    coordinates: list[tuple[int, int] | None] = [None] * len(messages)

    def delivered(index: int):
        def report(error, message) -> None:
            assert error is None, error
            coordinates[index] = (message.partition(), message.offset())

        return report

    for index, (topic, payload) in enumerate(messages):
        value = as_bytes(payload)
        producer.produce(topic, key=str(index), value=value, on_delivery=delivered(index))
        producer.poll(0)
    assert producer.flush(60) == 0
    assert all(c is not None for c in coordinates)
    return [c for c in coordinates if c is not None]


def landed(trino_rows, namespace: str, t: EventType) -> tuple[list[tuple], list[tuple]]:
    bronze = trino_rows(f"SELECT kafka_partition, kafka_offset FROM {namespace}.{t.bronze_table}")
    quarantine = trino_rows(
        f"SELECT kafka_partition, kafka_offset FROM {namespace}.{t.quarantine_table}"
    )
    return bronze, quarantine


def wait_until_reconciled(trino_rows, p: Pipeline, expected: dict[str, int], timeout=180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        counts = {
            t.name: sum(len(rows) for rows in landed(trino_rows, p.namespace, t))
            for t in EVENT_TYPES
        }
        if all(counts[name] >= n for name, n in expected.items()) or time.monotonic() > deadline:
            break
        time.sleep(2)
    for t in EVENT_TYPES:
        bronze, quarantine = landed(trino_rows, p.namespace, t)
        everything = bronze + quarantine
        # Nothing lost, nothing twice: each Kafka message is in exactly one row.
        assert len(everything) == expected[t.name], t.name
        assert len(set(everything)) == len(everything), f"{t.name}: duplicated offsets"


def test_every_case_lands_in_its_table_with_its_reasons(pipeline, trino_rows):
    cases = all_cases()
    coordinates = produce(
        pipeline.bootstrap, [(pipeline.topics[c.event_type.name], c.payload) for c in cases]
    )
    pipeline.submitter.submit(pipeline.job)
    expected_counts = {t.name: sum(c.event_type is t for c in cases) for t in EVENT_TYPES}
    wait_until_reconciled(trino_rows, pipeline, expected_counts)

    ns = pipeline.namespace
    for t in EVENT_TYPES:
        bronze = {
            (row[0], row[1]): row[2:]
            for row in trino_rows(
                f"SELECT kafka_partition, kafka_offset, {t.id_field}, amount, amount_minor, "
                f"{', '.join(COMPARED_TEXT)}, created_at FROM {ns}.{t.bronze_table}"
            )
        }
        quarantine = {
            (row[0], row[1]): row[2:]
            for row in trino_rows(
                f"SELECT kafka_partition, kafka_offset, raw_payload, rejection_reason, "
                f"rejection_reasons, kafka_topic, {t.id_field} FROM {ns}.{t.quarantine_table}"
            )
        }
        for case, where in zip(cases, coordinates, strict=True):
            if case.event_type is not t:
                continue
            outcome = validate(t, case.payload)
            if outcome.valid:
                assert where in bronze and where not in quarantine, case.name
                row = bronze[where]
                v = outcome.values
                assert row[0] == v[t.id_field], case.name
                assert (row[1], row[2]) == (v["amount"], v["amount_minor"]), case.name
                assert tuple(row[3:6]) == tuple(v[c] for c in COMPARED_TEXT), case.name
                assert row[6] == v["created_at"], case.name
            else:
                assert where in quarantine and where not in bronze, case.name
                raw, reason, reasons, topic, event_id = quarantine[where]
                assert raw == stored_payload(as_bytes(case.payload)), case.name
                assert reasons == [r.value for r in outcome.reasons], case.name
                assert reason == outcome.reasons[0].value, case.name
                assert topic == pipeline.topics[t.name]
                assert event_id == outcome.values.get(t.id_field), case.name


def generated_messages(p: Pipeline, count: int, start: int) -> list[tuple[str, str | None]]:
    """A mix of valid and invalid charges and refunds, distinct per call."""
    messages: list[tuple[str, str | None]] = []
    for n in range(start, start + count):
        charge = {
            "charge_id": f"ch_{n}",
            "customer_id": f"cus_{n % 97}",
            "amount": n % 500,
            "currency": "usd",
            "status": "succeeded",
            "created_at": 1769900000 + n,
        }
        messages.append((p.topics["charges"], json.dumps(charge)))
        refund = {
            "refund_id": f"re_{n}",
            "charge_id": f"ch_{n}",
            "amount": "1.5",
            "currency": "EUR" if n % 3 else "XXX",
            "status": "pending",
            "created_at": "2026-01-31T10:00:00Z",
        }
        messages.append((p.topics["refunds"], json.dumps(refund) if n % 50 else "not json"))
    return messages


def taskmanager_pids() -> list[int]:
    found = subprocess.run(
        ["pgrep", "-f", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(pid) for pid in found.stdout.split()]


def test_no_loss_and_no_duplicates_through_a_taskmanager_kill_and_a_savepoint_restart(
    pipeline, trino_rows
):
    pipeline.submitter.submit(pipeline.job)
    produced = {t.name: 0 for t in EVENT_TYPES}

    def send(start: int, count: int) -> None:
        messages = generated_messages(pipeline, count, start)
        produce(pipeline.bootstrap, messages)
        produced["charges"] += count
        produced["refunds"] += count

    # Load in the background while the TaskManager dies without warning.
    sender = threading.Thread(
        target=lambda: [send(i * 200, 200) or time.sleep(1) for i in range(8)]
    )
    sender.start()
    time.sleep(4)
    pids = taskmanager_pids()
    assert pids, "no TaskManager process found"
    for pid in pids:
        subprocess.run(["kill", "-9", str(pid)], check=True)
    sender.join()
    # supervisord starts a new TaskManager; the job restores from its last checkpoint.
    wait_until_reconciled(trino_rows, pipeline, produced, timeout=300)

    stopped = pipeline.submitter.stop(pipeline.job.name)
    assert stopped and stopped[0].savepoint
    send(10_000, 300)  # arrives while no job runs
    resumed = pipeline.submitter.submit(pipeline.job)
    assert resumed.restored_from
    send(20_000, 300)
    wait_until_reconciled(trino_rows, pipeline, produced, timeout=240)


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


def restarts(submitter: Submitter, job_id: str) -> int:
    """The job's `numRestarts` metric, from the Flink REST API."""
    base = submitter.flink.base_url
    body = httpx.get(f"{base}/jobs/{job_id}/metrics", params={"get": "numRestarts"}).json()
    assert body, "the job reports no numRestarts metric"
    return int(body[0]["value"])


def failures(submitter: Submitter, job_id: str) -> list[str]:
    """Every failure in the job's exception history (empty: it never failed)."""
    base = submitter.flink.base_url
    history = httpx.get(f"{base}/jobs/{job_id}/exceptions").json().get("exceptionHistory", {})
    return [entry.get("exceptionName", "?") for entry in history.get("entries", [])]


def hostile_messages(t: EventType) -> list[bytes | None]:
    """The case table's own messages for `t` (bytes, text after the object, containers) and
    the adversarial ones: huge exponents, long numbers and runs of spaces, bad UTF-8."""
    from tests.validation.hostile import hostile_payloads

    mine = [as_bytes(c.payload) for c in all_cases() if c.event_type is t]
    expensive = [
        render(BASE[t.name] | {"amount": "-1e-99999999"}).encode(),
        render(BASE[t.name] | {t.id_field: "x" + " " * 400_000 + "x"}).encode(),
    ]
    return [*mine, *hostile_payloads(t), *expensive]


def test_hostile_messages_never_restart_the_job_and_each_lands_once_with_its_reasons(
    pipeline, trino_rows
):
    sent = {
        t.name: produce_bytes(pipeline.bootstrap, pipeline.topics[t.name], hostile_messages(t))
        for t in EVENT_TYPES
    }
    submitted = pipeline.submitter.submit(pipeline.job)
    wait_until_reconciled(
        trino_rows, pipeline, {name: len(v) for name, v in sent.items()}, timeout=600
    )
    time.sleep(10)  # a few more checkpoints: a stalled one would fail the job by now

    assert pipeline.submitter.flink.job(submitted.job_id).state == "RUNNING"
    assert restarts(pipeline.submitter, submitted.job_id) == 0
    assert failures(pipeline.submitter, submitted.job_id) == []
    wrong = []
    for t in EVENT_TYPES:
        bronze = set(
            trino_rows(
                f"SELECT kafka_partition, kafka_offset FROM {pipeline.namespace}.{t.bronze_table}"
            )
        )
        quarantine = {
            (row[0], row[1]): (row[2], row[3])
            for row in trino_rows(
                f"SELECT kafka_partition, kafka_offset, raw_payload, rejection_reasons"
                f" FROM {pipeline.namespace}.{t.quarantine_table}"
            )
        }
        for where, message in sent[t.name].items():
            outcome = validate(t, message)
            if outcome.valid:
                if where not in bronze:
                    wrong.append((t.name, where, "not in bronze", (message or b"")[:80]))
                continue
            landed_as = quarantine.get(where)
            expected = (stored_payload(message), [r.value for r in outcome.reasons])
            if landed_as is None or tuple(landed_as) != expected:
                reasons = landed_as and landed_as[1]
                wrong.append((t.name, where, reasons, expected[1], (message or b"")[:80]))
    assert not wrong, f"{len(wrong)} messages landed wrongly: {wrong[:5]}"
