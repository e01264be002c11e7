"""`POST /webhooks/<provider>`, one route per registered provider.

In order: a slot among the requests in flight (else 503 at once), the provider must have
a secret configured (else 503: never fail open), the body must arrive in time (408) and
fit the limit (413), the signature must verify on the raw bytes (400); then the body goes
to the raw topic, or to the DLQ with a reason when it cannot be routed, and the answer
(202) waits for Kafka's delivery report (503 when Kafka does not take it).

Per request only counters are kept; a log line is written for every answer but an
accepted one (those too with GATEWAY_LOG_ACCEPTED), so the log says what went wrong.

Answers say what the client can act on; what went wrong inside (librdkafka's words,
broker addresses) goes to the request's log line only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from gateway.dependencies import GatewayState, PublisherDep, StateDep
from gateway.intake import (
    BadContentLength,
    BodyTooLarge,
    Route,
    check_declared_length,
    is_usable_request_id,
    read_limited,
    route,
)
from gateway.logs import gateway_logger
from gateway.metrics import Outcome
from gateway.providers import PROVIDERS
from gateway.providers.base import Provider, SignatureRejected
from gateway.publisher import Publisher, PublishFailed
from gateway.settings import GatewaySettings

log = gateway_logger()
WEBHOOKS_PREFIX = "/webhooks"


@dataclass(frozen=True)
class Answer:
    status: int
    outcome: Outcome
    body: dict[str, Any]
    error: str | None = None  # for the log line only
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    def __init__(
        self,
        status: int,
        outcome: Outcome,
        detail: str,
        error: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """`detail` is told to the client; `error`, the inside story, only logged."""
        super().__init__(detail)
        self.answer = Answer(status, outcome, {"detail": detail}, error, headers or {})


OVERLOADED = Answer(
    503,
    Outcome.OVERLOADED,
    {"detail": "too many requests in flight: retry later"},
    headers={"Retry-After": "1"},
)


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


def request_id_for(sent: str | None, provider: str) -> str:
    """The client's X-Request-Id when it has the bounded shape, else a new one."""
    if sent is not None and is_usable_request_id(sent):
        return sent
    generated = uuid.uuid4().hex
    if sent is not None:
        fields = {"request_id": generated, "provider": provider, "sent_length": len(sent)}
        log.warning("X-Request-Id replaced by a new one", extra={"fields": fields})
    return generated


async def read_signed_body(provider: Provider, request: Request, state: GatewayState) -> bytes:
    verifier = state.verifiers.get(provider.name)
    if verifier is None:
        raise Refused(503, Outcome.NOT_CONFIGURED, f"{provider.name} webhooks are not configured")
    body = await read_body(request, state.settings)
    try:
        verifier.verify(body, request.headers, time.time())
    except SignatureRejected as exc:
        raise Refused(400, Outcome.BAD_SIGNATURE, str(exc)) from None
    return body


async def read_body(request: Request, settings: GatewaySettings) -> bytes:
    """The whole body, within the size limit and the read timeout."""
    limit, timeout = settings.max_body_bytes, settings.body_read_timeout_seconds
    try:
        check_declared_length(request.headers.get("content-length"), limit)
        async with asyncio.timeout(timeout):
            return await read_limited(request.stream(), limit)
    except TimeoutError:
        detail = f"the body did not arrive within {timeout:g}s"
        # The rest of the body may still come: close rather than read it as a next request.
        raise Refused(408, Outcome.BODY_TIMEOUT, detail, headers={"Connection": "close"}) from None
    except BodyTooLarge as exc:
        raise Refused(413, Outcome.TOO_LARGE, str(exc)) from None
    except BadContentLength as exc:
        raise Refused(400, Outcome.BAD_REQUEST, str(exc)) from None
    except ClientDisconnect:
        # Nobody hears the answer; it is only logged (a crash would be a 500 traceback).
        raise Refused(400, Outcome.BAD_REQUEST, "the client went away mid-body") from None


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
        detail = "the event could not be stored: retry later"
        raise Refused(503, Outcome.UNAVAILABLE, detail, error=str(exc)) from None


