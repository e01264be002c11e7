"""PostgreSQL down for longer than any retry budget: a payment recovery waits it out and
records every attempt exactly once when the database is back.

The database is a private PostgreSQL cluster of this test (the shared one is never
stopped); the worker is the real `python -m workflows.worker` against the shared Temporal
dev server, on a task queue of its own, and the recovery is started as the enrichment
workflow starts it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from temporalio.client import Client, WorkflowExecutionStatus

from bench.messages import unified_event
from tests.workflows.harness import TEMPORAL, Service, free_port, persistence_retries, wait_until
from tests.workflows.private_services import PrivateProcess, private_postgres
from workflows.cleanup import terminate_running
from workflows.ids import recovery_workflow_id
from workflows.models import RecoveryInput, RecoveryStatus
from workflows.recovery import PaymentRecoveryWorkflow

pytestmark = pytest.mark.integration

# With these pauses the old policy (10 tries, each refused at once) gave up after ~4 s.
MAX_PAUSE = 0.5
OUTAGE_SECONDS = 20


@pytest.fixture
def postgres() -> Iterator[tuple[PrivateProcess, str]]:
    # Not pytest's tmp_path: the `postgres` user cannot enter root's pytest folders.
    folder = Path(tempfile.mkdtemp(prefix="paystream-it-pg-"))
    folder.chmod(0o755)
    server, dsn = private_postgres(folder)
    server.start()
    try:
        yield server, dsn
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def start_recovery(task_queue: str, event: dict) -> str:
    client = await Client.connect(TEMPORAL)
    workflow_id = f"{recovery_workflow_id(event['event_id'])}-{task_queue}"
    await client.start_workflow(
        PaymentRecoveryWorkflow.run,
        RecoveryInput(
            event=event,
            # The fallback strategy (inference is down) waits 3600 s: here 1.8 s.
            delay_scale=0.0005,
            max_attempts=2,
            inference_retry_initial_seconds=0.1,
            inference_retry_max_seconds=0.2,
            persistence_retry_initial_seconds=0.2,
            persistence_retry_max_seconds=MAX_PAUSE,
        ),
        id=workflow_id,
        task_queue=task_queue,
    )
    return workflow_id


async def status_of(workflow_id: str) -> WorkflowExecutionStatus | None:
    client = await Client.connect(TEMPORAL)
    return (await client.get_workflow_handle(workflow_id).describe()).status


async def result_of(workflow_id: str, timeout: float) -> RecoveryStatus:
    client = await Client.connect(TEMPORAL)
    handle = client.get_workflow_handle_for(PaymentRecoveryWorkflow.run, workflow_id)
    return await asyncio.wait_for(handle.result(), timeout)


def recorded(dsn: str, table: str, workflow_id: str) -> list[tuple]:
    query = sql.SQL(
        "SELECT attempt, outcome, event_id FROM {} WHERE workflow_id = %s ORDER BY attempt"
    ).format(sql.Identifier(table))
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, (workflow_id,)).fetchall()


def test_attempts_made_during_a_long_database_outage_are_all_recorded_once(
    postgres: tuple[PrivateProcess, str], tmp_path: Path
):
    server, dsn = postgres
    suffix = uuid.uuid4().hex[:8]
    task_queue = f"it-attempts-outage-{suffix}"
    table = f"it_recovery_attempts_{suffix}"
    metrics_port = free_port()
    env = os.environ | {
        "WORKFLOWS_TEMPORAL_ADDRESS": TEMPORAL,
        "WORKFLOWS_TASK_QUEUE": task_queue,
        "WORKFLOWS_POSTGRES_DSN": dsn,
        "WORKFLOWS_RECOVERY_TABLE": table,
        "WORKFLOWS_CLAIMS_TABLE": f"it_enrichment_claims_{suffix}",
        # No inference service: the fallback retry strategy, which is all this test needs.
        "WORKFLOWS_INFERENCE_URL": f"http://127.0.0.1:{free_port()}",
        "WORKFLOWS_METRICS_PORT": str(metrics_port),
        "PYTHONUNBUFFERED": "1",
    }
    worker = Service("worker", [sys.executable, "-m", "workflows.worker"], env, tmp_path)
    worker.start()
    try:
        wait_until(lambda: "worker on" in worker.logs(), 60, 0.2, worker.logs())
        server.stop()
        down_at = time.monotonic()
        event = unified_event(1, suffix, "payment.failed")
        workflow_id = asyncio.run(start_recovery(task_queue, event))

        def retries() -> float:
            return persistence_retries(metrics_port, "record_attempt")

        wait_until(lambda: retries() >= 3, 60, 0.5, worker.logs())
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        state = asyncio.run(status_of(workflow_id))
        assert state == WorkflowExecutionStatus.RUNNING, f"{state}\n{worker.logs()}"
        assert retries() >= 10, "fewer retries than the old policy's budget"

        server.start()
        final = asyncio.run(result_of(workflow_id, timeout=120))
        assert final.state == "finished" and final.attempts, final
        assert recorded(dsn, table, workflow_id) == [
            (a.attempt, a.outcome, event["event_id"]) for a in final.attempts
        ]
        worker.assert_running()
    finally:
        worker.stop()
        asyncio.run(terminate_running(TEMPORAL, task_queue, "test cleanup"))
