"""The inference client against a scripted service: 4xx splitting and error kinds."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from workflows.inference_client import InferenceClient, InferenceRejected
from workflows.scoring import ScoresContractViolation


def scripted_service(calls: list[int]) -> httpx.MockTransport:
    """Refuses (422) any batch holding an event whose amount_minor is not an integer."""

    def handle(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        calls.append(len(events))
        if any(not isinstance(e.get("amount_minor"), int) for e in events):
            return httpx.Response(422, json={"detail": "amount_minor must be an integer"})
        results = [
            {
                "event_id": e["event_id"],
                "fraud_score": e["amount_minor"] / 1000,
                "risk_level": "low",
                "churn_score": 0.1,
                "retry_strategy": None,
            }
            for e in events
        ]
        return httpx.Response(200, json={"model_version": "m1", "results": results})

    return httpx.MockTransport(handle)


def score(events: list[dict], transport: httpx.MockTransport):
    async def run():
        async with httpx.AsyncClient(transport=transport, base_url="http://inference") as http:
            return await InferenceClient(http).score_events(events)

    return asyncio.run(run())


def test_a_refused_event_gets_the_fallback_and_its_batch_keeps_the_model():
    events = [{"event_id": f"e{n}", "amount_minor": n} for n in range(8)]
    events[5]["amount_minor"] = "12.5"
    calls: list[int] = []
    scored = score(events, scripted_service(calls))
    assert [s.scores.event_id for s in scored] == [f"e{n}" for n in range(8)]
    assert [s.score_source for s in scored] == ["model"] * 5 + ["fallback"] + ["model"] * 2
    assert scored[5].model_version == "fallback" and scored[4].model_version == "m1"
    assert scored[3].scores.fraud_score == 0.003
    assert calls[0] == 8 and len(calls) < 2 * 8  # halving, not one call per event


def test_a_broken_answer_is_a_contract_violation_and_other_4xx_a_rejection():
    def wrong(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"model_version": "m1", "results": []})

    with pytest.raises(ScoresContractViolation):
        score([{"event_id": "e1"}], httpx.MockTransport(wrong))

    async def strategy():
        transport = httpx.MockTransport(lambda request: httpx.Response(404))
        async with httpx.AsyncClient(transport=transport, base_url="http://inference") as http:
            await InferenceClient(http).retry_strategy({"event_id": "e1"}, 0)

    with pytest.raises(InferenceRejected):
        asyncio.run(strategy())


def test_server_errors_are_left_to_the_retry_policy():
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    with pytest.raises(httpx.HTTPStatusError):
        score([{"event_id": "e1", "amount_minor": 1}], transport)
