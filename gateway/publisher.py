"""The gateway's one external edge: writing a message to Kafka and awaiting its delivery.

`KafkaPublisher` is an idempotent confluent-kafka producer (acks=all). librdkafka calls
delivery reports from `poll()`, which a background thread runs; each report resolves the
asyncio future of its request on the event loop. A request answers 2xx only after its
report says the broker has the message.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from gateway.settings import GatewaySettings

Headers = Sequence[tuple[str, bytes]]


class PublishFailed(Exception):
    """Kafka did not take the message (delivery error, timeout or a full local queue)."""


class Publisher(Protocol):
    async def publish(self, topic: str, key: str, value: bytes, headers: Headers) -> None:
        """Returns once the message is durably in Kafka; raises PublishFailed otherwise."""

    async def ready(self) -> str:
        """A short description of the broker; raises PublishFailed when it is unreachable."""

    def close(self) -> None: ...


# Room for the record's key, headers and batch framing above the body itself.
HEADROOM_BYTES = 64 * 1024


def producer_config(settings: GatewaySettings) -> dict[str, str | int | bool]:
    timeout_ms = int(settings.produce_timeout_seconds * 1000)
    return {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        # librdkafka gives up on a message when the request stops waiting for it, so a
        # request answered 503 is rarely written later (the provider's retry would
        # then be a second copy, which the normalisation job drops by event id).
        "message.timeout.ms": timeout_ms,
        "client.id": "paystream-gateway",
        # A body at the size limit plus headers and record overhead must fit in one
        # request; the topics allow as much (streaming.topics.WEBHOOK_MAX_MESSAGE_BYTES).
        "message.max.bytes": settings.max_body_bytes + HEADROOM_BYTES,
        # While the broker is down librdkafka would log every failed connection attempt
        # (many per second); /ready and each 503's log line say what is wrong instead.
        "log_level": 0,
    }


class KafkaPublisher:
    def __init__(self, settings: GatewaySettings, topics: Sequence[str]) -> None:
        """`topics`: what the gateway writes to, which `ready` checks exist."""
        self._producer = Producer(producer_config(settings))
        self._timeout = settings.produce_timeout_seconds
        self._ready_timeout = settings.ready_timeout_seconds
        self._topics = set(topics)
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def publish(self, topic: str, key: str, value: bytes, headers: Headers) -> None:
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            loop.call_soon_threadsafe(_resolve, delivered, error)

        try:
            self._producer.produce(
                topic, value=value, key=key, headers=list(headers), on_delivery=on_delivery
            )
        except (BufferError, KafkaException) as exc:
            raise PublishFailed(f"could not queue the message: {exc}") from exc
        try:
            # librdkafka reports a timeout itself after message.timeout.ms; this is a backstop.
            await asyncio.wait_for(delivered, self._timeout + 2.0)
        except TimeoutError:
            raise PublishFailed(f"no delivery report within {self._timeout + 2.0:.0f}s") from None

    async def ready(self) -> str:
        try:
            metadata = await asyncio.to_thread(
                self._producer.list_topics, None, self._ready_timeout
            )
        except KafkaException as exc:
            raise PublishFailed(f"Kafka is not reachable: {exc.args[0]}") from exc
        missing = sorted(self._topics - set(metadata.topics))
        if missing:
            raise PublishFailed(f"Kafka is missing topics {missing}: run `make topics`")
        return f"{len(metadata.brokers)} broker(s), topics present"

    def close(self) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
        self._producer.flush(self._timeout)


def _resolve(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():  # the request already gave up waiting
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(PublishFailed(f"delivery failed: {error.str()}"))
