"""Writes enrichment results to Kafka with an idempotent producer, keyed by event_id."""

from __future__ import annotations

import json
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

FLUSH_GRACE_SECONDS = 5.0


class PublishFailed(Exception):
    """Some results were not acknowledged by Kafka; the activity is retried."""


class ResultPublisher:
    def __init__(self, bootstrap_servers: str, flush_timeout: float = 30.0) -> None:
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            # No duplicates or reordering from the producer's own retries.
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # A message Kafka has not acknowledged by the end of the flush fails then, instead
            # of staying queued and being delivered after the activity's retry wrote it again.
            "message.timeout.ms": max(1, int(flush_timeout * 1000)),
            "log_level": 3,
        }
        self._flush_timeout = flush_timeout
        self._producer = Producer(self._config)

    def publish(self, topic: str, results: list[dict[str, Any]]) -> None:
        """Returns once Kafka acknowledged every result; raises otherwise (a retry may then
        write some twice, which the sink job's keep-first dedupe on event_id absorbs)."""
        errors: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                errors.append(error)

        try:
            for result in results:
                self._producer.produce(
                    topic,
                    key=str(result["event_id"]).encode(),
                    value=json.dumps(result, separators=(",", ":")).encode(),
                    on_delivery=delivered,
                )
                self._producer.poll(0)
            # A little longer than the message timeout, so every delivery report is in.
            unsent = self._producer.flush(self._flush_timeout + FLUSH_GRACE_SECONDS)
        except (KafkaException, BufferError) as exc:
            self._renew_if_fatal([])
            raise PublishFailed(f"could not produce to {topic}: {exc}") from exc
        if unsent or errors:
            self._renew_if_fatal(errors)
            raise PublishFailed(
                f"{unsent} results unsent, {len(errors)} failed to {topic}: "
                + "; ".join(e.str() for e in errors[:3])
            )

    def _renew_if_fatal(self, errors: list[KafkaError]) -> None:
        """An idempotent producer that hit a fatal error refuses all further work."""
        if any(e.fatal() for e in errors):
            self._producer = Producer(self._config)

    def close(self) -> None:
        self._producer.flush(self._flush_timeout)
