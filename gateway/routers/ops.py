"""Operational endpoints: liveness, readiness (Kafka reachable) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.dependencies import PublisherDep, StateDep
from gateway.publisher import PublishFailed

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (says nothing about Kafka or the secrets)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Kafka is not reachable"}})
async def ready(publisher: PublisherDep) -> JSONResponse:
    """Kafka answers a metadata request within a short timeout and has the gateway's topics."""
    try:
        detail = await publisher.ready()
    except PublishFailed as exc:
        return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "ready", "detail": detail})


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
