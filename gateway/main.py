"""The ASGI app `gateway.main:app`: settings -> verifiers, metrics, Kafka publisher -> routes
(the webhooks' own fast path in front of the FastAPI app).

`app` is built from the environment at import; `create_app` builds others (tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from contracts.topics import INGESTION_DLQ
from gateway.dependencies import GatewayState, InFlight
from gateway.logs import gateway_logger
from gateway.metrics import GatewayMetrics
from gateway.providers import PROVIDERS
from gateway.publisher import KafkaPublisher, Publisher
from gateway.routers import ops, webhooks
from gateway.settings import GatewaySettings


def written_topics(settings: GatewaySettings) -> list[str]:
    return [settings.topic(t) for t in (*(p.raw_topic for p in PROVIDERS.values()), INGESTION_DLQ)]


def create_app(
    settings: GatewaySettings | None = None, publisher: Publisher | None = None
) -> webhooks.WebhookFastPath:
    """`publisher`: given by unit tests; by default a Kafka producer the lifespan owns.

    The FastAPI app behind the webhooks' fast path (gateway.routers.webhooks)."""
    settings = settings or GatewaySettings()
    state = GatewayState(
        settings=settings,
        metrics=GatewayMetrics(),
        verifiers={name: provider.verifier(settings) for name, provider in PROVIDERS.items()},
        in_flight=InFlight(settings.max_in_flight_requests),
        publisher=publisher,
    )
    log = gateway_logger()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for name, verifier in state.verifiers.items():
            if verifier is None:
                log.warning(f"no secret configured for {name}: all its webhooks are refused")
        owned = state.publisher is None
        if owned:
            state.publisher = KafkaPublisher(
                settings, written_topics(settings), on_restart=state.metrics.producer_restarts.inc
            )
        try:
            yield
        finally:
            if owned and state.publisher is not None:
                state.publisher.close()
                state.publisher = None

    # /docs, /redoc and /openapi.json only when GATEWAY_DOCS_ENABLED is set: the port faces
    # the providers, who need no map of it.
    docs = settings.docs_enabled
    app = FastAPI(
        title="paystream webhook gateway",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        # FastAPI's own OpenTelemetry hooks look up the global providers on every request;
        # the gateway exports no traces, metrics or logs through OpenTelemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = state
    app.include_router(webhooks.webhooks_router())
    app.include_router(ops.router)
    return webhooks.WebhookFastPath(app, state)


app = create_app()
