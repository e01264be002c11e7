"""The console's ASGI app: settings -> sources (Prometheus, Flink REST, Trino) -> routes.

`GET /` the page, `GET /api/view` the same numbers as JSON, `GET /healthz` the console
itself. A source that does not answer shows as unavailable in its section; the routes
answer 200 whatever the sources do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import httpx
import jinja2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from flink_jobs.registry import registered_jobs
from observability.console.gather import (
    ConsoleView,
    Sources,
    gather_view,
    quarantine_tables,
    trino_query,
    watched_groups,
)
from observability.console.render import environment, render_page, view_json
from observability.console.settings import ConsoleSettings
from observability.prometheus import PrometheusClient

# Every answer is the platform now: never from a cache.
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class ConsoleState:
    """Built once per app in `create_app`."""

    settings: ConsoleSettings
    sources: Sources
    templates: jinja2.Environment
    owned_clients: tuple[httpx.Client, ...] = ()


def platform_sources(settings: ConsoleSettings) -> tuple[Sources, tuple[httpx.Client, ...]]:
    """The running platform's sources, and the HTTP clients the app must close."""
    timeout = httpx.Timeout(settings.http_timeout_seconds)
    prometheus_http = httpx.Client(timeout=timeout)
    flink_http = httpx.Client(base_url=settings.flink_url, timeout=timeout)
    sources = Sources(
        prometheus=PrometheusClient(settings.prometheus_url, client=prometheus_http),
        flink=flink_http,
        trino=trino_query(settings.lakehouse),
        lakehouse=settings.lakehouse,
        groups=watched_groups(),
        registered_jobs=list(registered_jobs()),
        quarantine_tables=quarantine_tables(),
    )
    return sources, (prometheus_http, flink_http)


def get_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def get_view(request: Request) -> ConsoleView:
    state = get_state(request)
    return gather_view(state.sources, state.settings)


StateDep = Annotated[ConsoleState, Depends(get_state)]
ViewDep = Annotated[ConsoleView, Depends(get_view)]

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def page(state: StateDep, view: ViewDep) -> HTMLResponse:
    html = render_page(state.templates, view, refresh_seconds=state.settings.refresh_seconds)
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/api/view")
def api_view(view: ViewDep) -> JSONResponse:
    return JSONResponse(view_json(view), headers=NO_STORE)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The console answers; whether its sources do is what the page shows."""
    return {"status": "ok"}


def create_app(settings: ConsoleSettings | None = None, sources: Sources | None = None) -> FastAPI:
    """`sources`: given by tests; by default the platform's, whose clients the app closes."""
    settings = settings or ConsoleSettings()
    owned: tuple[httpx.Client, ...] = ()
    if sources is None:
        sources, owned = platform_sources(settings)
    state = ConsoleState(settings, sources, environment(), owned)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for client in state.owned_clients:
                client.close()

    app = FastAPI(
        title="paystream console",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.console = state
    app.include_router(router)
    return app
