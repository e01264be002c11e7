"""The gateway's real Kafka producer against librdkafka's mock cluster (no platform needed):
a fatal producer error, a broker that goes down and comes back, a full producer queue.

The mock broker is the test's own, so it can fail requests or go down without touching
the shared Kafka.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition
from fastapi.testclient import TestClient

from gateway.main import create_app, written_topics
from gateway.providers.stripe import sign_stripe
from gateway.publisher import producer_config
from gateway.settings import GatewaySettings
from streaming.settings import KafkaSettings
from tests.gateway.conftest import STRIPE_SECRETS, gateway_settings
from tests.gateway.mock_kafka import PRODUCE, MockKafka
from tests.gateway.serving import served
from tests.gateway.test_webhooks import metric


@pytest.fixture
def mock_kafka() -> Iterator[MockKafka]:
    kafka = MockKafka()
    yield kafka
    kafka.close()


def on_mock(kafka: MockKafka, **overrides: object) -> GatewaySettings:
    """Gateway settings writing to the mock cluster, whose topics exist."""
    values: dict[str, object] = {
        "kafka": KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
        "produce_timeout_seconds": 2.0,
        "ready_timeout_seconds": 1.0,
        **overrides,
    }
    settings = gateway_settings(**values)
    kafka.create_topics(written_topics(settings))
    return settings


def stripe_event(n: int) -> bytes:
    return json.dumps({"id": f"evt_mock_{n}", "object": "event", "type": "charge.succeeded",
                       "account": "acct_mock", "created": int(time.time()),
                       "data": {"object": {}}}).encode()  # fmt: skip


def post(client: TestClient | httpx.Client, n: int, request_id: str) -> httpx.Response:
    body = stripe_event(n)
    headers = {**sign_stripe(body, STRIPE_SECRETS[:1], int(time.time())),
               "X-Request-Id": request_id}  # fmt: skip
    return client.post("/webhooks/stripe", content=body, headers=headers)


def wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


def accepted_eventually(client: TestClient, n: int, run: str, timeout: float = 20) -> list[str]:
    """Retries event n as a provider does, until a 202: the request ids of every attempt."""
    attempts: list[str] = []

    def accepted() -> bool:
        attempts.append(f"{run}-{n}-{len(attempts)}")
        return post(client, n, attempts[-1]).status_code == 202

    wait_for(accepted, timeout, f"event {n} was never accepted again")
    return attempts


def written_request_ids(kafka: MockKafka, topic: str) -> list[str]:
    """The request_id header of every message in the mock cluster's `topic`."""
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": "check",
                         "enable.auto.commit": False, "log_level": 0})  # fmt: skip
    try:
        partitions = consumer.list_topics(topic, timeout=5).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), 5)[1]
                for p in partitions}  # fmt: skip
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions if ends[p] > 0])
        ids: list[str] = []
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 20
        while remaining and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            ids.append(dict(message.headers() or [])["request_id"].decode())
            if message.offset() + 1 >= ends[message.partition()]:
                remaining.discard(message.partition())
        assert not remaining, f"could not read {topic} to its end"
        return ids
    finally:
        consumer.close()


def test_a_fatal_producer_error_is_recovered_from(mock_kafka):
    """The broker answers a write with OUT_OF_ORDER_SEQUENCE_NUMBER: the idempotent
    producer can no longer guarantee its order and fails fatally. The gateway answers 503
    and replaces the producer; the provider's retry is accepted."""
    settings = on_mock(mock_kafka, producer_restart_backoff_seconds=0.2)
    run = uuid.uuid4().hex[:8]
    with TestClient(create_app(settings)) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, 10, "never ready")
        assert post(client, 0, f"{run}-0").status_code == 202
        mock_kafka.fail_next_requests(PRODUCE, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER)
        assert post(client, 1, f"{run}-1-fatal").status_code == 503
        retries = accepted_eventually(client, 1, run)
        assert client.get("/ready").status_code == 200
        assert metric(client, "gateway_producer_restarts_total") == 1
        assert post(client, 2, f"{run}-2").status_code == 202
    written = written_request_ids(mock_kafka, settings.topic("payments.stripe.raw"))
    # Each event once: what was answered 503 was not written behind the provider's back.
    assert sorted(written) == sorted([f"{run}-0", retries[-1], f"{run}-2"])


