"""Waiting out an unreachable Temporal or Kafka: a capped exponential backoff, and a
Temporal connect that retries with it instead of letting the process die."""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.runtime import Runtime

log = logging.getLogger("workflows.reconnect")


class Backoff:
    """Pauses that double from `initial` up to `maximum`; `reset` after a success."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return min(self.initial * 2 ** (self.failures - 1), self.maximum)

    def reset(self) -> None:
        self.failures = 0


async def connect_temporal(
    address: str, namespace: str, backoff: Backoff, runtime: Runtime | None = None
) -> Client:
    """Connects, waiting as long as it takes for the server to come up."""
    while True:
        try:
            client = await Client.connect(address, namespace=namespace, runtime=runtime)
        except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
            delay = backoff.next_delay()
            log.warning(
                "temporal unreachable address=%s failures=%d retry_in=%.1fs: %s",
                address,
                backoff.failures,
                delay,
                exc,
            )
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        return client
