"""The topics of contract §2 and their creation."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import ConfigResource

from contracts.topics import TOPIC_NAMES, TOPICS
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import admin_client, ensure_topics, existing_topics, new_topic

CONTRACT_TOPICS = {
    "payment_charges",
    "payment_refunds",
    "payment_disputes",
    "payment_subscriptions",
    "payments.stripe.raw",
    "payments.square.raw",
    "payments.ingestion.dlq",
    "payments.normalized",
    "payments.enriched",
}


def test_every_contract_topic_is_defined_once():
    assert set(TOPIC_NAMES) == CONTRACT_TOPICS
    assert len(TOPIC_NAMES) == len(CONTRACT_TOPICS)
    keys = {topic.name: topic.key for topic in TOPICS}
    assert keys["payment_refunds"] == "refund_id"
    assert keys["payments.normalized"] == "merchant_id"
    assert keys["payments.enriched"] == "event_id"


def test_topic_settings_default_to_a_small_box_and_follow_the_environment(monkeypatch):
    defaults = KafkaSettings()
    assert defaults.bootstrap_servers == "127.0.0.1:9092"
    assert (defaults.topics.partitions, defaults.topics.replication_factor) == (3, 1)
    assert defaults.topics.retention_ms == 7 * 24 * 3600 * 1000

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:29092")
    monkeypatch.setenv("PAYSTREAM_TOPIC_PARTITIONS", "6")
    monkeypatch.setenv("PAYSTREAM_TOPIC_RETENTION_HOURS", "1")
    settings = KafkaSettings()
    assert settings.bootstrap_servers == "broker:29092"
    assert settings.topics.partitions == 6
    assert settings.topics.retention_ms == 3_600_000


def test_new_topics_carry_partitions_replication_and_retention():
    topic = new_topic("t", TopicSettings(partitions=2, retention_hours=2))
    assert (topic.topic, topic.num_partitions, topic.replication_factor) == ("t", 2, 1)
    assert topic.config["retention.ms"] == str(2 * 3_600_000)


@pytest.mark.integration
def test_ensure_topics_creates_what_is_missing_once(kafka_settings):
    name = f"it.streaming.topics.{uuid.uuid4().hex[:8]}"
    admin = admin_client(kafka_settings)
    messages: list[str] = []
    try:
        first = ensure_topics(kafka_settings, names=(name,), report=messages.append)
        second = ensure_topics(kafka_settings, names=(name,), report=messages.append)
        assert (first.created, first.existing) == ([name], [])
        assert (second.created, second.existing) == ([], [name])
        assert messages[0].startswith(f"topics: created {name} (3 partitions")
        assert messages[1] == f"topics: found   {name}"

        metadata = admin.list_topics(name, timeout=10).topics[name]
        assert len(metadata.partitions) == kafka_settings.topics.partitions
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        config = admin.describe_configs([resource])[resource].result(timeout=10)
        assert config["retention.ms"].value == str(kafka_settings.topics.retention_ms)
    finally:
        admin.delete_topics([name])[name].result(timeout=30)


@pytest.mark.integration
def test_ensure_topics_leaves_every_contract_topic_in_place(kafka_settings):
    ensure_topics(kafka_settings, report=lambda _: None)
    again = ensure_topics(kafka_settings, report=lambda _: None)
    assert again.created == []
    assert set(again.existing) == CONTRACT_TOPICS
    listed = existing_topics(admin_client(kafka_settings), kafka_settings.bootstrap_servers)
    assert listed >= CONTRACT_TOPICS


def test_webhook_topics_and_their_prefixed_copies_allow_a_whole_1_mib_body():
    for name in ("payments.stripe.raw", "it.abc.payments.square.raw", "payments.ingestion.dlq"):
        config = new_topic(name, TopicSettings()).config
        assert int(config["max.message.bytes"]) > 1024 * 1024 + 64 * 1024, name
    assert "max.message.bytes" not in new_topic("payment_charges", TopicSettings()).config
