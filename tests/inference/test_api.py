"""The HTTP API through the real app (FastAPI TestClient), with both scorers: shapes,
ranges, determinism, batch order and limits, 422s and metrics."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from inference.schemas import MAX_BATCH_EVENTS
from inference.scoring import HIGH_RISK_FROM, MEDIUM_RISK_FROM
from tests.inference.events import unified_event, varied_events

SINGLE_ENDPOINTS = ("/v1/fraud-score", "/v1/churn-score", "/v1/retry-strategy")
RETRY_KEYS = {"should_retry", "delay_seconds", "method"}


def expected_risk_level(score: float) -> str:
    if score >= HIGH_RISK_FROM:
        return "high"
    return "medium" if score >= MEDIUM_RISK_FROM else "low"


def assert_retry_strategy_shape(strategy: object) -> None:
    if strategy is None:
        return
    assert isinstance(strategy, dict) and set(strategy) == RETRY_KEYS
    assert isinstance(strategy["should_retry"], bool)
    assert isinstance(strategy["delay_seconds"], int) and strategy["delay_seconds"] >= 0
    assert isinstance(strategy["method"], str) and strategy["method"]


def test_health_names_the_scorer_and_its_version(client: TestClient):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["scorer"] in ("heuristic", "model")
    assert body["model_version"].startswith(
        "heuristic-1" if body["scorer"] == "heuristic" else "logreg-1-"
    )


def test_single_endpoints_answer_the_documented_shapes_and_ranges(client: TestClient):
    version = client.get("/health").json()["model_version"]
    risk_levels = set()
    for event in varied_events(60):
        fraud = client.post("/v1/fraud-score", json=event)
        churn = client.post("/v1/churn-score", json=event)
        retry = client.post("/v1/retry-strategy", json=event)
        assert (fraud.status_code, churn.status_code, retry.status_code) == (200, 200, 200)

        assert set(fraud.json()) == {"event_id", "model_version", "fraud_score", "risk_level"}
        assert set(churn.json()) == {"event_id", "model_version", "churn_score"}
        assert set(retry.json()) == {"event_id", "model_version", "retry_strategy"}
        for answer in (fraud.json(), churn.json(), retry.json()):
            assert answer["event_id"] == event["event_id"]
            assert answer["model_version"] == version
        score = fraud.json()["fraud_score"]
        assert 0 <= score <= 1 and 0 <= churn.json()["churn_score"] <= 1
        assert fraud.json()["risk_level"] == expected_risk_level(score)
        risk_levels.add(fraud.json()["risk_level"])
        assert_retry_strategy_shape(retry.json()["retry_strategy"])
    # The spread of events reaches more than one level (the scores are not constant).
    assert len(risk_levels) >= 2


def test_batch_answers_in_input_order_and_agrees_with_the_single_endpoints(client: TestClient):
    events = varied_events(40)[::-1]  # not sorted by event_id
    response = client.post("/v1/score/batch", json={"events": events})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"model_version", "results"}
    assert body["model_version"] == client.get("/health").json()["model_version"]
    assert [r["event_id"] for r in body["results"]] == [e["event_id"] for e in events]
    for event, result in zip(events, body["results"], strict=True):
        assert set(result) == {
            "event_id",
            "fraud_score",
            "risk_level",
            "churn_score",
            "retry_strategy",
        }
        fraud = client.post("/v1/fraud-score", json=event).json()
        churn = client.post("/v1/churn-score", json=event).json()
        retry = client.post("/v1/retry-strategy", json=event).json()
        assert result["fraud_score"] == fraud["fraud_score"]
        assert result["risk_level"] == fraud["risk_level"]
        assert result["churn_score"] == churn["churn_score"]
        assert result["retry_strategy"] == retry["retry_strategy"]


def test_the_same_input_gets_the_same_answer_from_the_same_and_from_a_new_app(
    client: TestClient, heuristic_client: TestClient
):
    events = varied_events(30)
    first = client.post("/v1/score/batch", json={"events": events}).json()
    second = client.post("/v1/score/batch", json={"events": events}).json()
    assert first == second
    # A repeated event in one batch is scored the same each time.
    twice = client.post("/v1/score/batch", json={"events": [events[3], events[3]]}).json()
    assert twice["results"][0] == twice["results"][1] == first["results"][3]
    if first["model_version"] == "heuristic-1":
        assert heuristic_client.post("/v1/score/batch", json={"events": events}).json() == first


def test_batch_size_is_limited_to_1_to_1000_events(heuristic_client: TestClient):
    event = unified_event(1)
    full = [event | {"event_id": f"e{n}"} for n in range(MAX_BATCH_EVENTS)]
    ok = heuristic_client.post("/v1/score/batch", json={"events": full})
    assert ok.status_code == 200 and len(ok.json()["results"]) == MAX_BATCH_EVENTS

    too_many = heuristic_client.post("/v1/score/batch", json={"events": [*full, event]})
    assert too_many.status_code == 422
    assert "events" in too_many.json()["message"] and "1000" in too_many.json()["message"]

    empty = heuristic_client.post("/v1/score/batch", json={"events": []})
    assert empty.status_code == 422 and "at least 1" in empty.json()["message"]


BAD_EVENTS = [
    pytest.param({"event_id": "e", "amount_minor": -1}, "amount_minor", id="negative-amount"),
    pytest.param({"event_id": "e", "amount_minor": 12.5}, "amount_minor", id="fractional-amount"),
    pytest.param({"event_id": "e", "amount_minor": "1250"}, "amount_minor", id="string-amount"),
    pytest.param({"event_id": "e", "amount_minor": True}, "amount_minor", id="boolean-amount"),
    pytest.param({"event_id": "e", "currency": "US"}, "currency", id="two-letter-currency"),
    pytest.param({"event_id": "e", "currency": "U$D"}, "currency", id="symbol-in-currency"),
    pytest.param({"event_id": "e", "currency": "840"}, "currency", id="numeric-currency"),
    pytest.param({"event_id": "e", "currency": 840}, "currency", id="currency-not-a-string"),
    pytest.param({"amount_minor": 100}, "event_id", id="no-event-id"),
    pytest.param({"event_id": "  "}, "event_id", id="blank-event-id"),
    pytest.param({"event_id": None}, "event_id", id="null-event-id"),
    pytest.param({"event_id": "e", "status": "x" * 201}, "status", id="overlong-string"),
    pytest.param(
        {"event_id": "e", "customer_history": {"payments": -2}}, "payments", id="negative-count"
    ),
    pytest.param(
        {"event_id": "e", "customer_history": {"failed_payment": 1}},
        "failed_payment",
        id="misspelt-history-counter",
    ),
    pytest.param(
        {"event_id": "e", "customer_history": [1, 2]}, "customer_history", id="history-list"
    ),
]


@pytest.mark.parametrize(("event", "field"), BAD_EVENTS)
@pytest.mark.parametrize("endpoint", SINGLE_ENDPOINTS)
def test_bad_events_get_422_naming_the_field(
    heuristic_client: TestClient, endpoint: str, event: dict, field: str
):
    response = heuristic_client.post(endpoint, json=event)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["message"].startswith("invalid input: ") and field in body["message"]
    assert any(field in map(str, error["loc"]) for error in body["detail"])


@pytest.mark.parametrize(("event", "field"), BAD_EVENTS)
def test_one_bad_event_rejects_its_batch_naming_its_position(
    heuristic_client: TestClient, event: dict, field: str
):
    events = [unified_event(0), unified_event(1), event]
    response = heuristic_client.post("/v1/score/batch", json={"events": events})
    assert response.status_code == 422
    assert "events.2" in response.json()["message"] and field in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([{"event_id": "e"}], id="list-not-object"),
        pytest.param({"events": {"event_id": "e"}}, id="events-not-a-list"),
        pytest.param({"events": [{"event_id": "e"}], "extra": 1}, id="unknown-batch-key"),
        pytest.param({}, id="no-events"),
    ],
)
def test_malformed_batches_get_422(heuristic_client: TestClient, body: object):
    response = heuristic_client.post("/v1/score/batch", json=body)
    assert response.status_code == 422
    assert response.json()["message"].startswith("invalid input: ")


def test_a_body_that_is_not_json_gets_422(heuristic_client: TestClient):
    response = heuristic_client.post(
        "/v1/fraud-score", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["message"]


def test_unknown_and_unread_event_fields_are_ignored(client: TestClient):
    event = unified_event(4)
    bare = {k: event[k] for k in ("event_id", "event_type", "status", "amount_minor", "currency")}
    bare |= {k: event[k] for k in ("payment_method_type", "card_brand", "provider")}
    full = client.post("/v1/score/batch", json={"events": [event | {"new_column": [1]}]})
    minimal = client.post("/v1/score/batch", json={"events": [bare]})
    assert full.status_code == minimal.status_code == 200
    assert full.json() == minimal.json()


def test_only_event_id_is_required(client: TestClient):
    response = client.post("/v1/score/batch", json={"events": [{"event_id": "only-id"}]})
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["event_id"] == "only-id" and result["retry_strategy"] is None


def test_currency_case_and_whitespace_do_not_change_the_scores(client: TestClient):
    upper = client.post("/v1/fraud-score", json=unified_event(2, currency="EUR")).json()
    lower = client.post("/v1/fraud-score", json=unified_event(2, currency=" eur ")).json()
    assert upper == lower


def test_amounts_are_compared_in_major_units_of_their_currency(heuristic_client: TestClient):
    """1000 minor units: 10.00 USD, 1000 JPY (no minor units), 1.000 BHD (three)."""

    def fraud(currency: str) -> float:
        event = unified_event(0, amount_minor=1000, currency=currency)
        return float(heuristic_client.post("/v1/fraud-score", json=event).json()["fraud_score"])

    assert fraud("BHD") < fraud("USD") < fraud("JPY")


def metric_samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    samples = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_by_endpoint_and_status_and_scored_events(
    heuristic_client: TestClient,
):
    events = varied_events(7)
    for event in events[:3]:
        heuristic_client.post("/v1/fraud-score", json=event)
    heuristic_client.post("/v1/score/batch", json={"events": events})
    heuristic_client.post("/v1/churn-score", json={"event_id": "e", "amount_minor": -1})
    heuristic_client.get("/no-such-path")

    samples = metric_samples(heuristic_client)
    requests = "inference_requests_total"
    fraud_ok = {"endpoint": "/v1/fraud-score", "method": "POST", "status": "200"}
    assert sample(samples, requests, **fraud_ok) == 3
    batch_ok = {"endpoint": "/v1/score/batch", "method": "POST", "status": "200"}
    assert sample(samples, requests, **batch_ok) == 1
    churn_bad = {"endpoint": "/v1/churn-score", "method": "POST", "status": "422"}
    assert sample(samples, requests, **churn_bad) == 1
    assert sample(samples, requests, endpoint="unmatched", method="GET", status="404") == 1

    scored = "inference_scored_events_total"
    assert sample(samples, scored, endpoint="/v1/score/batch") == len(events)
    assert sample(samples, scored, endpoint="/v1/fraud-score") == 3
    assert sample(samples, scored, endpoint="/v1/churn-score") == 0  # the 422 scored nothing
    assert (
        sample(samples, "inference_request_duration_seconds_count", endpoint="/v1/fraud-score") == 3
    )
    assert sample(samples, "inference_model_info", model_version="heuristic-1") == 1


def test_each_app_has_its_own_metrics(heuristic_client: TestClient, model_client: TestClient):
    heuristic_client.post("/v1/fraud-score", json=unified_event(1))
    labels = {"endpoint": "/v1/fraud-score", "method": "POST", "status": "200"}
    assert sample(metric_samples(heuristic_client), "inference_requests_total", **labels) == 1
    assert sample(metric_samples(model_client), "inference_requests_total", **labels) == 0
