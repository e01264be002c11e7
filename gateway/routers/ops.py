"""Operational endpoints: liveness, readiness (Kafka can take writes) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.dependencies import GatewayState, PublisherDep, StateDep
from gateway.logs import gateway_logger
from gateway.publisher import NotReady

router = APIRouter(tags=["operations"])
log = gateway_logger()


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (says nothing about Kafka or the secrets)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Kafka cannot take writes now"}})
async def ready(state: StateDep, publisher: PublisherDep) -> JSONResponse:
    """The producer is usable, and Kafka answers a metadata request within a short timeout
    and has the gateway's topics. The answer gives a reason, never addresses or
    librdkafka's words: those go to the log."""
    try:
        detail = await publisher.ready()
    except NotReady as exc:
        note_readiness(state, exc)
        return JSONResponse({"status": "unavailable", "reason": exc.reason.value}, 503)
    note_readiness(state, None)
    return JSONResponse({"status": "ready", "detail": detail})


def note_readiness(state: GatewayState, problem: NotReady | None) -> None:
    """Logs a change of readiness (a probe every second would otherwise flood the log)."""
    now = None if problem is None else problem.detail
    if now == state.unready:
        return
    state.unready = now
    if problem is None:
        log.info("ready")
    else:
        fields = {"reason": problem.reason.value, "detail": problem.detail}
        log.warning("not ready", extra={"fields": fields})


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
