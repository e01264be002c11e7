"""The dataclasses workflows and activities exchange: one input dataclass each.

Everything here travels through Temporal's JSON payload converter and is recorded in the
workflow history, so it stays plain data (no clients, no settings objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# /v1/score/batch takes at most this many events.
MAX_INFERENCE_BATCH = 1000

# A unified event (contract §5) as read from `payments.normalized`.
Event = dict[str, Any]


@dataclass(frozen=True)
class RetryStrategy:
    should_retry: bool
    delay_seconds: int
    method: str


@dataclass(frozen=True)
class Scores:
    """What the model (or the fallback) says about one event."""

    event_id: str
    fraud_score: float
    risk_level: str
    churn_score: float
    retry_strategy: RetryStrategy | None


@dataclass(frozen=True)
class ScoredBatch:
    model_version: str
    scores: list[Scores]


@dataclass(frozen=True)
class ScoredEvent:
    scores: Scores
    model_version: str
    score_source: str  # model | fallback


@dataclass(frozen=True)
class ScoringResult:
    events: list[ScoredEvent]


@dataclass(frozen=True)
class EnrichmentOptions:
    """Tuning the bridge passes to each workflow, so every replay sees the same values."""

    inference_retry_initial_seconds: float = 1.0
    inference_retry_max_seconds: float = 30.0
    recovery_delay_scale: float = 1.0
    recovery_max_attempts: int = 3
    persistence_retry_initial_seconds: float = 1.0
    persistence_retry_max_seconds: float = 30.0


@dataclass(frozen=True)
class EnrichmentBatch:
    """One aligned range of offsets of one partition of the source topic."""

    source_topic: str
    partition: int
    first_offset: int
    last_offset: int
    events: list[Event]
    sink_topic: str
    options: EnrichmentOptions = field(default_factory=EnrichmentOptions)


@dataclass(frozen=True)
class EnrichmentSummary:
    workflow_id: str
    results: int
    fallback_results: int
    model_versions: list[str]
    recoveries_started: list[str]


@dataclass(frozen=True)
class ScoreBatchInput:
    events: list[Event]


@dataclass(frozen=True)
class ClaimInput:
    """The batch's event ids, claimed for its workflow."""

    workflow_id: str
    event_ids: list[str]


@dataclass(frozen=True)
class ClaimResult:
    # The ids this workflow owns: claimed now, or by an earlier run of the same workflow.
    owned: list[str]


@dataclass(frozen=True)
class PublishInput:
    topic: str
    # Each one an enrichment result (contract §6) as its JSON object.
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class RetryStrategyInput:
    event: Event
    attempt: int


@dataclass(frozen=True)
class StrategyAnswer:
    strategy: RetryStrategy | None
    model_version: str


@dataclass(frozen=True)
class RetryAttemptInput:
    event: Event
    attempt: int
    method: str


@dataclass(frozen=True)
class RetryOutcome:
    succeeded: bool
    decline_code: str | None


@dataclass(frozen=True)
class AttemptRecord:
    """One row of the recovery attempts table."""

    workflow_id: str
    attempt: int
    event_id: str
    merchant_id: str | None
    customer_id: str | None
    amount_minor: int | None
    currency: str | None
    method: str
    delay_seconds: float
    model_version: str
    outcome: str
    decline_code: str | None
    scheduled_at: str
    attempted_at: str


@dataclass(frozen=True)
class RecoveryInput:
    event: Event
    delay_scale: float = 1.0
    max_attempts: int = 3
    inference_retry_initial_seconds: float = 1.0
    inference_retry_max_seconds: float = 30.0
    persistence_retry_initial_seconds: float = 1.0
    persistence_retry_max_seconds: float = 30.0


@dataclass
class RecoveryStatus:
    """What the `status` query answers: where one recovery stands."""

    event_id: str
    state: str = "starting"  # starting | waiting | retrying | finished
    attempts: list[AttemptRecord] = field(default_factory=list)
    next_attempt_at: str | None = None
    outcome: str | None = None  # recovered | exhausted | not_retried | abandoned
