"""The scoring endpoints: one event each, or a batch of 1..1000 in input order."""

from __future__ import annotations

from fastapi import APIRouter

from inference.declines import RetryPlan
from inference.dependencies import ScorerDep, StateDep
from inference.schemas import (
    BatchRequest,
    BatchResponse,
    BatchResult,
    ChurnScoreResponse,
    FraudScoreResponse,
    PaymentEvent,
    RetryStrategy,
    RetryStrategyResponse,
)
from inference.scoring import risk_level

router = APIRouter(prefix="/v1", tags=["scoring"])


def _strategy(plan: RetryPlan | None) -> RetryStrategy | None:
    if plan is None:
        return None
    return RetryStrategy(
        should_retry=plan.should_retry, delay_seconds=plan.delay_seconds, method=plan.method
    )


def _count(state: StateDep, endpoint: str, events: int) -> None:
    state.metrics.scored_events.labels(endpoint=endpoint).inc(events)


@router.post("/fraud-score")
def fraud_score(event: PaymentEvent, scorer: ScorerDep, state: StateDep) -> FraudScoreResponse:
    score = scorer.fraud_score(event)
    _count(state, "/v1/fraud-score", 1)
    return FraudScoreResponse(
        event_id=event.event_id,
        model_version=scorer.version,
        fraud_score=score,
        risk_level=risk_level(score),
    )


@router.post("/churn-score")
def churn_score(event: PaymentEvent, scorer: ScorerDep, state: StateDep) -> ChurnScoreResponse:
    score = scorer.churn_score(event)
    _count(state, "/v1/churn-score", 1)
    return ChurnScoreResponse(
        event_id=event.event_id, model_version=scorer.version, churn_score=score
    )


@router.post("/retry-strategy")
def retry_strategy(
    event: PaymentEvent, scorer: ScorerDep, state: StateDep
) -> RetryStrategyResponse:
    """`retry_strategy` is null unless the payment failed (event_type `payment.failed` or
    status `failed`)."""
    plan = scorer.retry_strategy(event)
    _count(state, "/v1/retry-strategy", 1)
    return RetryStrategyResponse(
        event_id=event.event_id, model_version=scorer.version, retry_strategy=_strategy(plan)
    )


@router.post("/score/batch")
def score_batch(batch: BatchRequest, scorer: ScorerDep, state: StateDep) -> BatchResponse:
    """Every score for each event, in input order (a repeated event_id is scored again)."""
    results = []
    for event in batch.events:
        scores = scorer.score(event)
        results.append(
            BatchResult(
                event_id=event.event_id,
                fraud_score=scores.fraud_score,
                risk_level=scores.risk_level,
                churn_score=scores.churn_score,
                retry_strategy=_strategy(scores.retry_strategy),
            )
        )
    _count(state, "/v1/score/batch", len(results))
    return BatchResponse(model_version=scorer.version, results=results)
