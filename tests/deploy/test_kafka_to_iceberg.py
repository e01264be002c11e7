"""The platform's round trip: Kafka -> Flink SQL (Kafka connector) -> Iceberg -> Trino."""

from __future__ import annotations

import uuid

import pytest

from deploy.local.roundtrip import produce_events, run_roundtrip_job, topic_message_count
from streaming.settings import KafkaSettings
from streaming.topics import delete_topics, ensure_topics

pytestmark = pytest.mark.integration


def test_every_kafka_message_lands_once_in_iceberg(stack_settings, lakehouse_settings, trino_rows):
    kafka = KafkaSettings()
    bootstrap = kafka.bootstrap_servers
    suffix = uuid.uuid4().hex[:8]
    topic, table = f"it.roundtrip.{suffix}", f"it_roundtrip_{suffix}"
    ensure_topics(kafka, names=(topic,), report=lambda _: None)
    try:
        produce_events(bootstrap, topic, 250)
        assert topic_message_count(bootstrap, topic) == 250

        run_roundtrip_job(stack_settings, lakehouse_settings, bootstrap, topic, table)
        [(rows, distinct_ids, distinct_offsets)] = trino_rows(
            f"SELECT count(*), count(DISTINCT event_id), "
            f"count(DISTINCT (kafka_partition, kafka_offset)) FROM {table}"
        )
        assert (rows, distinct_ids, distinct_offsets) == (250, 250, 250)
    finally:
        trino_rows(f"DROP TABLE IF EXISTS {table}")
        delete_topics(kafka, (topic,))
