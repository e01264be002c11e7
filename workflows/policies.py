"""Named retry policies and timeouts of the activities, by kind of work.

- business rules: deterministic decisions; a few tries cover a crashed worker, and a
  rule that says no (a hard decline) is final.
- inference: a remote model that may be restarting; exponential backoff, then the
  workflow falls back to conservative scores instead of failing.
- persistence: Kafka and PostgreSQL writes are idempotent (idempotent producer and
  keep-first dedupe downstream; INSERT ... ON CONFLICT DO NOTHING), so they are retried
  without limit: the bridge has committed the batch's offsets once its workflow started,
  so a workflow that gave up on a write would lose that write for good. An outage of
  Kafka or PostgreSQL delays results; it never drops them. Retries show in the worker's
  logs and in its `paystream_persistence_retries` counter (workflows.activities).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

HARD_DECLINE = "HardDecline"
INFERENCE_REJECTED_INPUT = "InferenceRejectedInput"
INFERENCE_CONTRACT_VIOLATION = "InferenceContractViolation"
INVALID_RECORD = "InvalidRecord"

BUSINESS_RULES_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
    non_retryable_error_types=[HARD_DECLINE],
)
BUSINESS_RULES_START_TO_CLOSE = timedelta(seconds=10)
BUSINESS_RULES_SCHEDULE_TO_CLOSE = timedelta(minutes=1)

# Each try is bounded by its start-to-close timeout, longer than the publisher's flush
# timeout (WORKFLOWS_PUBLISH_TIMEOUT_SECONDS, at most 50 s).
PERSISTENCE_START_TO_CLOSE = timedelta(seconds=60)
# Temporal's "no limit" for maximum_attempts.
UNLIMITED_ATTEMPTS = 0


def persistence_retry(initial_seconds: float, max_seconds: float) -> RetryPolicy:
    """Retries without limit, the pause doubling up to `max_seconds`. There is deliberately
    no schedule-to-close timeout to go with it: that would end the retries just the same."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial_seconds),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=max(initial_seconds, max_seconds)),
        maximum_attempts=UNLIMITED_ATTEMPTS,
        non_retryable_error_types=[INVALID_RECORD],
    )


INFERENCE_MAX_ATTEMPTS = 5
INFERENCE_START_TO_CLOSE = timedelta(seconds=30)


def inference_retry(initial_seconds: float, max_seconds: float) -> RetryPolicy:
    """Five tries with exponential backoff; the base is a setting so tests stay short."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial_seconds),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=max_seconds),
        maximum_attempts=INFERENCE_MAX_ATTEMPTS,
        non_retryable_error_types=[INFERENCE_REJECTED_INPUT, INFERENCE_CONTRACT_VIOLATION],
    )


def inference_schedule_to_close(initial_seconds: float, max_seconds: float) -> timedelta:
    """Room for every try at its full timeout plus every backoff between them."""
    backoffs = sum(
        min(initial_seconds * 2**n, max_seconds) for n in range(INFERENCE_MAX_ATTEMPTS - 1)
    )
    tries = INFERENCE_MAX_ATTEMPTS * INFERENCE_START_TO_CLOSE.total_seconds()
    return timedelta(seconds=tries + backoffs)
