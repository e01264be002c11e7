"""The normalisation job on the real platform: provider envelopes with the gateway's headers
into Kafka, the normalization job submitted by the submitter, and the outcome read in Trino and
from the normalized topic.

Uses the mini-cluster suite's case table (every event type, bad input, redeliveries) on
topics, a consumer group, a job name and a namespace of the test's own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka import Message as KafkaMessage

from contracts.tables import REDELIVERY_COLUMNS, REDELIVERY_TABLE, TIMESTAMPTZ, UNIFIED_COLUMNS
from deploy.flink.policy import RestoreMode, Submitter
from flink_jobs.job import SqlJob
from flink_jobs.normalization_job import normalization_job
from lakehouse.tables import ensure_tables
from normalization.providers import PROVIDERS
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import delete_topics, ensure_topics
from tests.normalization.envelopes import Message, unified_event_id
from tests.normalization.test_normalization_job import CASES, PI_SUCCEEDED, Case, as_json_value

pytestmark = pytest.mark.integration

Where = tuple[str, int, int]  # topic, partition, offset


@dataclass
class Pipeline:
    submitter: Submitter
    job: SqlJob
    raw_topics: dict[str, str]
    normalized_topic: str
    namespace: str
    bootstrap: str
    # The job with other settings (e.g. checkpoint_interval), same name, topics and tables.
    job_with: Callable[..., SqlJob]


@pytest.fixture
def pipeline(stack_settings, namespace, catalog, submitter, forget_jobs) -> Iterator[Pipeline]:
    suffix = uuid.uuid4().hex[:8]
    bootstrap = f"127.0.0.1:{stack_settings.kafka_port}"
    raw_topics = {p.name: f"it.{suffix}.{p.topic}" for p in PROVIDERS}
    normalized = f"it.{suffix}.payments.normalized"
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topics=TopicSettings(partitions=2))
    topics = (*raw_topics.values(), normalized)
    ensure_topics(kafka, names=topics, report=lambda _: None)

    name = f"it-normalization-{suffix}"

    def job_with(**overrides: str) -> SqlJob:
        return normalization_job(
            name,
            "normalisation job on test topics",
            prepare=lambda settings: create_tables(catalog, namespace),
            group_id=name,
            source_topics=raw_topics,
            normalized_topic=normalized,
            namespace=namespace,
            **overrides,
        )

    forget_jobs(name)
    yield Pipeline(submitter, job_with(), raw_topics, normalized, namespace, bootstrap, job_with)

    submitter.cancel(name)  # before its topics go
    delete_topics(kafka, topics)


def create_tables(catalog, namespace: str) -> None:
    ensure_tables(catalog, namespace)


def provider_event_id(case: Case) -> str:
    envelope = json.loads(case.message.payload or "")
    return str(envelope.get("id") or envelope["event_id"])


def message_key(case: Case) -> bytes | None:
    """The gateway's key: the Stripe account (or `platform`), the Square merchant."""
    try:
        envelope = json.loads(case.message.payload or "")
    except json.JSONDecodeError:
        return None
    if not isinstance(envelope, dict):
        return None
    if case.message.provider == "stripe":
        return str(envelope.get("account") or "platform").encode()
    merchant = envelope.get("merchant_id")
    return str(merchant).encode() if merchant else None


def produce(p: Pipeline, cases: list[Case]) -> list[Where]:
    producer = Producer({"bootstrap.servers": p.bootstrap, "enable.idempotence": True})
    coordinates: list[Where | None] = [None] * len(cases)

    def delivered(index: int):
        def report(error, message) -> None:
            assert error is None, error
            coordinates[index] = (message.topic(), message.partition(), message.offset())

        return report

    for index, case in enumerate(cases):
        producer.produce(
            p.raw_topics[case.message.provider],
            key=message_key(case),
            value=None if case.message.payload is None else case.message.payload.encode(),
            headers=[(k, v.encode()) for k, v in case.message.header_items().items()],
            on_delivery=delivered(index),
        )
        # Redeliveries come after their first delivery, as a provider's retry would.
        producer.flush(10)
    assert all(c is not None for c in coordinates)
    return [c for c in coordinates if c is not None]


def landed(trino_rows, ns: str) -> tuple[dict[Where, dict], dict[Where, dict]]:
    columns = [name for name, _ in UNIFIED_COLUMNS]
    payments = {
        (r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]): r
        for r in (
            dict(zip(columns, row, strict=True))
            for row in trino_rows(f"SELECT {', '.join(columns)} FROM {ns}.payments")
        )
    }
    quarantine_columns = [
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "raw_payload",
        "rejection_reason",
        "rejection_reasons",
        "provider",
        "provider_event_id",
    ]
    quarantine = {
        (r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]): r
        for r in (
            dict(zip(quarantine_columns, row, strict=True))
            for row in trino_rows(
                f"SELECT {', '.join(quarantine_columns)} FROM {ns}.quarantine_payments"
            )
        )
    }
    return payments, quarantine


