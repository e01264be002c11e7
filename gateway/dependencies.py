"""What the routers get injected: the app's settings, publisher, metrics and verifiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gateway.metrics import GatewayMetrics
from gateway.providers.base import Verifier
from gateway.publisher import Publisher
from gateway.settings import GatewaySettings


@dataclass
class GatewayState:
    """Everything a request needs, built once per app in `gateway.main.create_app`."""

    settings: GatewaySettings
    metrics: GatewayMetrics
    # None for a provider without a configured secret: its requests are all refused.
    verifiers: dict[str, Verifier | None]
    publisher: Publisher | None = None  # set by the lifespan (or given by a test)


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


def get_publisher(request: Request) -> Publisher:
    publisher = get_state(request).publisher
    if publisher is None:
        raise RuntimeError("the gateway's publisher is not started (lifespan not run?)")
    return publisher


StateDep = Annotated[GatewayState, Depends(get_state)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
