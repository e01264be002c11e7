"""The inference service's HTTP API, as the activities use it."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from workflows.models import Event, ScoredEvent, StrategyAnswer
from workflows.scoring import (
    FALLBACK,
    FALLBACK_MODEL_VERSION,
    MODEL,
    ScoresContractViolation,
    fallback_scores,
    parse_batch_answer,
    parse_retry_strategy,
)

log = logging.getLogger(__name__)


class InferenceRejected(Exception):
    """The service refused our input (4xx): asking again will not help."""


class InferenceClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def score_events(self, events: list[Event]) -> list[ScoredEvent]:
        """Scores in input order. A batch the service refuses (422: some event in it is
        malformed) is split in halves until the refused events stand alone; those get the
        fallback's scores, so one bad event costs neither its batch's model scores nor its
        own result."""
        try:
            answer = parse_batch_answer(
                events, await self._post("/v1/score/batch", {"events": events})
            )
        except InferenceRejected as exc:
            if len(events) == 1:
                log.warning(
                    "event %s refused by inference (%s): fallback scores",
                    events[0]["event_id"],
                    exc,
                )
                return [ScoredEvent(fallback_scores(events[0]), FALLBACK_MODEL_VERSION, FALLBACK)]
            middle = len(events) // 2
            return await self.score_events(events[:middle]) + await self.score_events(
                events[middle:]
            )
        return [ScoredEvent(s, answer.model_version, MODEL) for s in answer.scores]

    async def retry_strategy(self, event: Event, failed_attempts: int) -> StrategyAnswer:
        # The recovery's own failed tries count as the customer's failed payments, so the
        # model can lengthen the delay (or give up) as they add up.
        payload = {**event, "customer_history": {"failed_payments": failed_attempts}}
        body = await self._post("/v1/retry-strategy", payload)
        if not isinstance(body, dict) or not isinstance(body.get("model_version"), str):
            raise ScoresContractViolation(f"retry-strategy answer without model_version: {body!r}")
        strategy = parse_retry_strategy(body.get("retry_strategy"))
        return StrategyAnswer(strategy=strategy, model_version=body["model_version"])

    async def _post(self, path: str, payload: dict[str, Any]) -> Any:
        """Transport errors and 5xx raise as retryable; a 4xx is our input's fault."""
        response = await self._http.post(path, json=payload)
        if 400 <= response.status_code < 500:
            raise InferenceRejected(
                f"{path} answered {response.status_code}: {response.text[:500]}"
            )
        response.raise_for_status()
        return response.json()
