"""EnrichmentWorkflow: one per micro-batch (an aligned offset range of one partition).

Claims the batch's events (an event redelivered at another offset belongs to the first
workflow that claimed it, see workflows.claims_store), scores the owned ones with the
inference service, falls back to conservative scores if the service stays down,
publishes one result per event to `payments.enriched`, and starts a recovery workflow
for each failed payment (all of a batch's at once, since CONCURRENT_RECOVERY_STARTS_PATCH:
one after the other cost one workflow task each). The writes retry without limit
(workflows.policies): the bridge has committed the batch's offsets, so this workflow is
the only one that will write them.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from workflows import policies
    from workflows.activities import EnrichmentActivities
    from workflows.ids import recovery_workflow_id
    from workflows.models import (
        MAX_INFERENCE_BATCH,
        ClaimInput,
        ClaimResult,
        EnrichmentBatch,
        EnrichmentOptions,
        EnrichmentSummary,
        Event,
        PublishInput,
        RecoveryInput,
        ScoreBatchInput,
        ScoredEvent,
    )
    from workflows.recovery import PaymentRecoveryWorkflow
    from workflows.scoring import (
        FALLBACK,
        FALLBACK_MODEL_VERSION,
        distinct_events,
        enrichment_result,
        fallback_scores,
        needs_recovery,
    )


CLAIMS_PATCH = "claim-events"
CONCURRENT_RECOVERY_STARTS_PATCH = "concurrent-recovery-starts"


@workflow.defn(name="EnrichmentWorkflow")
class EnrichmentWorkflow:
    @workflow.run
    async def run(self, batch: EnrichmentBatch) -> EnrichmentSummary:
        workflow_id = workflow.info().workflow_id
        events = await self._claim(
            workflow_id, distinct_events([e for e in batch.events if e.get("event_id")]), batch
        )
        enriched_at = workflow.now()
        scored: list[ScoredEvent] = []
        for start in range(0, len(events), MAX_INFERENCE_BATCH):
            scored += await self._score(events[start : start + MAX_INFERENCE_BATCH], batch.options)
        results = [
            enrichment_result(
                s.scores,
                model_version=s.model_version,
                score_source=s.score_source,
                workflow_id=workflow_id,
                enriched_at=enriched_at,
            )
            for s in scored
        ]
        if results:
            await workflow.execute_activity_method(
                EnrichmentActivities.publish_results,
                PublishInput(topic=batch.sink_topic, results=results),
                start_to_close_timeout=policies.PERSISTENCE_START_TO_CLOSE,
                retry_policy=self._persistence_retry(batch.options),
            )
        failed = [event for event in events if needs_recovery(event)]
        if workflow.patched(CONCURRENT_RECOVERY_STARTS_PATCH):
            # All the batch's recovery starts go to the server in one workflow task.
            recoveries = list(
                await asyncio.gather(*(self._start_recovery(e, batch.options) for e in failed))
            )
        else:  # histories written before: one start per workflow task
            recoveries = [await self._start_recovery(e, batch.options) for e in failed]
        return EnrichmentSummary(
            workflow_id=workflow_id,
            results=len(results),
            fallback_results=sum(s.score_source == FALLBACK for s in scored),
            model_versions=sorted({s.model_version for s in scored}),
            recoveries_started=recoveries,
        )

    @staticmethod
    def _persistence_retry(options: EnrichmentOptions) -> RetryPolicy:
        return policies.persistence_retry(
            options.persistence_retry_initial_seconds, options.persistence_retry_max_seconds
        )

    async def _claim(
        self, workflow_id: str, events: list[Event], batch: EnrichmentBatch
    ) -> list[Event]:
        """The events this workflow owns; the others were enriched by an earlier batch."""
        # Workflows started before the claims existed replay without them.
        if not events or not workflow.patched(CLAIMS_PATCH):
            return events
        claim: ClaimResult = await workflow.execute_activity_method(
            EnrichmentActivities.claim_events,
            ClaimInput(workflow_id=workflow_id, event_ids=[str(e["event_id"]) for e in events]),
            start_to_close_timeout=policies.PERSISTENCE_START_TO_CLOSE,
            retry_policy=self._persistence_retry(batch.options),
        )
        owned = set(claim.owned)
        if len(owned) < len(events):
            workflow.logger.info(
                "%d of %d events were already claimed by another batch: skipped",
                len(events) - len(owned),
                len(events),
            )
        return [e for e in events if str(e["event_id"]) in owned]

    async def _score(self, events: list[Event], options: EnrichmentOptions) -> list[ScoredEvent]:
        """The model's scores, or the fallback's once the inference retries are spent: a
        model outage must delay nothing downstream, and the rows say which they are."""
        initial = options.inference_retry_initial_seconds
        maximum = options.inference_retry_max_seconds
        try:
            result = await workflow.execute_activity_method(
                EnrichmentActivities.score_batch,
                ScoreBatchInput(events=events),
                start_to_close_timeout=policies.INFERENCE_START_TO_CLOSE,
                schedule_to_close_timeout=policies.inference_schedule_to_close(initial, maximum),
                retry_policy=policies.inference_retry(initial, maximum),
            )
        except ActivityError as exc:
            workflow.logger.warning("inference unavailable, using fallback scores: %s", exc)
            return [
                ScoredEvent(fallback_scores(e), FALLBACK_MODEL_VERSION, FALLBACK) for e in events
            ]
        return result.events

    async def _start_recovery(self, event: Event, options: EnrichmentOptions) -> str:
        """Starts the payment's recovery as an abandoned child: it outlives this batch.

        REJECT_DUPLICATE: a payment is recovered at most once, ever, even when a later
        batch (after a crash, with other offsets) sees the same failed event again; a
        recovery that failed is not re-run either, since it may already have charged.
        """
        recovery_id = recovery_workflow_id(str(event["event_id"]))
        try:
            await workflow.start_child_workflow(
                PaymentRecoveryWorkflow.run,
                RecoveryInput(
                    event=event,
                    delay_scale=options.recovery_delay_scale,
                    max_attempts=options.recovery_max_attempts,
                    inference_retry_initial_seconds=options.inference_retry_initial_seconds,
                    inference_retry_max_seconds=options.inference_retry_max_seconds,
                    persistence_retry_initial_seconds=options.persistence_retry_initial_seconds,
                    persistence_retry_max_seconds=options.persistence_retry_max_seconds,
                ),
                id=recovery_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("recovery %s already exists", recovery_id)
        return recovery_id
