"""Thousands of random and hostile messages through a copy of the validation job.

The job must never fail or restart, and the reconciliation must hold: every Kafka
(partition, offset) in exactly one of bronze or quarantine. Every message, text or not,
must land where the Python rules say, with their reasons and its bytes kept exactly
(`raw_payload`).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from contracts.events import EVENT_TYPES, EventType
from tests.validation.hostile import hostile_payloads, payload_strategy
from tests.validation.test_validation_platform import (  # noqa: F401  (pytest fixture)
    failures,
    pipeline,
    produce_bytes,
    restarts,
    wait_until_reconciled,
)
from validation.python_rules import stored_payload, validate

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


def test_random_and_hostile_messages_never_fail_the_job_and_all_reconcile(pipeline, trino_rows):  # noqa: F811
    sent = {}
    for t in EVENT_TYPES:
        values = [*hostile_payloads(t), *random_payloads(t, RANDOM_PER_TYPE)]
        sent[t.name] = produce_bytes(pipeline.bootstrap, pipeline.topics[t.name], values)
    submitted = pipeline.submitter.submit(pipeline.job)

    wait_until_reconciled(
        trino_rows, pipeline, {name: len(v) for name, v in sent.items()}, timeout=600
    )

    assert pipeline.submitter.flink.job(submitted.job_id).state == "RUNNING"
    assert restarts(pipeline.submitter, submitted.job_id) == 0
    assert failures(pipeline.submitter, submitted.job_id) == []
    disagreements = []
    for t in EVENT_TYPES:
        in_bronze = set(
            trino_rows(
                f"SELECT kafka_partition, kafka_offset FROM {pipeline.namespace}.{t.bronze_table}"
            )
        )
        quarantined = {
            (row[0], row[1]): (row[2], list(row[3]))
            for row in trino_rows(
                f"SELECT kafka_partition, kafka_offset, raw_payload, rejection_reasons"
                f" FROM {pipeline.namespace}.{t.quarantine_table}"
            )
        }
        for where, value in sent[t.name].items():
            outcome = validate(t, value)  # the bytes as read: not UTF-8 is MALFORMED_JSON
            if outcome.valid:
                agrees = where in in_bronze
            else:
                expected = (stored_payload(value), [r.value for r in outcome.reasons])
                agrees = quarantined.get(where) == expected
            if not agrees:
                disagreements.append((t.name, where, (value or b"")[:120]))
    assert not disagreements, f"{len(disagreements)} placements differ: {disagreements[:5]}"
