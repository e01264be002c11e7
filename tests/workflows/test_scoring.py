"""The fallback scorer, the batch answer's checks and the result's serialisation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts.tables import ENRICHMENT_COLUMNS
from workflows.models import RetryStrategy, Scores
from workflows.scoring import (
    FALLBACK,
    ScoresContractViolation,
    distinct_events,
    enrichment_result,
    fallback_scores,
    parse_batch_answer,
    rfc3339_utc,
)

FAILED = {"event_id": "e1", "event_type": "payment.failed", "status": "failed"}
SUCCEEDED = {"event_id": "e2", "event_type": "payment.succeeded", "status": "succeeded"}
REFUND_FAILED = {"event_id": "e3", "event_type": "refund.failed", "status": "failed"}


def test_fallback_is_conservative_and_the_same_for_every_event():
    for event in (FAILED, SUCCEEDED):
        scores = fallback_scores(event)
        assert scores.event_id == event["event_id"]
        assert (scores.fraud_score, scores.risk_level, scores.churn_score) == (0.5, "medium", 0.5)


def test_fallback_retry_strategy_only_for_failed_payments():
    assert fallback_scores(SUCCEEDED).retry_strategy is None
    strategy = fallback_scores(FAILED).retry_strategy
    assert strategy is not None and strategy.should_retry and strategy.delay_seconds > 0
    # The inference service's rule: status failed counts too.
    assert fallback_scores(REFUND_FAILED).retry_strategy is not None


def test_result_has_exactly_the_tables_columns_in_order():
    scores = Scores("e1", 0.25, "low", 0.75, RetryStrategy(True, 600, "same_payment_method"))
    moment = datetime(2026, 11, 22, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    result = enrichment_result(
        scores,
        model_version="m-1",
        score_source="model",
        workflow_id="enrich-t-0-0-9",
        enriched_at=moment,
    )
    assert list(result) == [name for name, _ in ENRICHMENT_COLUMNS]
    assert result["enriched_at"] == "2026-11-22T10:00:00.123Z"
    assert json.loads(result["retry_strategy"]) == {
        "should_retry": True,
        "delay_seconds": 600,
        "method": "same_payment_method",
    }
    assert (result["fraud_score"], result["churn_score"]) == (0.25, 0.75)
    assert json.loads(json.dumps(result)) == result


def test_result_without_strategy_has_json_null_and_source_is_checked():
    scores = fallback_scores(SUCCEEDED)
    result = enrichment_result(
        scores,
        model_version="fallback",
        score_source=FALLBACK,
        workflow_id="w",
        enriched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert result["retry_strategy"] is None and result["score_source"] == "fallback"
    with pytest.raises(ValueError):
        enrichment_result(
            scores, model_version="x", score_source="guess", workflow_id="w",
            enriched_at=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip


def test_rfc3339_is_utc_with_milliseconds():
    assert rfc3339_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


def answer(*results: dict) -> dict:
    return {"model_version": "v1", "results": list(results)}


def result(event_id: str, **overrides) -> dict:
    return {
        "event_id": event_id,
        "fraud_score": 0.1,
        "risk_level": "low",
        "churn_score": 0.2,
        "retry_strategy": None,
    } | overrides


def test_a_good_batch_answer_is_parsed_in_input_order():
    strategy = {"should_retry": False, "delay_seconds": 0, "method": "none"}
    scored = parse_batch_answer(
        [FAILED, SUCCEEDED], answer(result("e1", retry_strategy=strategy), result("e2"))
    )
    assert scored.model_version == "v1"
    assert [s.event_id for s in scored.scores] == ["e1", "e2"]
    assert scored.scores[0].retry_strategy == RetryStrategy(False, 0, "none")


@pytest.mark.parametrize(
    "body",
    [
        answer(result("e2"), result("e1")),  # out of order
        answer(result("e1")),  # one missing
        answer(result("e1", fraud_score=1.5), result("e2")),
        answer(result("e1", risk_level="extreme"), result("e2")),
        answer(result("e1", churn_score=True), result("e2")),
        answer(result("e1", retry_strategy={"should_retry": True}), result("e2")),
        {"results": [result("e1"), result("e2")]},  # no model_version
        {"detail": "oops"},
    ],
)
def test_answers_outside_the_contract_are_refused(body: dict):
    with pytest.raises(ScoresContractViolation):
        parse_batch_answer([FAILED, SUCCEEDED], body)


def test_each_event_id_is_kept_once_first_wins():
    events = [{"event_id": "a", "n": 1}, {"event_id": "b"}, {"event_id": "a", "n": 2}]
    assert distinct_events(events) == [{"event_id": "a", "n": 1}, {"event_id": "b"}]
