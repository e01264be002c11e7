"""Pure scoring helpers: the fallback scorer, the batch answer's checks, and the
enrichment result (contract §6) as the JSON object written to `payments.enriched`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from contracts.tables import ENRICHMENT_COLUMNS
from workflows.models import Event, RetryStrategy, ScoredBatch, Scores

MODEL, FALLBACK = "model", "fallback"
FALLBACK_MODEL_VERSION = "fallback"
RISK_LEVELS = ("low", "medium", "high")

# When the model cannot answer, every event gets the same middle-of-the-road scores:
# "medium" risk sends it to review rather than auto-approving or auto-blocking it, and a
# failed payment is retried once, late, with the same method (the least intrusive retry).
FALLBACK_FRAUD_SCORE = 0.5
FALLBACK_RISK_LEVEL = "medium"
FALLBACK_CHURN_SCORE = 0.5
FALLBACK_RETRY_STRATEGY = RetryStrategy(
    should_retry=True, delay_seconds=3600, method="same_payment_method"
)


class ScoresContractViolation(ValueError):
    """The inference service answered something contract §6 does not allow."""


def payment_failed(event: Event) -> bool:
    """Whether a retry strategy applies (the inference service's own rule)."""
    return event.get("event_type") == "payment.failed" or event.get("status") == "failed"


def needs_recovery(event: Event) -> bool:
    return event.get("event_type") == "payment.failed"


def fallback_scores(event: Event) -> Scores:
    return Scores(
        event_id=str(event["event_id"]),
        fraud_score=FALLBACK_FRAUD_SCORE,
        risk_level=FALLBACK_RISK_LEVEL,
        churn_score=FALLBACK_CHURN_SCORE,
        retry_strategy=FALLBACK_RETRY_STRATEGY if payment_failed(event) else None,
    )


def parse_retry_strategy(value: Any) -> RetryStrategy | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ScoresContractViolation(f"retry_strategy is not an object: {value!r}")
    try:
        return RetryStrategy(
            should_retry=bool(value["should_retry"]),
            delay_seconds=int(value["delay_seconds"]),
            method=str(value["method"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ScoresContractViolation(f"bad retry_strategy {value!r}: {exc}") from exc


def _score(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ScoresContractViolation(f"{name} must be a number in 0..1, got {value!r}")
    return float(value)


def parse_scores(result: Any, expected_event_id: str) -> Scores:
    if not isinstance(result, dict) or result.get("event_id") != expected_event_id:
        raise ScoresContractViolation(
            f"result for {expected_event_id} is missing or out of order: {result!r}"
        )
    risk_level = result.get("risk_level")
    if risk_level not in RISK_LEVELS:
        raise ScoresContractViolation(f"risk_level {risk_level!r} is not one of {RISK_LEVELS}")
    return Scores(
        event_id=expected_event_id,
        fraud_score=_score(result.get("fraud_score"), "fraud_score"),
        risk_level=risk_level,
        churn_score=_score(result.get("churn_score"), "churn_score"),
        retry_strategy=parse_retry_strategy(result.get("retry_strategy")),
    )


def parse_batch_answer(events: list[Event], body: Any) -> ScoredBatch:
    """The `/v1/score/batch` answer, checked: one result per event, in input order."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ScoresContractViolation(f"batch answer without results: {str(body)[:200]}")
    results = body["results"]
    if len(results) != len(events):
        raise ScoresContractViolation(f"{len(results)} results for {len(events)} events")
    version = body.get("model_version")
    if not isinstance(version, str) or not version:
        raise ScoresContractViolation("batch answer without model_version")
    scores = [parse_scores(r, str(e["event_id"])) for r, e in zip(results, events, strict=True)]
    return ScoredBatch(model_version=version, scores=scores)


def rfc3339_utc(moment: datetime) -> str:
    """`2026-11-22T10:00:00.123Z`: milliseconds, always UTC."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def strategy_json(strategy: RetryStrategy | None) -> str | None:
    if strategy is None:
        return None
    return json.dumps(
        {
            "should_retry": strategy.should_retry,
            "delay_seconds": strategy.delay_seconds,
            "method": strategy.method,
        },
        sort_keys=True,
    )


def enrichment_result(
    scores: Scores,
    *,
    model_version: str,
    score_source: str,
    workflow_id: str,
    enriched_at: datetime,
) -> dict[str, Any]:
    """The message value for `payments.enriched`: exactly the table's columns."""
    if score_source not in (MODEL, FALLBACK):
        raise ValueError(f"score_source must be {MODEL!r} or {FALLBACK!r}")
    values: dict[str, Any] = {
        "event_id": scores.event_id,
        "fraud_score": scores.fraud_score,
        "risk_level": scores.risk_level,
        "churn_score": scores.churn_score,
        "retry_strategy": strategy_json(scores.retry_strategy),
        "model_version": model_version,
        "score_source": score_source,
        "workflow_id": workflow_id,
        "enriched_at": rfc3339_utc(enriched_at),
    }
    return {name: values[name] for name, _ in ENRICHMENT_COLUMNS}


def distinct_events(events: list[Event]) -> list[Event]:
    """Each event_id once (the first), so a batch emits one result per event."""
    seen: set[str] = set()
    kept = []
    for event in events:
        event_id = str(event["event_id"])
        if event_id not in seen:
            seen.add(event_id)
            kept.append(event)
    return kept
