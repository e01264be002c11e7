"""The gateway on the platform's real Kafka broker.

Each test module run writes to topics of its own (`GATEWAY_TOPIC_PREFIX`), deleted after.
`test_503_while_the_broker_is_stopped_then_accepted_again` stops and restarts the shared
broker through supervisord: it disturbs everyone using Kafka for some 20 s (the same
behaviour on a broker of the test's own: tests/gateway/test_producer_faults.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from fastapi.testclient import TestClient

from contracts.paths import REPO_ROOT
from contracts.topics import INGESTION_DLQ as DLQ_TOPIC
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from gateway.main import create_app
from gateway.providers.stripe import sign_stripe
from gateway.settings import GatewaySettings
from lakehouse.settings import LakehouseSettings
from loadgen.webhooks import Credentials, Kind, Mix, generate_events, post_events
from streaming.settings import KafkaSettings
from streaming.topics import delete_topics, ensure_topics
from tests.gateway.conftest import simulator_credentials
from tests.gateway.mock_kafka import raise_fatal_error

pytestmark = pytest.mark.integration

STRIPE_SECRETS = ("whsec_it_current_" + uuid.uuid4().hex, "whsec_it_previous_" + uuid.uuid4().hex)
SQUARE_KEY = "sq_it_" + uuid.uuid4().hex
SQUARE_URL = "http://127.0.0.1/webhooks/square"
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CONTRACT_TOPICS = ("payments.stripe.raw", "payments.square.raw", DLQ_TOPIC)


@dataclass(frozen=True)
class Record:
    topic: str  # without the test prefix
    key: str
    value: bytes
    headers: dict[str, str]


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    """Fresh copies of the gateway's three topics, for this module only."""
    kafka = KafkaSettings()
    prefix = f"it_gw_{uuid.uuid4().hex[:10]}."
    names = tuple(prefix + topic for topic in CONTRACT_TOPICS)
    ensure_topics(kafka, names=names, report=lambda _line: None)
    yield prefix
    delete_topics(kafka, names)


def gateway_env(prefix: str) -> dict[str, str]:
    return {
        "GATEWAY_STRIPE_WEBHOOK_SECRETS": ",".join(STRIPE_SECRETS),
        "GATEWAY_SQUARE_SIGNATURE_KEY": SQUARE_KEY,
        "GATEWAY_SQUARE_NOTIFICATION_URL": SQUARE_URL,
        "GATEWAY_TOPIC_PREFIX": prefix,
        "KAFKA_BOOTSTRAP_SERVERS": KafkaSettings().bootstrap_servers,
    }