async def receive(
    provider: Provider,
    request: Request,
    state: GatewayState,
    publisher: Publisher,
    delivery: Delivery,
) -> Answer:
    try:
        body = await read_signed_body(provider, request, state)
        target = route(provider, body)
        await write(publisher, state, target, body, delivery)
    except Refused as refused:
        return refused.answer
    if target.reason is None:
        return Answer(202, Outcome.ACCEPTED, {"status": "accepted"})
    answer = {"status": "dead_lettered", "reason": target.reason.value, "detail": target.detail}
    return Answer(202, Outcome.DLQ, answer)


async def receive_in_slot(
    provider: Provider,
    request: Request,
    state: GatewayState,
    publisher: Publisher,
    delivery: Delivery,
) -> Answer:
    """`receive`, or 503 at once when max_in_flight_requests are being handled already."""
    if not state.in_flight.try_enter():
        return OVERLOADED
    try:
        return await receive(provider, request, state, publisher, delivery)
    finally:
        state.in_flight.leave()


def webhook_endpoint(provider: Provider) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, state: StateDep, publisher: PublisherDep) -> Response:
        started = time.perf_counter()
        request_id = request_id_for(request.headers.get("x-request-id"), provider.name)
        delivery = Delivery(provider.name, request_id, rfc3339_now())
        answer = await receive_in_slot(provider, request, state, publisher, delivery)
        elapsed = time.perf_counter() - started
        state.metrics.requests.labels(provider.name, answer.outcome.value).inc()
        state.metrics.latency.labels(provider.name).observe(elapsed)
        if answer.outcome is not Outcome.ACCEPTED or state.settings.log_accepted:
            log_request(answer, request_id, provider.name, elapsed)
        return Response(
            orjson.dumps({"request_id": request_id, **answer.body}),
            status_code=answer.status,
            headers={**answer.headers, "X-Request-Id": request_id},
            media_type="application/json",
        )

    endpoint.__name__ = f"receive_{provider.name}_webhook"
    endpoint.__doc__ = f"Receives a signed {provider.name} webhook and writes it to Kafka."
    return endpoint


def log_request(answer: Answer, request_id: str, provider: str, elapsed: float) -> None:
    fields = {
        "request_id": request_id,
        "provider": provider,
        "outcome": answer.outcome.value,
        "status": answer.status,
        "latency_ms": round(elapsed * 1000, 2),
        "reason": answer.body.get("reason"),
        "detail": answer.body.get("detail"),
        "error": answer.error,
    }
    log.info("webhook", extra={"fields": fields})


RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "In Kafka: the raw topic, or the DLQ with a reason"},
    400: {"description": "Missing or wrong signature, or a stale timestamp"},
    408: {"description": "The body did not arrive in time"},
    413: {"description": "Body over the size limit"},
    503: {
        "description": "Kafka did not take the write, too many requests in flight, or no "
        "secret configured: retry"
    },
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class WebhookFastPath:
    """The ASGI app in front of FastAPI: `POST /webhooks/<provider>` goes straight to its
    endpoint, everything else (and the OpenAPI description of the same routes) through
    FastAPI. Per webhook, FastAPI's middleware layers, routing and dependency solving cost
    about three times what the gateway's own work does (verify, route, produce); an
    exception here still answers 500, from uvicorn instead of Starlette."""

    def __init__(self, app: FastAPI, state: GatewayState) -> None:
        self.app = app
        # Not `state`: that name stays the FastAPI app's (`app.state.gateway`), as before.
        self.gateway_state = state
        self.endpoints = {
            f"{WEBHOOKS_PREFIX}/{name}": webhook_endpoint(provider)
            for name, provider in PROVIDERS.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoints.get(scope["path"]) if scope["type"] == "http" else None
        state = self.gateway_state
        if endpoint is None or scope["method"] != "POST" or state.publisher is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        response = await endpoint(Request(scope, receive), state, state.publisher)
        await response(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        # `state`, `openapi`, `routes`...: the FastAPI app's, for tests and tools.
        return getattr(self.app, name)


def webhooks_router() -> APIRouter:
    router = APIRouter(prefix=WEBHOOKS_PREFIX, tags=["webhooks"])
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
