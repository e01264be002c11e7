"""PaymentRecoveryWorkflow: one per failed payment (`recovery-<event_id>`).

Asks the model for a retry strategy, waits on a durable timer, retries the payment with
the (simulated) processor, records the attempt, and repeats until the payment is
recovered, the strategy says stop, or the attempts run out. A worker that dies while the
timer runs loses nothing: the timer lives in Temporal, and the next worker carries on.

The strategy and the retry are local activities (since LOCAL_ACTIVITIES_PATCH): short
calls run inside the workflow task that asks for them, so each attempt costs the server
two workflow tasks fewer and no activity task queue round trip for them (the side stream
is bound by Temporal's CPU here: bench/RESULTS.md). Their results are recorded in the
history like any activity's, and a worker that dies mid-call has them re-run, which both
allow: the strategy is a read, and the simulated processor's answer is a function of the
event and the attempt. Recording the attempt stays a normal activity (it retries without
limit). Recoveries whose history the older code wrote replay on the older path.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from workflows import policies
    from workflows.activities import EnrichmentActivities
    from workflows.models import (
        AttemptRecord,
        RecoveryInput,
        RecoveryStatus,
        RetryAttemptInput,
        RetryOutcome,
        RetryStrategyInput,
        StrategyAnswer,
    )
    from workflows.scoring import FALLBACK_MODEL_VERSION, FALLBACK_RETRY_STRATEGY, rfc3339_utc


LOCAL_ACTIVITIES_PATCH = "recovery-local-activities"
# How a call that ran out of tries fails: an activity task as ActivityError (its cause the
# activity's error); a local activity as the activity's own error (ApplicationError, or
# TimeoutError when its schedule-to-close ran out).
CALL_FAILED = (ActivityError, ApplicationError, ActivityTimeout)


def failure_type(exc: BaseException) -> str | None:
    """The error type the activity raised, however the call failed."""
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.type if isinstance(cause, ApplicationError) else None


@workflow.defn(name="PaymentRecoveryWorkflow")
class PaymentRecoveryWorkflow:
    @workflow.init
    def __init__(self, request: RecoveryInput) -> None:
        self._status = RecoveryStatus(event_id=str(request.event["event_id"]))
        self._local = False

    @workflow.query
    def status(self) -> RecoveryStatus:
        return self._status

    @workflow.run
    async def run(self, request: RecoveryInput) -> RecoveryStatus:
        self._local = workflow.patched(LOCAL_ACTIVITIES_PATCH)
        for attempt in range(1, request.max_attempts + 1):
            answer = await self._strategy(request, attempt)
            strategy = answer.strategy
            if strategy is None or not strategy.should_retry:
                return self._finish("not_retried" if attempt == 1 else "exhausted")

            delay = strategy.delay_seconds * request.delay_scale
            scheduled_at = workflow.now() + timedelta(seconds=delay)
            self._status.state = "waiting"
            self._status.next_attempt_at = rfc3339_utc(scheduled_at)
            await workflow.sleep(timedelta(seconds=delay))

            self._status.state = "retrying"
            self._status.next_attempt_at = None
            outcome, decline_code = await self._retry(request, attempt, strategy.method)
            record = AttemptRecord(
                workflow_id=workflow.info().workflow_id,
                attempt=attempt,
                event_id=self._status.event_id,
                merchant_id=request.event.get("merchant_id"),
                customer_id=request.event.get("customer_id"),
                amount_minor=request.event.get("amount_minor"),
                currency=request.event.get("currency"),
                method=strategy.method,
                delay_seconds=delay,
                model_version=answer.model_version,
                outcome=outcome,
                decline_code=decline_code,
                scheduled_at=rfc3339_utc(scheduled_at),
                attempted_at=rfc3339_utc(workflow.now()),
            )
            await workflow.execute_activity_method(
                EnrichmentActivities.record_attempt,
                record,
                start_to_close_timeout=policies.PERSISTENCE_START_TO_CLOSE,
                # Without limit: a recorded attempt may have charged the customer.
                retry_policy=policies.persistence_retry(
                    request.persistence_retry_initial_seconds,
                    request.persistence_retry_max_seconds,
                ),
            )
            self._status.attempts.append(record)
            if outcome == "succeeded":
                return self._finish("recovered")
            if outcome == "abandoned":
                return self._finish("abandoned")
        return self._finish("exhausted")

    async def _strategy(self, request: RecoveryInput, attempt: int) -> StrategyAnswer:
        """The model's strategy; a conservative one when the model stays unreachable."""
        initial, maximum = (
            request.inference_retry_initial_seconds,
            request.inference_retry_max_seconds,
        )
        execute = (
            workflow.execute_local_activity_method
            if self._local
            else workflow.execute_activity_method
        )
        try:
            return await execute(
                EnrichmentActivities.retry_strategy,
                RetryStrategyInput(event=request.event, attempt=attempt),
                start_to_close_timeout=policies.INFERENCE_START_TO_CLOSE,
                schedule_to_close_timeout=policies.inference_schedule_to_close(initial, maximum),
                retry_policy=policies.inference_retry(initial, maximum),
            )
        except CALL_FAILED as exc:
            workflow.logger.warning("retry strategy unavailable, using the fallback: %s", exc)
            return StrategyAnswer(
                strategy=FALLBACK_RETRY_STRATEGY, model_version=FALLBACK_MODEL_VERSION
            )

    async def _retry(
        self, request: RecoveryInput, attempt: int, method: str
    ) -> tuple[str, str | None]:
        execute = (
            workflow.execute_local_activity_method
            if self._local
            else workflow.execute_activity_method
        )
        try:
            outcome: RetryOutcome = await execute(
                EnrichmentActivities.retry_payment,
                RetryAttemptInput(event=request.event, attempt=attempt, method=method),
                start_to_close_timeout=policies.BUSINESS_RULES_START_TO_CLOSE,
                schedule_to_close_timeout=policies.BUSINESS_RULES_SCHEDULE_TO_CLOSE,
                retry_policy=policies.BUSINESS_RULES_RETRY,
            )
        except CALL_FAILED as exc:
            if failure_type(exc) == policies.HARD_DECLINE:
                return "abandoned", request.event.get("failure_code")
            raise
        return ("succeeded", None) if outcome.succeeded else ("failed", outcome.decline_code)

    def _finish(self, outcome: str) -> RecoveryStatus:
        self._status.state = "finished"
        self._status.outcome = outcome
        self._status.next_attempt_at = None
        return self._status
