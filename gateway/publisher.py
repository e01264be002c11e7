"""The gateway's one external edge: writing a message to Kafka and awaiting its delivery.

`KafkaPublisher` is an idempotent confluent-kafka producer (acks=all). librdkafka calls
delivery reports from `poll()`, which a background thread runs; each report resolves the
asyncio future of its request on the event loop. A request answers 2xx only after its
report says the broker has the message.

An idempotent producer that hits a fatal error (the broker lost track of its sequence
numbers, its producer id was refused, ...) refuses all further work. confluent-kafka
raises such an error from `poll()` rather than calling `error_cb`; the poll thread then
fails what the old producer still held (those requests get 503, the provider retries)
and puts a new producer in its place. Meanwhile writes and `/ready` say unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from gateway.logs import gateway_logger
from gateway.settings import RECORD_HEADROOM_BYTES, GatewaySettings

Headers = Sequence[tuple[str, bytes]]

log = gateway_logger()

# How long a replaced producer gets to hand back the failure reports of what it held.
DRAIN_SECONDS = 1.0


class PublishFailed(Exception):
    """Kafka did not take the message (delivery error, timeout or a full local queue).

    The text is for the logs: it may name brokers and carry librdkafka's own words."""


class Unreadiness(StrEnum):
    """Why `/ready` says no, in words safe to show to whoever asks."""

    KAFKA_UNREACHABLE = "kafka_unreachable"
    TOPICS_MISSING = "topics_missing"
    PRODUCER_RESTARTING = "producer_restarting"
    PRODUCER_STOPPED = "producer_stopped"  # no thread serves delivery reports any more


class NotReady(Exception):
    def __init__(self, reason: Unreadiness, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail  # for the logs only


class Publisher(Protocol):
    async def publish(self, topic: str, key: str, value: bytes, headers: Headers) -> None:
        """Returns once the message is durably in Kafka; raises PublishFailed otherwise."""

    async def ready(self) -> str:
        """A short description of the broker; raises NotReady when it cannot take writes."""

    def close(self) -> None: ...


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
        "message.max.bytes": settings.max_body_bytes + RECORD_HEADROOM_BYTES,
        # While Kafka is down, produce() raises BufferError once this much waits: a 503
        # instead of the gateway's memory growing with the outage.
        "queue.buffering.max.kbytes": settings.producer_queue_max_kbytes,
        "queue.buffering.max.messages": settings.producer_queue_max_messages,
        # While the broker is down librdkafka would log every failed connection attempt
        # (many per second); /ready and each 503's log line say what is wrong instead.
        "log_level": 0,
    }


def is_fatal(error: KafkaError) -> bool:
    # A fatal producer's produce() raises _FATAL, whose own fatal() flag is not set.
    return bool(error.fatal()) or error.code() == KafkaError._FATAL


