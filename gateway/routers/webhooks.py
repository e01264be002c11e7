"""`POST /webhooks/<provider>`, one route per registered provider.

In order: the provider must have a secret configured (else 503: never fail open), the
body must fit the limit (413), the signature must verify on the raw bytes (400); then the
body goes to the raw topic, or to the DLQ with a reason when it cannot be routed, and the
answer (202) waits for Kafka's delivery report (503 when Kafka does not take it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.dependencies import GatewayState, PublisherDep, StateDep
from gateway.intake import (
    BadContentLength,
    BodyTooLarge,
    Route,
    check_declared_length,
    read_limited,
    route,
)
from gateway.logs import gateway_logger
from gateway.metrics import Outcome
from gateway.providers import PROVIDERS
from gateway.providers.base import Provider, SignatureRejected
from gateway.publisher import Publisher, PublishFailed

log = gateway_logger()


class Refused(Exception):
    def __init__(self, status: int, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True)
class Delivery:
    """Who sent what and when, as the Kafka headers tell it."""

    provider: str
    request_id: str
    received_at: str

    def headers(self, reason: str | None) -> list[tuple[str, bytes]]:
        headers = [
            ("provider", self.provider.encode()),
            ("received_at", self.received_at.encode()),
            ("request_id", self.request_id.encode()),
        ]
        if reason is not None:
            headers.append(("reason", reason.encode()))
        return headers


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def read_signed_body(provider: Provider, request: Request, state: GatewayState) -> bytes:
    verifier = state.verifiers.get(provider.name)
    if verifier is None:
        raise Refused(503, Outcome.NOT_CONFIGURED, f"{provider.name} webhooks are not configured")
    limit = state.settings.max_body_bytes
    try:
        check_declared_length(request.headers.get("content-length"), limit)
        body = await read_limited(request.stream(), limit)
    except BodyTooLarge as exc:
        raise Refused(413, Outcome.TOO_LARGE, str(exc)) from None
    except BadContentLength as exc:
        raise Refused(400, Outcome.BAD_REQUEST, str(exc)) from None
    try:
        verifier.verify(body, request.headers, time.time())
    except SignatureRejected as exc:
        raise Refused(400, Outcome.BAD_SIGNATURE, str(exc)) from None
    return body


async def write(
    publisher: Publisher, state: GatewayState, target: Route, body: bytes, delivery: Delivery
) -> None:
    topic = state.settings.topic(target.topic)
    key = target.key if target.key is not None else delivery.request_id
    reason = target.reason.value if target.reason is not None else None
    try:
        await publisher.publish(topic, key, body, delivery.headers(reason))
    except PublishFailed as exc:
        state.metrics.produce_failures.labels(topic=target.topic).inc()
        raise Refused(503, Outcome.UNAVAILABLE, f"Kafka did not take the event: {exc}") from None


async def receive(
    provider: Provider,
    request: Request,
    state: GatewayState,
    publisher: Publisher,
    delivery: Delivery,
) -> tuple[int, Outcome, dict[str, Any]]:
    try:
        body = await read_signed_body(provider, request, state)
        target = route(provider, body)
        await write(publisher, state, target, body, delivery)
    except Refused as refused:
        return refused.status, refused.outcome, {"detail": refused.detail}
    if target.reason is None:
        return 202, Outcome.ACCEPTED, {"status": "accepted"}
    answer = {"status": "dead_lettered", "reason": target.reason.value, "detail": target.detail}
    return 202, Outcome.DLQ, answer


def webhook_endpoint(provider: Provider) -> Callable[..., Awaitable[JSONResponse]]:
    async def endpoint(request: Request, state: StateDep, publisher: PublisherDep) -> JSONResponse:
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        delivery = Delivery(provider.name, request_id, rfc3339_now())
        status, outcome, answer = await receive(provider, request, state, publisher, delivery)
        elapsed = time.perf_counter() - started
        state.metrics.requests.labels(provider=provider.name, outcome=outcome.value).inc()
        state.metrics.latency.labels(provider=provider.name).observe(elapsed)
        fields = {
            "request_id": request_id,
            "provider": provider.name,
            "outcome": outcome.value,
            "status": status,
            "latency_ms": round(elapsed * 1000, 2),
            "reason": answer.get("reason"),
            "detail": answer.get("detail"),
        }
        log.info("webhook", extra={"fields": fields})
        return JSONResponse(
            {"request_id": request_id, **answer},
            status_code=status,
            headers={"X-Request-Id": request_id},
        )

    endpoint.__name__ = f"receive_{provider.name}_webhook"
    endpoint.__doc__ = f"Receives a signed {provider.name} webhook and writes it to Kafka."
    return endpoint


RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "In Kafka: the raw topic, or the DLQ with a reason"},
    400: {"description": "Missing or wrong signature, or a stale timestamp"},
    413: {"description": "Body over the size limit"},
    503: {"description": "Kafka did not take the write, or no secret configured: retry"},
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def webhooks_router() -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["webhooks"])
    for provider in PROVIDERS.values():
        router.add_api_route(
            f"/{provider.name}",
            webhook_endpoint(provider),
            methods=["POST"],
            status_code=202,
            responses=RESPONSES,
            openapi_extra=REQUEST_BODY,
        )
    return router
