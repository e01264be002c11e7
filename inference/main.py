"""The ASGI app `inference.main:app`: settings -> scorer (model file or heuristic),
metrics -> routes.

`app` is built from the environment at import; `create_app` builds others (tests).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.routing import Route

from inference import errors
from inference.dependencies import InferenceState
from inference.metrics import UNMATCHED, InferenceMetrics
from inference.model_file import load_scorer
from inference.routers import ops, scoring
from inference.settings import InferenceSettings

log = logging.getLogger("inference")


def _endpoint(request: Request) -> str:
    """The matched route's path template (after the call, when routing has run)."""
    route = request.scope.get("route")
    return route.path if isinstance(route, Route) else UNMATCHED


def _instrument(app: FastAPI, metrics: InferenceMetrics) -> None:
    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        endpoint = _endpoint(request)
        metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)
        metrics.requests.labels(
            endpoint=endpoint, method=request.method, status=str(response.status_code)
        ).inc()
        return response


def create_app(settings: InferenceSettings | None = None) -> FastAPI:
    settings = settings or InferenceSettings()
    # Read once, at startup: a broken model file stops the service here, loudly.
    scorer = load_scorer(settings.model_path)
    log.info("scoring with %s (%s)", scorer.version, scorer.kind)
    metrics = InferenceMetrics(scorer.version)
    app = FastAPI(title="paystream inference", version=scorer.version)
    app.state.inference = InferenceState(scorer=scorer, metrics=metrics)
    errors.install(app)
    _instrument(app, metrics)
    app.include_router(scoring.router)
    app.include_router(ops.router)
    return app


app = create_app()
