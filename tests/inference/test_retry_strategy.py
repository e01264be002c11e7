"""The retry strategy: null unless the payment failed, then the decline-code table."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from inference.declines import DECLINE_KINDS, MAX_DELAY_SECONDS
from tests.inference.events import unified_event

DAY, HOUR = 86_400, 3_600


def strategy(client: TestClient, event: dict) -> dict | None:
    response = client.post("/v1/retry-strategy", json=event)
    assert response.status_code == 200, response.text
    batch = client.post("/v1/score/batch", json={"events": [event]})
    # The batch must say the same as the single endpoint.
    assert batch.json()["results"][0]["retry_strategy"] == response.json()["retry_strategy"]
    return response.json()["retry_strategy"]


def failed(code: str | None, failed_payments: int = 0) -> dict:
    history = {"failed_payments": failed_payments}
    return unified_event(3, "payment.failed", failure_code=code, customer_history=history)


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("payment.succeeded", "succeeded"),
        ("payment.pending", "pending"),
        ("payment.canceled", "canceled"),
        ("refund.failed", "rejected"),
        ("dispute.created", "needs_response"),
        ("subscription.canceled", "canceled"),
        (None, None),
    ],
)
def test_no_strategy_unless_the_payment_failed(client: TestClient, event_type, status):
    # A decline code alone does not make a payment failed.
    event = unified_event(1, event_type=event_type or "x.y", status=status)
    event |= {"event_type": event_type, "failure_code": "insufficient_funds"}
    assert strategy(client, event) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"event_type": "payment.failed", "status": "failed"},
        {"event_type": "payment.failed", "status": None},
        {"event_type": None, "status": "failed"},
        {"event_type": None, "status": "FAILED"},  # Square's case
    ],
)
def test_a_failed_payment_is_recognised_by_event_type_or_status(client: TestClient, fields):
    event = unified_event(2, failure_code="insufficient_funds") | fields
    assert strategy(client, event) is not None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # money: retry the same method after a day
        ("insufficient_funds", (True, DAY, "same_payment_method")),
        ("INSUFFICIENT_FUNDS", (True, DAY, "same_payment_method")),
        ("TRANSACTION_LIMIT", (True, DAY, "same_payment_method")),
        # a generic refusal: sooner, and fewer times (see the attempts test)
        ("card_declined", (True, 6 * HOUR, "same_payment_method")),
        ("do_not_honor", (True, 6 * HOUR, "same_payment_method")),
        ("CARD_DECLINED", (True, 6 * HOUR, "same_payment_method")),
        ("GENERIC_DECLINE", (True, 6 * HOUR, "same_payment_method")),
        # the issuer or network hiccuped: an hour
        ("processing_error", (True, HOUR, "same_payment_method")),
        ("TEMPORARY_ERROR", (True, HOUR, "same_payment_method")),
        # fraud: never
        ("fraudulent", (False, 0, "none")),
        ("stolen_card", (False, 0, "none")),
        ("lost_card", (False, 0, "none")),
        ("pickup_card", (False, 0, "none")),
        # the card must be fixed by the customer
        ("expired_card", (False, 0, "update_payment_method")),
        ("incorrect_cvc", (False, 0, "update_payment_method")),
        ("CVV_FAILURE", (False, 0, "update_payment_method")),
        ("CARD_EXPIRED", (False, 0, "update_payment_method")),
        # nothing says it cannot work: once, a day later
        ("something_new", (True, DAY, "same_payment_method")),
        (None, (True, DAY, "same_payment_method")),
    ],
)
def test_first_strategy_follows_the_decline_code_table(client: TestClient, code, expected):
    answer = strategy(client, failed(code))
    assert answer is not None
    assert (answer["should_retry"], answer["delay_seconds"], answer["method"]) == expected


@pytest.mark.parametrize(
    ("code", "retries", "first_delay"),
    [
        ("insufficient_funds", 4, DAY),
        ("card_declined", 2, 6 * HOUR),
        ("do_not_honor", 2, 6 * HOUR),
        ("processing_error", 3, HOUR),
        (None, 1, DAY),
    ],
)
def test_retries_back_off_then_ask_for_another_method(
    heuristic_client: TestClient, code, retries, first_delay
):
    """`customer_history.failed_payments` counts the failures so far (the recovery
    workflow passes its own failed tries): delays double, and the budget runs out."""
    delays = []
    for attempts in range(retries):
        answer = strategy(heuristic_client, failed(code, attempts))
        assert answer is not None and answer["should_retry"], (code, attempts, answer)
        assert answer["method"] == "same_payment_method"
        delays.append(answer["delay_seconds"])
    assert delays == [min(first_delay * 2**n, MAX_DELAY_SECONDS) for n in range(retries)]
    exhausted = strategy(heuristic_client, failed(code, retries))
    assert exhausted == {
        "should_retry": False,
        "delay_seconds": 0,
        "method": "request_new_payment_method",
    }


def test_soft_declines_get_fewer_attempts_than_insufficient_funds(heuristic_client: TestClient):
    def attempts_allowed(code: str) -> int:
        n = 0
        while (answer := strategy(heuristic_client, failed(code, n))) and answer["should_retry"]:
            n += 1
        return n

    assert 0 < attempts_allowed("card_declined") < attempts_allowed("insufficient_funds")
    assert attempts_allowed("fraudulent") == attempts_allowed("expired_card") == 0


def test_the_table_is_written_in_lower_case_since_codes_are_lower_cased_on_input():
    assert all(code == code.strip().lower() for code in DECLINE_KINDS)
