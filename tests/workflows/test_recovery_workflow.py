"""A failed payment's recovery on the real Temporal server: it is started by the
enrichment of its batch, sleeps on a durable timer, retries, records every attempt, and
loses nothing when the worker is killed -9 while it sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import sql
from temporalio.client import Client

from bench.messages import unified_event
from tests.workflows.harness import (
    TEMPORAL,
    SideStream,
    produce_events,
    side_stream,
    wait_until,
)
from workflows.ids import recovery_workflow_id
from workflows.models import RecoveryStatus
from workflows.recovery import PaymentRecoveryWorkflow
from workflows.recovery_rules import simulated_retry_outcome

pytestmark = pytest.mark.integration

TIMER_SECONDS = 6.0  # how long each scaled recovery timer should run


@pytest.fixture
def stream(tmp_path) -> Iterator[SideStream]:
    yield from side_stream(tmp_path)


def failed_payment_recovered_on_second_attempt(run: str) -> dict:
    """A failed payment whose simulated first retry fails and second succeeds."""
    for n in range(1000):
        event = unified_event(n, run, "payment.failed")
        first = simulated_retry_outcome(event["event_id"], 1)
        second = simulated_retry_outcome(event["event_id"], 2)
        if not first.succeeded and second.succeeded:
            return event
    raise AssertionError("no such event among 1000")


def query_status(workflow_id: str) -> RecoveryStatus | None:
    async def query() -> RecoveryStatus | None:
        client = await Client.connect(TEMPORAL)
        try:
            return await client.get_workflow_handle(workflow_id).query(
                PaymentRecoveryWorkflow.status
            )
        except Exception:  # not started yet, or no worker to answer
            return None

    return asyncio.run(query())


def recovery_result(workflow_id: str, timeout: float) -> RecoveryStatus:
    async def result() -> RecoveryStatus:
        client = await Client.connect(TEMPORAL)
        handle = client.get_workflow_handle_for(PaymentRecoveryWorkflow.run, workflow_id)
        return await asyncio.wait_for(handle.result(), timeout)

    return asyncio.run(result())


def recorded_attempts(stream: SideStream, workflow_id: str) -> list[tuple]:
    query = sql.SQL(
        "SELECT attempt, outcome, event_id, method, delay_seconds, model_version, "
        "scheduled_at, attempted_at FROM {} WHERE workflow_id = %s ORDER BY attempt"
    ).format(sql.Identifier(stream.recovery_table))
    with psycopg.connect(stream.settings().postgres_dsn) as conn:
        return conn.execute(query, (workflow_id,)).fetchall()


def test_recovery_sleeps_retries_records_and_survives_a_worker_kill_while_sleeping(
    stream: SideStream,
):
    inference = stream.inference()
    inference.start()
    stream.wait_for_inference()
    event = failed_payment_recovered_on_second_attempt(stream.suffix)
    # Scale the model's delay so that the first timer runs for TIMER_SECONDS.
    answer = httpx.post(f"{stream.inference_url}/v1/retry-strategy", json=event, timeout=30)
    strategy = answer.json()["retry_strategy"]
    assert strategy["should_retry"], strategy
    stream.settings_env["WORKFLOWS_RECOVERY_DELAY_SCALE"] = str(
        TIMER_SECONDS / max(strategy["delay_seconds"], 1)
    )
    worker, bridge = stream.worker(), stream.bridge()
    worker.start()
    bridge.start()
    produce_events(stream.bootstrap, stream.source_topic, [event])

    workflow_id = recovery_workflow_id(event["event_id"])
    statuses: list[RecoveryStatus] = []

    def sleeping() -> bool:
        status = query_status(workflow_id)
        statuses.extend([status] if status else [])
        return status is not None and status.state == "waiting"

    wait_until(sleeping, timeout=60, message=worker.logs() + bridge.logs())
    assert statuses[-1].attempts == [] and statuses[-1].next_attempt_at is not None
    worker.kill9()
    killed_at = time.time()
    time.sleep(TIMER_SECONDS + 2)  # the timer fires while no worker runs
    assert recorded_attempts(stream, workflow_id) == []
    worker.start()

    final = recovery_result(workflow_id, timeout=120)
    assert final.state == "finished" and final.outcome == "recovered"
    assert [(a.attempt, a.outcome) for a in final.attempts] == [(1, "failed"), (2, "succeeded")]
    assert (
        final.attempts[0].decline_code == simulated_retry_outcome(event["event_id"], 1).decline_code
    )

    rows = recorded_attempts(stream, workflow_id)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, "failed", event["event_id"]),
        (2, "succeeded", event["event_id"]),
    ]
    for attempt, row in zip(final.attempts, rows, strict=True):
        assert (row[3], row[4], row[5]) == (
            attempt.method,
            attempt.delay_seconds,
            attempt.model_version,
        )
        assert row[4] > 0 and row[7] >= row[6]  # it slept, and retried only after the timer
        assert row[5] != "fallback"
    # The first attempt happened after the kill, on the restarted worker.
    assert rows[0][7].timestamp() >= killed_at
    assert query_status(workflow_id) == final
