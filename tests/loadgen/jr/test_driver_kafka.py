"""`loadgen.jr` against the platform's Kafka: messages land in every raw topic, keyed."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from contracts.topics import EVENT_ID_FIELDS, RAW_EVENT_TOPICS
from loadgen.jr import driver
from loadgen.jr.driver import (
    DEFAULT_RATES,
    LoadError,
    check_ready,
    partition_high_watermarks,
    pass_schedule,
)
from streaming.topics import ensure_topics
from tests.loadgen.jr.messages import null_spelling, parse

pytestmark = pytest.mark.integration

RATE_SCALE = 5
SECONDS = 6


def read_between(
    consumer: Consumer, topic: str, start: dict[int, int], end: dict[int, int]
) -> list[tuple[bytes | None, bytes]]:
    """The (key, value) of every message of `topic` from offsets `start` up to `end`."""
    wanted = {p: end[p] - start.get(p, 0) for p in end if end[p] > start.get(p, 0)}
    consumer.assign([TopicPartition(topic, p, start.get(p, 0)) for p in wanted])
    messages: list[tuple[bytes | None, bytes]] = []
    while sum(wanted.values()) > 0:
        message = consumer.poll(10)
        assert message is not None, f"{topic}: {sum(wanted.values())} messages not read"
        assert message.error() is None, message.error()
        partition, offset, value = message.partition(), message.offset(), message.value()
        assert partition is not None and offset is not None and value is not None
        if wanted.get(partition, 0) > 0 and offset < end[partition]:
            wanted[partition] -= 1
            messages.append((message.key(), value))
    consumer.unassign()
    return messages


@pytest.fixture
def consumer(kafka_settings):
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_settings.bootstrap_servers,
            "group.id": f"it-loadgen-jr-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    yield consumer
    consumer.close()


def test_load_lands_keyed_messages_in_every_raw_topic(
    kafka_settings, load_settings, consumer, capsys
):
    ensure_topics(kafka_settings, names=tuple(RAW_EVENT_TOPICS.values()), report=lambda _: None)
    before = {t: partition_high_watermarks(consumer, t) for t in RAW_EVENT_TOPICS.values()}

    code = driver.main(["--rate", str(RATE_SCALE), "--duration", f"{SECONDS}s", "--seed", "42"])

    output = capsys.readouterr().out
    assert code == 0, output
    after = {t: partition_high_watermarks(consumer, t) for t in RAW_EVENT_TOPICS.values()}
    assert "load: done in" in output
    for event_type, topic in RAW_EVENT_TOPICS.items():
        landed = sum(after[topic].values()) - sum(before[topic].values())
        schedule = pass_schedule(DEFAULT_RATES[event_type] * RATE_SCALE)
        # JR's last pass may race its end of run; other producers may add to the topic.
        assert landed >= max(1, schedule.messages_in(SECONDS) - schedule.per_pass)
        assert f"{topic} " in output

        messages = read_between(consumer, topic, before[topic], after[topic])
        assert len(messages) == landed
        keyed = 0
        for key, value in messages:
            obj = parse(value.decode())
            identifier = obj.get(EVENT_ID_FIELDS[event_type]) if obj else None
            if obj is not None and null_spelling(obj, EVENT_ID_FIELDS[event_type]) is None:
                assert key is not None and key.decode() == identifier, (key, value)
                keyed += 1
            else:
                assert key is None, (key, value)
        assert keyed >= 1


def test_load_refuses_to_start_without_its_topics(kafka_settings, load_settings):
    missing = f"it.streaming.absent.{uuid.uuid4().hex[:8]}"
    with pytest.raises(LoadError, match=f"{missing}.*make topics"):
        check_ready(load_settings, kafka_settings, ["payment_charges", missing])