def redeliveries(trino_rows, ns: str) -> dict[Where, dict]:
    columns = [name for name, _ in REDELIVERY_COLUMNS]
    return {
        (r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]): r
        for r in (
            dict(zip(columns, row, strict=True))
            for row in trino_rows(f"SELECT {', '.join(columns)} FROM {ns}.{REDELIVERY_TABLE}")
        )
    }


def wait_for_rows(trino_rows, ns: str, expected: int, timeout: float = 240) -> None:
    """Until the three tables together hold `expected` rows: one per raw message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (count,) = trino_rows(
            f"SELECT (SELECT count(*) FROM {ns}.payments)"
            f" + (SELECT count(*) FROM {ns}.quarantine_payments)"
            f" + (SELECT count(*) FROM {ns}.{REDELIVERY_TABLE})"
        )[0]
        if count >= expected:
            return
        time.sleep(2)
    pytest.fail(f"only {count} of {expected} rows after {timeout:.0f}s")


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 120) -> list[KafkaMessage]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"it-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topic])
    messages: list[KafkaMessage] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                messages.append(message)
        # Anything beyond the expected count would be a duplicate: give it a moment.
        end = time.monotonic() + 5
        while time.monotonic() < end:
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                messages.append(message)
    finally:
        consumer.close()
    return messages


def as_instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_provider_events_land_once_each_with_unified_fields(pipeline, trino_rows):
    coordinates = produce(pipeline, CASES)
    where_of = {case.name: where for case, where in zip(CASES, coordinates, strict=True)}
    valid = [c for c in CASES if not c.reasons and not c.redelivery_of]
    invalid = [c for c in CASES if c.reasons]
    started = datetime.now(UTC)
    pipeline.submitter.submit(pipeline.job)
    wait_for_rows(trino_rows, pipeline.namespace, len(CASES))
    time.sleep(6)  # one more checkpoint: a duplicate would show by now
    payments, quarantine = landed(trino_rows, pipeline.namespace)
    dropped = redeliveries(trino_rows, pipeline.namespace)

    # Reconciliation by Kafka coordinates: each raw message in exactly one place.
    assert len(payments) + len(quarantine) == len(valid) + len(invalid)
    assert len(dropped) == len(CASES) - len(valid) - len(invalid)
    for case in CASES:
        where = where_of[case.name]
        if case.redelivery_of:
            # A recognised redelivery: its provider event's row is the first delivery's,
            # and the redelivery is accounted for beside it.
            assert where not in payments and where not in quarantine, case.name
            first = payments[where_of[case.redelivery_of]]
            assert first["provider_event_id"] == provider_event_id(case)
            redelivery = dropped[where]
            assert redelivery["event_id"] == first["event_id"], case.name
            assert (
                redelivery["first_kafka_topic"],
                redelivery["first_kafka_partition"],
                redelivery["first_kafka_offset"],
            ) == where_of[case.redelivery_of]
        else:
            assert (where in payments) != (where in quarantine), case.name
    event_ids = [row["event_id"] for row in payments.values()]
    assert len(set(event_ids)) == len(event_ids), "one row per provider event"

    for case in valid:
        row = payments[where_of[case.name]]
        for name, kind in UNIFIED_COLUMNS:
            if name not in case.expected:
                continue
            expected = case.expected[name]
            if kind == TIMESTAMPTZ:
                assert row[name] == as_instant(expected), (case.name, name)
            elif name == "metadata":
                assert json.loads(row[name]) == expected, case.name
            else:
                assert row[name] == expected, (case.name, name)
        assert row["schema_version"] == 1
        assert row["processed_at"] >= started.replace(microsecond=0)
    for case in invalid:
        row = quarantine[where_of[case.name]]
        assert row["rejection_reasons"] == [r.value for r in case.reasons], case.name
        assert row["rejection_reason"] == case.reasons[0].value, case.name
        assert row["raw_payload"] == case.message.payload, case.name
        assert row["provider"] == case.message.provider

    # The normalized topic: the same events as JSON with exactly the unified columns,
    # keyed by merchant_id.
    messages = consume(pipeline.bootstrap, pipeline.normalized_topic, len(valid))
    published = [json.loads(m.value()) for m in messages]
    assert sorted(e["event_id"] for e in published) == sorted(event_ids)
    for message, event in zip(messages, published, strict=True):
        assert list(event) == [name for name, _ in UNIFIED_COLUMNS]
        assert message.key().decode() == event["merchant_id"]
        row = payments[(event["kafka_topic"], event["kafka_partition"], event["kafka_offset"])]
        for name, kind in UNIFIED_COLUMNS:
            if kind == TIMESTAMPTZ:
                assert as_instant(event[name]) == row[name], name
            else:
                assert as_json_value(
                    name, row[name] if row[name] is None else str(row[name])
                ) == as_json_value(name, None if event[name] is None else str(event[name])), name


def test_a_provider_event_sent_three_times_has_one_row_and_two_redeliveries(pipeline, trino_rows):
    first = Case("first", Message("stripe", json.dumps(PI_SUCCEEDED), request_id="r1"))
    again = [
        Case(f"again_{n}", Message("stripe", json.dumps(PI_SUCCEEDED), received_at=at))
        for n, at in ((2, "2026-11-22T11:00:00.000Z"), (3, "2026-11-22T12:00:00.000Z"))
    ]
    coordinates = produce(pipeline, [first, *again])
    pipeline.submitter.submit(pipeline.job)
    wait_for_rows(trino_rows, pipeline.namespace, 3)
    time.sleep(6)  # one more checkpoint: a duplicate would show by now
    payments, quarantine = landed(trino_rows, pipeline.namespace)
    dropped = redeliveries(trino_rows, pipeline.namespace)

    assert list(payments) == coordinates[:1] and not quarantine
    (row,) = payments.values()
    assert sorted(dropped) == sorted(coordinates[1:])
    for number, where in enumerate(coordinates[1:], start=2):
        redelivery = dropped[where]
        assert redelivery["delivery_number"] == number
        assert (redelivery["event_id"], redelivery["provider"]) == (row["event_id"], "stripe")
        assert redelivery["provider_event_id"] == row["provider_event_id"]
        assert (
            redelivery["first_kafka_topic"],
            redelivery["first_kafka_partition"],
            redelivery["first_kafka_offset"],
        ) == coordinates[0]
        assert redelivery["first_seen_at"] == row["received_at"]
    assert [dropped[w]["received_at"] for w in coordinates[1:]] == [
        as_instant(c.message.received_at or "") for c in again
    ]


def event_ids(p: Pipeline, isolation: str, expected: int, timeout: float) -> list[str]:
    """The event ids on the normalized topic from its start, as a consumer of that
    isolation level sees them: until `expected` are read (then 3 s more for extras)."""
    consumer = Consumer(
        {"bootstrap.servers": p.bootstrap, "group.id": "unused", "isolation.level": isolation}
    )
    # Assigned, not subscribed: no group rebalance to wait for.
    consumer.assign([TopicPartition(p.normalized_topic, n, OFFSET_BEGINNING) for n in (0, 1)])
    ids: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                ids.append(json.loads(message.value())["event_id"])
            if len(ids) >= expected:
                deadline = min(deadline, time.monotonic() + 3)
    finally:
        consumer.close()
    return ids


def wait_for_new_checkpoint(p: Pipeline, job_id: str, timeout: float = 120) -> None:
    before = p.submitter.flink.checkpoints(job_id).latest_completed
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = p.submitter.flink.checkpoints(job_id).latest_completed
        if latest is not None and latest != before:
            return
        time.sleep(0.2)
    pytest.fail(f"no checkpoint of job {job_id} completed within {timeout:.0f}s")


def distinct_events(start: int, count: int) -> list[Case]:
    """Valid Stripe events of their own provider event ids."""
    return [
        Case(f"event_{n}", Message("stripe", json.dumps({**PI_SUCCEEDED, "id": f"evt_eo_{n:04d}"})))
        for n in range(start, start + count)
    ]


def test_the_normalized_topic_is_exactly_once_across_a_restart_from_checkpoint(pipeline):
    """Events written after the last checkpoint stay invisible to read_committed consumers
    until a checkpoint commits them; a restart from that checkpoint writes them again, and
    read_committed consumers still see each event once (the aborted copy only uncommitted)."""
    # Long checkpoints leave time to look between two of them.
    job = pipeline.job_with(checkpoint_interval="30s")
    before, after = distinct_events(0, 4), distinct_events(4, 4)
    ids_before = sorted(unified_event_id("stripe", provider_event_id(c)) for c in before)
    ids_all = sorted(unified_event_id("stripe", provider_event_id(c)) for c in before + after)
    produce(pipeline, before)
    submitted = pipeline.submitter.submit(job)
    assert sorted(event_ids(pipeline, "read_committed", 4, timeout=120)) == ids_before

    wait_for_new_checkpoint(pipeline, submitted.job_id)
    produce(pipeline, after)
    # Written by the job (read_uncommitted sees them) but not committed before the next
    # checkpoint: read_committed consumers do not see them yet.
    assert sorted(event_ids(pipeline, "read_uncommitted", 8, timeout=12)) == ids_all
    assert sorted(event_ids(pipeline, "read_committed", 8, timeout=3)) == ids_before

    # Stop before the next checkpoint, then resume from the last one: `after` is read again.
    pipeline.submitter.cancel(job.name)
    pipeline.submitter.submit(job, RestoreMode.CHECKPOINT)
    committed = event_ids(pipeline, "read_committed", 8, timeout=120)
    assert sorted(committed) == ids_all, "each event exactly once for read_committed"
    # The first run's copies of `after` were written too, and aborted.
    assert len(event_ids(pipeline, "read_uncommitted", 12, timeout=10)) == 12
