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
class InFlight:
    """Webhook requests being handled: at most `limit`, the rest are refused at once.

    A plain counter is enough: requests run on one event loop thread."""

    limit: int
    count: int = 0

    def try_enter(self) -> bool:
        if self.count >= self.limit:
            return False
        self.count += 1
        return True

    def leave(self) -> None:
        self.count -= 1


@dataclass
class GatewayState:
    """Everything a request needs, built once per app in `gateway.main.create_app`."""

    settings: GatewaySettings
    metrics: GatewayMetrics
    # None for a provider without a configured secret: its requests are all refused.
    verifiers: dict[str, Verifier | None]
    in_flight: InFlight
    publisher: Publisher | None = None  # set by the lifespan (or given by a test)
    # What /ready last found wrong (None: ready), so that a change is logged, not each probe.
    unready: str | None = None


# Both are `async def` on purpose: FastAPI runs a plain `def` dependency in its thread
# pool, two thread hand-offs per request that cost more than the rest of the routing.
async def get_state(request: Request) -> GatewayState:
    return state_of(request)


async def get_publisher(request: Request) -> Publisher:
    publisher = state_of(request).publisher
    if publisher is None:
        raise RuntimeError("the gateway's publisher is not started (lifespan not run?)")
    return publisher


def state_of(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


StateDep = Annotated[GatewayState, Depends(get_state)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
