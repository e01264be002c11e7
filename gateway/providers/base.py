"""What every provider module supplies: how its requests are verified and routed.

A provider is one module that builds a `Provider` and one line in `gateway.providers`'
registry. The module also holds the provider's signing function, so the simulator signs
with the very scheme the gateway verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.topics import WEBHOOK_RAW_TOPICS
from gateway.settings import GatewaySettings


class SignatureRejected(Exception):
    """The request is not signed by the provider (missing, wrong or stale signature)."""


class MissingRoutingField(Exception):
    """The event lacks a field the gateway needs to route it (its id, type or merchant)."""


class Verifier(Protocol):
    def verify(self, body: bytes, headers: Mapping[str, str], now: float) -> None:
        """Returns when `body` is signed by the provider, else raises SignatureRejected."""


@dataclass(frozen=True)
class Provider:
    name: str
    # The headers that carry the signature, as the provider names them (for docs and logs).
    signature_headers: tuple[str, ...]
    # Builds the verifier from the settings; None when the provider has no secret configured.
    verifier: Callable[[GatewaySettings], Verifier | None]
    # The Kafka key of a parsed event (merchant / account); raises MissingRoutingField.
    routing_key: Callable[[dict[str, Any]], str]

    @property
    def raw_topic(self) -> str:
        return WEBHOOK_RAW_TOPICS[self.name]


def required_string(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise MissingRoutingField(f"no string {name!r}")
    return value
