"""`GET /health` and `GET /metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inference.dependencies import StateDep
from inference.schemas import HealthResponse

router = APIRouter(tags=["ops"])


@router.get("/health")
def health(state: StateDep) -> HealthResponse:
    """Up, and which scorer answers (the model file was read at startup, or the heuristic)."""
    return HealthResponse(status="ok", model_version=state.scorer.version, scorer=state.scorer.kind)


@router.get("/metrics")
def metrics(state: StateDep) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
