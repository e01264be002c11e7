from __future__ import annotations

import pytest

from workflows.recovery_rules import (
    HARD_DECLINE_CODES,
    SIMULATED_SUCCESS_RATE,
    HardDecline,
    check_retryable,
    simulated_retry_outcome,
)


def test_outcomes_are_deterministic_per_event_and_attempt():
    outcomes = [simulated_retry_outcome(f"evt{n}", 1) for n in range(400)]
    assert outcomes == [simulated_retry_outcome(f"evt{n}", 1) for n in range(400)]
    rate = sum(o.succeeded for o in outcomes) / len(outcomes)
    assert abs(rate - SIMULATED_SUCCESS_RATE) < 0.1
    assert all((o.decline_code is None) == o.succeeded for o in outcomes)


def test_attempts_of_one_event_can_differ():
    assert len({simulated_retry_outcome("evt1", a) for a in range(1, 20)}) > 1


@pytest.mark.parametrize("code", sorted(HARD_DECLINE_CODES))
def test_hard_declines_are_not_retried(code: str):
    with pytest.raises(HardDecline):
        check_retryable({"event_id": "e", "failure_code": f" {code.upper()} "})


def test_soft_declines_and_missing_codes_are_retried():
    check_retryable({"event_id": "e", "failure_code": "insufficient_funds"})
    check_retryable({"event_id": "e", "failure_code": None})
    check_retryable({"event_id": "e"})
