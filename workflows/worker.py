"""`python -m workflows.worker`: runs the enrichment and recovery workflows and their
activities on the task queue WORKFLOWS_TASK_QUEUE. Wiring only."""

from __future__ import annotations

import asyncio
import logging
import signal

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from workflows.activities import EnrichmentActivities
from workflows.attempts_store import AttemptsStore, ensure_attempts_table
from workflows.enrichment import EnrichmentWorkflow
from workflows.inference_client import InferenceClient
from workflows.publisher import ResultPublisher
from workflows.recovery import PaymentRecoveryWorkflow
from workflows.settings import WorkflowSettings

log = logging.getLogger("workflows.worker")


async def run_worker(settings: WorkflowSettings) -> None:
    ensure_attempts_table(settings.postgres_dsn, settings.recovery_table)
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    publisher = ResultPublisher(settings.kafka.bootstrap_servers)
    async with httpx.AsyncClient(
        base_url=settings.inference_url, timeout=settings.inference_timeout_seconds
    ) as http:
        activities = EnrichmentActivities(
            InferenceClient(http),
            publisher,
            AttemptsStore(settings.postgres_dsn, settings.recovery_table),
        )
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[EnrichmentWorkflow, PaymentRecoveryWorkflow],
            activities=[
                activities.score_batch,
                activities.retry_strategy,
                activities.publish_results,
                activities.record_attempt,
                activities.retry_payment,
            ],
        )
        log.info(
            "worker on %s, namespace %s, task queue %s",
            settings.temporal_address,
            settings.temporal_namespace,
            settings.task_queue,
        )
        # SIGTERM/SIGINT: stop polling, let running activities finish, then leave.
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        try:
            async with worker:
                await stop.wait()
        finally:
            publisher.close()
        log.info("worker stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_worker(WorkflowSettings()))


if __name__ == "__main__":
    main()