def test_not_ready_while_the_producer_is_being_replaced(mock_kafka, capsys):
    """Until the new producer is in place, /ready says so and writes fail fast (here the
    replacement waits out a long backoff)."""
    settings = on_mock(mock_kafka, producer_restart_backoff_seconds=60)
    with TestClient(create_app(settings)) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, 10, "never ready")
        assert post(client, 0, "warm").status_code == 202
        mock_kafka.fail_next_requests(PRODUCE, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER)
        assert post(client, 1, "fatal").status_code == 503
        wait_for(lambda: client.get("/ready").status_code == 503, 5, "/ready still says ready")
        assert client.get("/ready").json() == {"status": "unavailable",
                                               "reason": "producer_restarting"}  # fmt: skip
        started = time.monotonic()
        assert post(client, 2, "meanwhile").status_code == 503
        assert time.monotonic() - started < 1.0  # refused at once, not at the timeout
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [fatal] = [line for line in logged if "fatal error" in line["message"]]
    assert "OUT_OF_ORDER_SEQUENCE_NUMBER" in fatal["code"]


def test_503_while_the_broker_is_down_then_accepted_again(mock_kafka):
    settings = on_mock(mock_kafka)
    run = uuid.uuid4().hex[:8]
    with TestClient(create_app(settings)) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, 10, "never ready")
        assert post(client, 0, f"{run}-before").status_code == 202
        mock_kafka.broker_down()
        refused = [post(client, 1, f"{run}-down-{i}") for i in range(2)]
        ready_while_down = client.get("/ready")
        mock_kafka.broker_up()
        assert [r.status_code for r in refused] == [503, 503]
        assert ready_while_down.status_code == 503
        assert ready_while_down.json()["reason"] == "kafka_unreachable"
        # Neither librdkafka's words nor the broker's address reach the client.
        host = mock_kafka.bootstrap_servers.split(":")[0]
        for answer in [*refused, ready_while_down]:
            assert host not in answer.text and "Local:" not in answer.text, answer.text
        retries = accepted_eventually(client, 1, run)
        assert client.get("/ready").status_code == 200
    written = written_request_ids(mock_kafka, settings.topic("payments.stripe.raw"))
    assert sorted(written) == sorted([f"{run}-before", retries[-1]])


def test_the_producer_queue_is_bounded():
    """librdkafka's defaults (1 GiB, 100,000 messages) would let the gateway's memory
    grow by that much while Kafka is down."""
    config = producer_config(GatewaySettings())
    assert int(config["queue.buffering.max.kbytes"]) <= 64 * 1024
    assert int(config["queue.buffering.max.messages"]) <= 10_000
    with pytest.raises(ValueError, match="QUEUE_MAX_KBYTES"):
        GatewaySettings(max_body_bytes=2 * 1024 * 1024, producer_queue_max_kbytes=1024)


def test_a_full_producer_queue_is_a_503_at_once(mock_kafka):
    """With Kafka down the queue fills up; the next request is refused at once (the
    provider retries) rather than queued without end."""
    settings = on_mock(mock_kafka, produce_timeout_seconds=5.0, producer_queue_max_messages=1)
    with served(create_app(settings)) as (host, port):
        base = f"http://{host}:{port}"
        with httpx.Client(base_url=base, timeout=15) as http:
            wait_for(lambda: http.get("/ready").status_code == 200, 10, "never ready")
            mock_kafka.broker_down()
            waiting: list[int] = []

            def send_first() -> None:
                waiting.append(post(http, 0, "q-0").status_code)

            first = threading.Thread(target=send_first)
            first.start()
            time.sleep(0.5)  # the first is in the producer's queue now
            started = time.monotonic()
            second = post(http, 1, "q-1")
            elapsed = time.monotonic() - started
            first.join(15)
            mock_kafka.broker_up()
    assert second.status_code == 503
    assert elapsed < 1.0, f"answered after {elapsed:.1f}s: it waited in the queue"
    assert waiting == [503]  # timed out in the queue, the broker being down
