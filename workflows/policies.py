"""Named retry policies and timeouts of the activities, by kind of work.

- business rules: deterministic decisions; a few tries cover a crashed worker, and a
  rule that says no (a hard decline) is final.
- inference: a remote model that may be restarting; exponential backoff, then the
  workflow falls back to conservative scores instead of failing.
- persistence: Kafka and PostgreSQL writes are idempotent (idempotent producer and
  keep-first dedupe downstream; INSERT ... ON CONFLICT DO NOTHING), so they can be
  retried many times.
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

PERSISTENCE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=[INVALID_RECORD],
)
PERSISTENCE_START_TO_CLOSE = timedelta(seconds=60)
PERSISTENCE_SCHEDULE_TO_CLOSE = timedelta(minutes=15)

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
