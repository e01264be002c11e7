from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from gateway.main import create_app
from gateway.settings import GatewaySettings
from loadgen.webhooks import Credentials
from tests.gateway.doubles import RecordingPublisher

# Drawn per run, as the platform's are: no committed value is ever a working secret.
STRIPE_SECRETS = (f"whsec_{secrets.token_urlsafe(24)}", f"whsec_{secrets.token_urlsafe(24)}")
SQUARE_KEY = secrets.token_urlsafe(24)
SQUARE_URL = "https://gateway.example.test/webhooks/square"


def simulator_credentials(
    stripe_secrets: tuple[str, ...] = STRIPE_SECRETS,
    square_key: str = SQUARE_KEY,
    square_url: str = SQUARE_URL,
) -> Credentials:
    """What the simulator signs with, matching the gateway it talks to."""
    return Credentials(
        stripe_webhook_secrets=SecretStr(",".join(stripe_secrets)),
        square_signature_key=SecretStr(square_key),
        square_notification_url=square_url,
    )


def gateway_settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "stripe_webhook_secrets": ",".join(STRIPE_SECRETS),
        "square_signature_key": SQUARE_KEY,
        "square_notification_url": SQUARE_URL,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def make_client(publisher: RecordingPublisher) -> Iterator[Callable[..., TestClient]]:
    """A TestClient on a fresh app (own metrics registry) with the recording publisher."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(gateway_settings(**overrides), publisher))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
