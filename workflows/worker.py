"""`python -m workflows.worker`: runs the enrichment and recovery workflows and their
activities on the task queue WORKFLOWS_TASK_QUEUE, and serves the Temporal SDK's
Prometheus metrics (with `paystream_persistence_retries`) on 127.0.0.1:WORKFLOWS_METRICS_PORT.
Wiring only."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import httpx
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from observability.logs import configure_json_logging
from workflows.activities import EnrichmentActivities
from workflows.attempts_store import AttemptsStore, ensure_attempts_table
from workflows.claims_store import ClaimsStore, ensure_claims_table
from workflows.enrichment import EnrichmentWorkflow
from workflows.inference_client import InferenceClient
from workflows.publisher import ResultPublisher
from workflows.reconnect import Backoff, connect_temporal
from workflows.recovery import PaymentRecoveryWorkflow
from workflows.settings import WorkflowSettings

log = logging.getLogger("workflows.worker")


def metrics_runtime(settings: WorkflowSettings) -> Runtime | None:
    """A Temporal runtime that serves its metrics on loopback; None when turned off."""
    if settings.metrics_port == 0:
        return None
    bind = f"127.0.0.1:{settings.metrics_port}"
    log.info("metrics on http://%s/metrics", bind)
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


def activity_methods(activities: EnrichmentActivities) -> list:
    return [
        activities.claim_events,
        activities.score_batch,
        activities.retry_strategy,
        activities.publish_results,
        activities.record_attempt,
        activities.retry_payment,
    ]


async def run_worker(settings: WorkflowSettings, stop: asyncio.Event | None = None) -> None:
    """Runs until `stop` is set (by default: until SIGTERM or SIGINT)."""
    ensure_attempts_table(settings.postgres_dsn, settings.recovery_table)
    ensure_claims_table(settings.postgres_dsn, settings.claims_table)
    client = await connect_temporal(
        settings.temporal_address,
        settings.temporal_namespace,
        Backoff(settings.bridge_retry_seconds, settings.bridge_retry_max_seconds),
        runtime=metrics_runtime(settings),
    )
    publisher = ResultPublisher(
        settings.kafka.bootstrap_servers, flush_timeout=settings.publish_timeout_seconds
    )
    async with httpx.AsyncClient(
        base_url=settings.inference_url, timeout=settings.inference_timeout_seconds
    ) as http:
        activities = EnrichmentActivities(
            InferenceClient(http),
            publisher,
            AttemptsStore(settings.postgres_dsn, settings.recovery_table),
            ClaimsStore(settings.postgres_dsn, settings.claims_table),
        )
        worker = Worker(
            client,
            workflows=[EnrichmentWorkflow, PaymentRecoveryWorkflow],
            activities=activity_methods(activities),
            **worker_options(settings),
        )
        log.info(
            "worker on %s, namespace %s, task queue %s",
            settings.temporal_address,
            settings.temporal_namespace,
            settings.task_queue,
        )
        if stop is None:
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


def worker_options(settings: WorkflowSettings) -> dict[str, Any]:
    """The task queue, and how much of it one worker process takes on at once."""
    return {
        "task_queue": settings.task_queue,
        "max_concurrent_workflow_tasks": settings.max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.max_concurrent_activities,
    }


def main() -> None:
    configure_json_logging()
    asyncio.run(run_worker(WorkflowSettings()))


if __name__ == "__main__":
    main()
