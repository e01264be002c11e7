"""Sends simulated webhooks to the gateway, signed as the providers sign them.

Open loop: request i is due at start + i / rate whatever the gateway is doing, with at
most `concurrency` requests in flight (a request that has to wait for a free slot is
sent late, and its latency counts from when it was due).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.providers.square import sign_square
from gateway.providers.stripe import sign_stripe
from gateway.settings import LOCAL_SECRETS_FILE
from loadgen.webhooks.events import SimEvent

WRONG_SECRET = "whsec_not_the_endpoint_secret"
REQUEST_TIMEOUT = 10.0


class Credentials(BaseSettings):
    """The secrets the gateway checks, from the environment or else the file `make up`
    generates (`.run/secrets/gateway.env`), as the platform's gateway reads it."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_file=LOCAL_SECRETS_FILE, extra="ignore", frozen=True
    )

    stripe_webhook_secrets: SecretStr
    square_signature_key: SecretStr
    square_notification_url: str

    @property
    def stripe_secret(self) -> str:
        """The first configured secret: the one Stripe signs with now."""
        return self.stripe_webhook_secrets.get_secret_value().split(",")[0].strip()


def signature_headers(event: SimEvent, credentials: Credentials, now: int) -> dict[str, str]:
    """Signed at send time, so a redelivery has a fresh Stripe timestamp."""
    wrong = not event.signed_correctly
    if event.provider == "stripe":
        secret = WRONG_SECRET if wrong else credentials.stripe_secret
        return sign_stripe(event.body, (secret,), now)
    key = WRONG_SECRET if wrong else credentials.square_signature_key.get_secret_value()
    return sign_square(event.body, key, credentials.square_notification_url)


@dataclass(frozen=True)
class Outcome:
    index: int
    event: SimEvent
    request_id: str
    status: int | None  # None: no answer (connection error or timeout)
    error: str | None
    latency_ms: float  # from when the request was due

    @property
    def as_expected(self) -> bool:
        return self.status == self.event.expected_status


async def post_one(
    client: httpx.AsyncClient,
    index: int,
    event: SimEvent,
    credentials: Credentials,
    due: float,
    run_id: str,
) -> Outcome:
    request_id = f"sim-{run_id}-{index}"
    headers = {
        "Content-Type": "application/json",
        "X-Request-Id": request_id,
        **signature_headers(event, credentials, int(time.time())),
    }
    try:
        response = await client.post(
            f"/webhooks/{event.provider}", content=event.body, headers=headers
        )
        status, error = response.status_code, None
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"
    latency_ms = (time.perf_counter() - due) * 1000
    return Outcome(index, event, request_id, status, error, latency_ms)


async def post_events(
    events: Sequence[SimEvent],
    url: str,
    credentials: Credentials | None = None,
    rate: float = 50.0,
    concurrency: int = 32,
    run_id: str = "run",
    on_outcome: Callable[[Outcome], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Outcome]:
    """Sends `events` in order at `rate` per second; one Outcome per event, in order.
    Request ids are `sim-<run_id>-<index>`. `transport`: e.g. an ASGI app in tests."""
    credentials = credentials or Credentials()  # type: ignore[call-arg]
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, timeout=REQUEST_TIMEOUT, limits=limits, transport=transport
    ) as client:
        start = time.perf_counter()

        async def send(index: int, event: SimEvent, due: float) -> Outcome:
            try:
                outcome = await post_one(client, index, event, credentials, due, run_id)
            finally:
                slots.release()
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        tasks = []
        for index, event in enumerate(events):
            due = start + index / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await slots.acquire()
            tasks.append(asyncio.create_task(send(index, event, due)))
        return [await task for task in tasks]