def credentials() -> Credentials:
    return simulator_credentials(STRIPE_SECRETS, SQUARE_KEY, SQUARE_URL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class GatewayProcess:
    url: str
    log: Path


@pytest.fixture(scope="module")
def gateway(prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """`python -m gateway` (uvicorn, uvloop, httptools) as a process on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    env = {**os.environ, **gateway_env(prefix), "GATEWAY_PORT": str(port)}
    # Two workers (the default), with metric files of their own: not the platform's.
    env["GATEWAY_METRICS_DIR"] = str(log.parent / "metrics")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"], cwd=REPO_ROOT, env=env,
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url), 30, f"the gateway did not start; see {log}")
        yield GatewayProcess(url, log)
    finally:
        process.terminate()
        process.wait(15)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.3)


def read_all(prefix: str, expected: int, timeout: float = 30) -> list[Record]:
    """Every message of the module's topics, waiting until there are `expected` (and
    a little longer, so that a duplicate would be seen too)."""
    consumer = Consumer({"bootstrap.servers": KafkaSettings().bootstrap_servers,
                         "group.id": f"it-gw-{uuid.uuid4().hex}", "enable.auto.commit": False,
                         "isolation.level": "read_committed"})  # fmt: skip
    try:
        partitions = []
        for topic in CONTRACT_TOPICS:
            metadata = consumer.list_topics(prefix + topic, timeout=10).topics[prefix + topic]
            partitions += [TopicPartition(prefix + topic, p, 0) for p in metadata.partitions]
        consumer.assign(partitions)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        quiet_until = None
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if len(records) >= expected:
                    quiet_until = quiet_until or time.monotonic() + 2
                    if time.monotonic() > quiet_until:
                        break
                continue
            assert message.error() is None, message.error()
            records.append(as_record(message, prefix))
        return records
    finally:
        consumer.close()


def as_record(message: Message, prefix: str) -> Record:
    topic, key, value = message.topic(), message.key(), message.value()
    assert isinstance(topic, str) and isinstance(key, bytes) and isinstance(value, bytes)
    headers: dict[str, str] = {}
    for name, raw in list(message.headers() or []):
        assert isinstance(name, str) and isinstance(raw, bytes)
        headers[name] = raw.decode()
    return Record(topic.removeprefix(prefix), key.decode(), value, headers)


def expected_key(provider: str, body: bytes) -> str:
    event = json.loads(body)
    return event.get("account") or "platform" if provider == "stripe" else event["merchant_id"]


def test_simulated_webhooks_are_in_kafka_exactly_once_with_key_and_headers(prefix, gateway):
    events = generate_events(300, seed=21, mix=Mix(bad_share=0.3, redelivery_share=0.1))
    run = uuid.uuid4().hex[:8]
    outcomes = asyncio.run(
        post_events(events, gateway.url, credentials(), rate=150, concurrency=16, run_id=run)
    )
    unexpected = [o for o in outcomes if not o.as_expected]
    assert not unexpected, unexpected[:3]
    written = [o for o in outcomes if o.event.expected_topic is not None]
    assert {o.event.kind for o in written} >= {Kind.VALID, Kind.REDELIVERY, Kind.MALFORMED,
                                               Kind.SEMANTIC}  # fmt: skip
    records = read_all(prefix, expected=len(written))
    by_request: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_request[record.headers["request_id"]].append(record)

    assert len(records) == len(written)  # nothing extra: refused requests wrote nothing
    for outcome in written:
        [record] = by_request[outcome.request_id]  # exactly once
        event = outcome.event
        assert record.value == event.body
        assert record.headers["provider"] == event.provider
        assert RFC3339_MS.match(record.headers["received_at"])
        if event.expected_topic == "raw":
            assert record.topic == f"payments.{event.provider}.raw"
            assert record.key == expected_key(event.provider, event.body)
            assert "reason" not in record.headers
        else:
            assert record.topic == DLQ_TOPIC
            assert record.key == outcome.request_id
            assert event.detail.endswith(record.headers["reason"])


def test_the_simulator_command_against_the_gateway(prefix, gateway):
    env = {**os.environ, **gateway_env(prefix)}
    result = subprocess.run(
        [sys.executable, "-m", "loadgen.webhooks", "--rate", "40", "--duration", "2s",
         "--url", gateway.url, "--seed", "5", "--bad-share", "0.2"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unexpected answers: 0" in result.stdout
    assert "sent 80" in result.stderr


def test_ready_and_metrics_on_the_real_broker(gateway):
    ready = httpx.get(f"{gateway.url}/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    metrics = httpx.get(f"{gateway.url}/metrics", timeout=10).text
    assert 'gateway_requests_total{outcome="accepted",provider="stripe"}' in metrics


def stripe_event(run: str, n: int) -> bytes:
    return json.dumps({"id": f"evt_{run}_{n}", "object": "event", "type": "charge.succeeded",
                       "account": "acct_it", "created": int(time.time()),
                       "data": {"object": {}}}).encode()  # fmt: skip


def post_stripe(client: TestClient, body: bytes, request_id: str) -> int:
    headers = {
        **sign_stripe(body, STRIPE_SECRETS[:1], int(time.time())),
        "X-Request-Id": request_id,
    }
    return client.post("/webhooks/stripe", content=body, headers=headers).status_code


def test_503_when_kafka_is_unreachable(prefix):
    settings = GatewaySettings(
        stripe_webhook_secrets=",".join(STRIPE_SECRETS),
        produce_timeout_seconds=1,
        ready_timeout_seconds=1,
        topic_prefix=prefix,
        kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}"),
    )
    with TestClient(create_app(settings)) as client:
        assert post_stripe(client, stripe_event("down", 0), "down-0") == 503
        assert client.get("/ready").status_code == 503
        assert client.get("/health").status_code == 200


def test_503_while_the_broker_is_stopped_then_accepted_again(prefix):
    stack = Stack(StackSettings(), LakehouseSettings())
    settings = GatewaySettings(
        stripe_webhook_secrets=",".join(STRIPE_SECRETS),
        produce_timeout_seconds=2,
        topic_prefix=prefix,
    )
    run = uuid.uuid4().hex[:8]
    with TestClient(create_app(settings)) as client:
        assert post_stripe(client, stripe_event(run, 0), f"{run}-before") == 202
        stack.supervisorctl("stop", "kafka")
        try:
            refused = [
                post_stripe(client, stripe_event(run, 1), f"{run}-down-{i}") for i in range(2)
            ]
            ready_while_down = client.get("/ready").status_code
        finally:
            stack.start_and_wait([stack.service("kafka")])
        assert refused == [503, 503]
        assert ready_while_down == 503
        # The producer reconnects on its own; a provider retries until it gets a 2xx.
        attempts = 0
        while post_stripe(client, stripe_event(run, 1), f"{run}-after-{attempts}") != 202:
            attempts += 1
            assert attempts < 30, "the gateway did not accept again after the broker returned"
            time.sleep(1)
        assert client.get("/ready").status_code == 200
    mine = [r for r in read_all(prefix, expected=2, timeout=30)
            if r.headers["request_id"].startswith(run)]  # fmt: skip
    ids = sorted(r.headers["request_id"] for r in mine)
    # What was refused with 503 was not written behind the provider's back.
    assert ids == sorted([f"{run}-before", f"{run}-after-{attempts}"])


def test_a_fatal_producer_error_is_recovered_from_on_the_real_broker(prefix):
    """librdkafka's test hook fails the gateway's producer fatally, as a broker can make an
    idempotent producer fail; the gateway replaces it, and a provider's retry gets in.
    (Kafka going down and coming back: tests/gateway/test_producer_faults.py, on a mock
    broker of its own, so that the shared one is never stopped.)"""
    settings = GatewaySettings(
        stripe_webhook_secrets=",".join(STRIPE_SECRETS),
        topic_prefix=prefix,
        producer_restart_backoff_seconds=0.2,
    )
    run = uuid.uuid4().hex[:8]
    with TestClient(create_app(settings)) as client:
        assert post_stripe(client, stripe_event(run, 0), f"{run}-before") == 202
        publisher = client.app.state.gateway.publisher  # type: ignore[attr-defined]
        fatal = publisher._producer
        raise_fatal_error(fatal, "paystream-gateway", KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
                          "test: sequence desynchronised")  # fmt: skip
        attempts = 0
        while post_stripe(client, stripe_event(run, 1), f"{run}-after-{attempts}") != 202:
            attempts += 1
            assert attempts < 30, "the gateway did not accept again after the fatal error"
            time.sleep(0.5)
        assert publisher._producer is not fatal
        assert client.get("/ready").status_code == 200
        assert "gateway_producer_restarts_total 1.0" in client.get("/metrics").text
    mine = [r for r in read_all(prefix, expected=2, timeout=30)
            if r.headers["request_id"].startswith(run)]  # fmt: skip
    ids = sorted(r.headers["request_id"] for r in mine)
    assert ids == sorted([f"{run}-before", f"{run}-after-{attempts}"])


def test_the_gateway_process_logs_one_json_line_per_request(gateway):
    request_id = f"it-log-{uuid.uuid4().hex}"
    response = httpx.post(f"{gateway.url}/webhooks/square", content=b"{}",
                          headers={"X-Request-Id": request_id}, timeout=10)  # fmt: skip
    assert response.status_code == 400
    assert response.headers["x-request-id"] == request_id

    def logged() -> list[dict]:
        lines = gateway.log.read_text().splitlines()
        return [json.loads(line) for line in lines if request_id in line]

    wait_until(lambda: logged(), 10, "no log line for the request")
    [line] = logged()
    assert (line["provider"], line["outcome"], line["status"]) == ("square", "bad_signature", 400)
