"""`python -m tests.workflows.record_histories <version>`: records the event histories of
payment recoveries and of an enrichment batch run by the side stream's workflow code as it
is now, on the platform's Temporal server (`make up`), into tests/workflows/histories/
(`<workflow>-<version>-<shape>.json`; a version is one recording, v1 the oldest).
test_workflow_replay.py replays them with the code as it is then: a change that would
break a workflow in flight (one whose history older code wrote) fails there, not in
production.

Record before changing a workflow, and again after (the next version); commit the files.
Uses a task queue, a sink topic and attempts/claims tables of its own (dropped after); the
platform's inference service scores the events and the strategies.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from temporalio.client import Client

from bench.messages import unified_event
from streaming.topics import delete_topics, ensure_topics
from workflows.attempts_store import drop_attempts_table
from workflows.claims_store import drop_claims_table
from workflows.enrichment import EnrichmentWorkflow
from workflows.ids import recovery_workflow_id
from workflows.models import EnrichmentBatch, EnrichmentOptions, RecoveryInput
from workflows.recovery import PaymentRecoveryWorkflow
from workflows.recovery_rules import simulated_retry_outcome
from workflows.settings import WorkflowSettings
from workflows.worker import run_worker

HISTORIES = Path(__file__).parent / "histories"


def recoveries(run: str) -> dict[str, dict]:
    """One failed payment per shape: recovered on the second attempt, hard-declined, and
    exhausted after three failed retries."""
    shapes: dict[str, dict] = {}
    for n in range(2000):
        event = unified_event(n, run, "payment.failed", failure_code="insufficient_funds")
        outcomes = [simulated_retry_outcome(event["event_id"], a).succeeded for a in (1, 2, 3)]
        if outcomes[:2] == [False, True]:
            shapes.setdefault("recovered-second-attempt", event)
        if outcomes == [False, False, False]:
            shapes.setdefault("exhausted", event)
    shapes["hard-decline"] = unified_event(0, run, "payment.failed", failure_code="stolen_card")
    return shapes


def enrichment_batch(run: str, sink_topic: str) -> EnrichmentBatch:
    """Six events, three of them failed payments (so three recoveries start), and one
    event twice (a redelivery inside the batch)."""
    types = ["payment.succeeded", "payment.failed", "payment.failed", "refund.succeeded"]
    events = [unified_event(100 + n, run, t) for n, t in enumerate(types)]
    events += [unified_event(200, run, "payment.failed"), events[0]]
    return EnrichmentBatch(
        source_topic="record-histories",
        partition=0,
        first_offset=0,
        last_offset=len(events) - 1,
        events=events,
        sink_topic=sink_topic,
        options=EnrichmentOptions(recovery_delay_scale=1e-6),
    )


async def record(settings: WorkflowSettings, version: str) -> list[Path]:
    """Runs the platform's worker code (workflows.worker.run_worker) on a task queue and
    tables of its own, and keeps each workflow's history."""
    run = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "task_queue": f"record-histories-{run}",
            "recovery_table": f"record_attempts_{run}",
            "claims_table": f"record_claims_{run}",
            "metrics_port": 0,
        }
    )
    sink_topic = f"record.{run}.payments.enriched"
    ensure_topics(settings.kafka, names=(sink_topic,), report=lambda _: None)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop))
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    written: list[Path] = []

    async def keep(handle, name: str) -> None:
        outcome = await handle.result()
        history = await handle.fetch_history()
        path = HISTORIES / f"{name}.json"
        path.write_text(history.to_json())
        written.append(path)
        shown = getattr(outcome, "outcome", None) or type(outcome).__name__
        print(f"{path.name}: {shown}, {len(history.events)} events")

    try:
        for shape, event in recoveries(run).items():
            handle = await client.start_workflow(
                PaymentRecoveryWorkflow.run,
                RecoveryInput(event=event, delay_scale=1e-6),
                id=f"record-{shape}-{run}",
                task_queue=settings.task_queue,
            )
            await keep(handle, f"recovery-{version}-{shape}")
        batch = enrichment_batch(run, sink_topic)
        enrichment = await client.start_workflow(
            EnrichmentWorkflow.run,
            batch,
            id=f"record-enrichment-{run}",
            task_queue=settings.task_queue,
        )
        await keep(enrichment, f"enrichment-{version}-batch")
        for event in batch.events:  # its recoveries end before the worker does
            if event["status"] == "failed":
                await client.get_workflow_handle(recovery_workflow_id(event["event_id"])).result()
    finally:
        stop.set()
        await worker
        drop_attempts_table(settings.postgres_dsn, settings.recovery_table)
        drop_claims_table(settings.postgres_dsn, settings.claims_table)
        delete_topics(settings.kafka, (sink_topic,))
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.workflows.record_histories <version, e.g. v1>")
        return 2
    HISTORIES.mkdir(exist_ok=True)
    asyncio.run(record(WorkflowSettings(), argv[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
