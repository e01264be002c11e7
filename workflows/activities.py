"""The activities, as methods of one class holding the clients the worker injects."""

from __future__ import annotations

import asyncio
import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.attempts_store import AttemptsStore
from workflows.claims_store import ClaimsStore
from workflows.inference_client import InferenceClient, InferenceRejected
from workflows.models import (
    AttemptRecord,
    ClaimInput,
    ClaimResult,
    PublishInput,
    RetryAttemptInput,
    RetryOutcome,
    RetryStrategyInput,
    ScoreBatchInput,
    ScoringResult,
    StrategyAnswer,
)
from workflows.policies import (
    HARD_DECLINE,
    INFERENCE_CONTRACT_VIOLATION,
    INFERENCE_REJECTED_INPUT,
    INVALID_RECORD,
)
from workflows.publisher import ResultPublisher
from workflows.recovery_rules import HardDecline, check_retryable, simulated_retry_outcome
from workflows.scoring import ScoresContractViolation

log = logging.getLogger("workflows.activities")

# Exported on the worker's Prometheus endpoint (WORKFLOWS_METRICS_PORT) with the
# Temporal SDK's own metrics, labelled by activity.
PERSISTENCE_RETRIES_METRIC = "paystream_persistence_retries"


def report_persistence_retry() -> None:
    """Counts and logs a persistence activity's retry: the one sign that a write is
    waiting for Kafka or PostgreSQL to come back, since these retries never give up."""
    info = activity.info()
    if info.attempt <= 1:
        return
    activity.metric_meter().create_counter(
        PERSISTENCE_RETRIES_METRIC, "Retries of activities that write to Kafka or PostgreSQL"
    ).add(1, {"activity": info.activity_type})
    log.warning(
        "persistence retry activity=%s attempt=%d workflow_id=%s",
        info.activity_type,
        info.attempt,
        info.workflow_id,
        extra={
            "activity": info.activity_type,
            "attempt": info.attempt,
            "workflow_id": info.workflow_id,
        },
    )


class EnrichmentActivities:
    """Errors a retry cannot fix are raised with a type named in the calling policy's
    `non_retryable_error_types` (workflows.policies)."""

    def __init__(
        self,
        inference: InferenceClient,
        publisher: ResultPublisher,
        attempts: AttemptsStore,
        claims: ClaimsStore,
    ) -> None:
        self._inference = inference
        self._publisher = publisher
        self._attempts = attempts
        self._claims = claims

    # -- inference ---------------------------------------------------------------------

    @activity.defn
    async def score_batch(self, batch: ScoreBatchInput) -> ScoringResult:
        try:
            return ScoringResult(events=await self._inference.score_events(batch.events))
        except ScoresContractViolation as exc:
            raise ApplicationError(str(exc), type=INFERENCE_CONTRACT_VIOLATION) from exc

    @activity.defn
    async def retry_strategy(self, request: RetryStrategyInput) -> StrategyAnswer:
        try:
            return await self._inference.retry_strategy(request.event, request.attempt - 1)
        except InferenceRejected as exc:
            raise ApplicationError(str(exc), type=INFERENCE_REJECTED_INPUT) from exc
        except ScoresContractViolation as exc:
            raise ApplicationError(str(exc), type=INFERENCE_CONTRACT_VIOLATION) from exc

    # -- persistence -------------------------------------------------------------------

    @activity.defn
    async def claim_events(self, request: ClaimInput) -> ClaimResult:
        report_persistence_retry()
        return ClaimResult(owned=await self._claims.claim(request.workflow_id, request.event_ids))

    @activity.defn
    async def publish_results(self, request: PublishInput) -> int:
        if any(not r.get("event_id") for r in request.results):
            raise ApplicationError("a result has no event_id", type=INVALID_RECORD)
        report_persistence_retry()
        # The producer blocks while it flushes: keep the worker's event loop free.
        await asyncio.to_thread(self._publisher.publish, request.topic, request.results)
        return len(request.results)

    @activity.defn
    async def record_attempt(self, record: AttemptRecord) -> bool:
        report_persistence_retry()
        return await self._attempts.record(record)

    # -- business rules ----------------------------------------------------------------

    @activity.defn
    async def retry_payment(self, request: RetryAttemptInput) -> RetryOutcome:
        """Asks the (simulated) processor to retry the payment."""
        try:
            check_retryable(request.event)
        except HardDecline as exc:
            raise ApplicationError(str(exc), type=HARD_DECLINE) from exc
        return simulated_retry_outcome(str(request.event["event_id"]), request.attempt)
