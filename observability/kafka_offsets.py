"""Kafka offsets an operator asks about: each topic's end, each consumer group's commits and
lag. Read with the librdkafka admin API (kcat cannot read group offsets); never joins a
group or commits. Used by `make lag` (deploy/local/toolbox.py) and the exporter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int | None:
        return None if self.committed is None or self.committed < 0 else self.end - self.committed


class KafkaOffsets:
    """One admin client and one (never subscribed) consumer, kept for many reads."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        config: dict[str, str | int | float | bool] = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": client_id,
        }
        self._admin = AdminClient(config)
        self._consumer = Consumer(config | {"group.id": client_id, "enable.auto.commit": False})

    def close(self) -> None:
        self._consumer.close()

    def end_offset(self, topic: str, partition: int) -> int:
        _, end = self._consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=TIMEOUT_SECONDS
        )
        return int(end)

    def topic_end_offsets(self, topics: Iterable[str]) -> dict[str, dict[int, int]]:
        """Each existing topic's end offset per partition (a missing topic is left out)."""
        metadata = self._consumer.list_topics(timeout=TIMEOUT_SECONDS).topics
        ends: dict[str, dict[int, int]] = {}
        for topic in topics:
            if topic not in metadata or metadata[topic].error is not None:
                continue
            ends[topic] = {p: self.end_offset(topic, p) for p in sorted(metadata[topic].partitions)}
        return ends

    def group_lag(self) -> list[PartitionLag]:
        """Every consumer group's committed offset, end and lag, per partition it committed."""
        listed = self._admin.list_consumer_groups(request_timeout=TIMEOUT_SECONDS).result()
        rows: list[PartitionLag] = []
        for group in sorted(g.group_id for g in listed.valid):
            request = [ConsumerGroupTopicPartitions(group)]
            future = self._admin.list_consumer_group_offsets(
                request, request_timeout=TIMEOUT_SECONDS
            )[group]
            partitions = future.result().topic_partitions or []
            for tp in sorted(partitions, key=lambda t: (t.topic, t.partition)):
                end = self.end_offset(tp.topic, tp.partition)
                rows.append(PartitionLag(group, tp.topic, tp.partition, tp.offset, end))
        return rows