class KafkaPublisher:
    def __init__(
        self,
        settings: GatewaySettings,
        topics: Sequence[str],
        on_restart: Callable[[], None] = lambda: None,
    ) -> None:
        """`topics`: what the gateway writes to, which `ready` checks exist.
        `on_restart`: called (from the poll thread) each time a fatal producer is replaced."""
        self._config = {**producer_config(settings), "error_cb": self._on_error}
        self._timeout = settings.produce_timeout_seconds
        self._ready_timeout = settings.ready_timeout_seconds
        self._restart_backoff = settings.producer_restart_backoff_seconds
        self._on_restart = on_restart
        self._topics = set(topics)
        self._producer = Producer(self._config)
        self._created_at = time.monotonic()
        # Set while the producer is fatal or being replaced: what went wrong, for the logs.
        self._fatal: str | None = None
        self._fatal_reported: KafkaError | None = None  # by error_cb, should it ever be
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._poller.start()

    # -- the poll thread -------------------------------------------------------------------

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self._producer.poll(0.1)
            except KafkaException as exc:
                error = exc.args[0]
                if is_fatal(error):
                    self._replace_producer(error)
                else:
                    log.warning("kafka poll error", extra={"fields": {"error": error.str()}})
            except Exception:
                # Whatever happens, the thread lives on: without it no request is answered.
                log.exception("kafka poll failed")
                self._stop.wait(0.1)
            if self._fatal_reported is not None:
                error, self._fatal_reported = self._fatal_reported, None
                self._replace_producer(error)

    def _on_error(self, error: KafkaError) -> None:
        """librdkafka's error_cb, from poll(): connection trouble it retries on its own."""
        if is_fatal(error):
            self._fatal_reported = error
            return
        log.warning("kafka client error", extra={"fields": {"error": error.str()}})

    def _replace_producer(self, error: KafkaError) -> None:
        self._fatal = error.str()
        log.error(
            "kafka producer hit a fatal error: replacing it",
            extra={"fields": {"error": error.str(), "code": error.name()}},
        )
        self._fail_outstanding(self._producer)
        backoff = max(0.0, self._created_at + self._restart_backoff - time.monotonic())
        if self._stop.wait(backoff) or not self._new_producer():
            return  # the gateway is shutting down: the fatal producer stays, unused
        self._fatal = None
        self._on_restart()
        log.info("kafka producer replaced")

    def _new_producer(self) -> bool:
        """Puts a new producer in place, trying until it can or the gateway stops."""
        while not self._stop.is_set():
            try:
                self._producer = Producer(self._config)
            except KafkaException as exc:
                fields = {"error": str(exc)}
                log.error("could not create a kafka producer", extra={"fields": fields})
                self._stop.wait(max(self._restart_backoff, 0.1))
                continue
            self._created_at = time.monotonic()
            return True
        return False

    def _fail_outstanding(self, producer: Producer) -> None:
        """Serves the failure reports of every message the fatal producer still holds, so
        their requests answer 503 now rather than at their timeout."""
        deadline = time.monotonic() + DRAIN_SECONDS
        with contextlib.suppress(KafkaException, RuntimeError):
            producer.purge()
        while len(producer) > 0 and time.monotonic() < deadline:
            # SystemError: confluent-kafka may leave the fatal error pending while it calls
            # the delivery callbacks; the next poll serves them.
            with contextlib.suppress(KafkaException, SystemError):
                producer.poll(0.05)

    # -- the event loop ----------------------------------------------------------------------

    async def publish(self, topic: str, key: str, value: bytes, headers: Headers) -> None:
        if self._fatal is not None:
            raise PublishFailed(f"the producer is being replaced after: {self._fatal}")
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            # RuntimeError: the loop is closed (shutdown), nobody waits for the answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, delivered, error)

        try:
            self._producer.produce(
                topic, value=value, key=key, headers=list(headers), on_delivery=on_delivery
            )
        except BufferError as exc:
            raise PublishFailed(f"the producer's queue is full: {exc}") from exc
        except KafkaException as exc:
            raise PublishFailed(f"could not queue the message: {exc}") from exc
        # librdkafka reports a timeout itself after message.timeout.ms; this is a backstop.
        # A timer on the future itself: asyncio.wait_for would wrap it in a task and a
        # second future per request.
        backstop = loop.call_later(self._timeout + 2.0, _give_up, delivered, self._timeout + 2.0)
        try:
            await delivered
        finally:
            backstop.cancel()

    async def ready(self) -> str:
        if self._fatal is not None:
            raise NotReady(Unreadiness.PRODUCER_RESTARTING, f"fatal error: {self._fatal}")
        if not self._poller.is_alive():
            raise NotReady(Unreadiness.PRODUCER_STOPPED, "the kafka poll thread has ended")
        try:
            metadata = await asyncio.to_thread(
                self._producer.list_topics, None, self._ready_timeout
            )
        except KafkaException as exc:
            raise NotReady(Unreadiness.KAFKA_UNREACHABLE, f"Kafka is not reachable: {exc}") from exc
        missing = sorted(self._topics - set(metadata.topics))
        if missing:
            detail = f"Kafka is missing topics {missing}: run `make topics`"
            raise NotReady(Unreadiness.TOPICS_MISSING, detail)
        return f"{len(metadata.brokers)} broker(s), topics present"

    def close(self) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
        try:
            self._producer.flush(self._timeout)
        except (KafkaException, SystemError):
            # A fatal producer cannot deliver anything more; its requests got 503 already.
            self._fail_outstanding(self._producer)


def _give_up(future: asyncio.Future[None], seconds: float) -> None:
    if not future.done():
        future.set_exception(PublishFailed(f"no delivery report within {seconds:.0f}s"))


def _resolve(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():  # the request already gave up waiting
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(PublishFailed(f"delivery failed: {error.str()}"))
