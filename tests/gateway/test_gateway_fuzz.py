"""The webhook gateway under random and hostile requests, on the real Kafka broker.

- Every operation of its OpenAPI document, driven by schemathesis: never a 5xx other than
  the documented 503.
- Unsigned, badly signed and stale requests with random bodies and headers: refused with
  400 (413 when too big), nothing written.
- Correctly signed random bodies (JSON events, other JSON, bytes that are not JSON or not
  UTF-8, 1 MB): every accepted request is in Kafka exactly once, in the raw topic or the
  DLQ as the contract says, with the exact body; memory stays bounded (tracemalloc).
"""

from __future__ import annotations

import hashlib
import json
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from confluent_kafka import Consumer, KafkaException, TopicPartition
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.intake import REQUEST_ID
from gateway.main import create_app
from gateway.providers.square import sign_square
from gateway.providers.stripe import sign_stripe
from gateway.settings import GatewaySettings
from streaming.settings import KafkaSettings
from streaming.topics import delete_topics, ensure_topics
from tests.validation.hostile import json_values

pytestmark = pytest.mark.integration

STRIPE_SECRET = "whsec_adversarial_" + uuid.uuid4().hex
SQUARE_KEY = "sq_adversarial_" + uuid.uuid4().hex
SQUARE_URL = "https://example.test/webhooks/square"
MAX_BODY = 1024 * 1024
# The gateway writes to topics of this run's own (its GATEWAY_TOPIC_PREFIX).
PREFIX = f"adv.{uuid.uuid4().hex[:8]}."
RAW_TOPICS = {"stripe": f"{PREFIX}payments.stripe.raw", "square": f"{PREFIX}payments.square.raw"}
DLQ = f"{PREFIX}payments.ingestion.dlq"
ALLOWED_5XX = {503}


@dataclass
class Gateway:
    client: TestClient
    app: object
    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (provider, sha)
    statuses: Counter[int] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    kafka = KafkaSettings()
    topics = (*RAW_TOPICS.values(), DLQ)
    ensure_topics(kafka, names=topics, report=lambda _: None)
    settings = GatewaySettings(
        stripe_webhook_secrets=f"whsec_other,{STRIPE_SECRET}",
        square_signature_key=SQUARE_KEY,
        square_notification_url=SQUARE_URL,
        max_body_bytes=MAX_BODY,
        topic_prefix=PREFIX,
        kafka=kafka,
        docs_enabled=True,  # schemathesis reads /openapi.json
    )
    app = create_app(settings)
    try:
        # A crash must show as the 500 it would be, not as a test-side exception.
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Gateway(client, app)
    finally:
        delete_topics(kafka, topics)


def stripe_headers(body: bytes, secret: str = STRIPE_SECRET, at: int | None = None) -> dict:
    return sign_stripe(body, (secret,), int(time.time()) if at is None else at)


def square_headers(body: bytes, key: str = SQUARE_KEY) -> dict:
    return sign_square(body, key, SQUARE_URL)


def signed(provider: str, body: bytes) -> dict:
    return stripe_headers(body) if provider == "stripe" else square_headers(body)


# -- what is sent --------------------------------------------------------------------------

stripe_events = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=20).map(lambda s: "evt_" + s),
     "object": st.just("event"), "type": st.sampled_from(["payment_intent.succeeded",
     "charge.refunded", "charge.dispute.created", "customer.subscription.updated", "x"]),
     "created": st.integers(), "data": st.fixed_dictionaries({"object": json_values})},
    optional={"account": st.text(max_size=12), "livemode": st.booleans()},
)  # fmt: skip
square_events = st.fixed_dictionaries(
    {"merchant_id": st.text(min_size=1, max_size=12), "event_id": st.uuids().map(str),
     "type": st.sampled_from(["payment.created", "payment.updated", "refund.updated", "x"]),
     "data": json_values},
)  # fmt: skip
hostile_bodies = st.sampled_from(
    [b"", b"null", b"[]", b"42", b'"s"', b"{", b"\xff\xfe", b'{"id": NaN}',
     b"[" * 20_000 + b"]" * 20_000, b'{"id": "\xc3\x28", "type": "t"}', b"\x00" * 64,
     b'{"id": 1e999999, "type": "x"}', b'{"id": "evt_1", "type": "x", "pad": "'
     + b"p" * (MAX_BODY - 40) + b'"}', b"x" * (MAX_BODY + 1)]
)  # fmt: skip
bodies = st.one_of(
    stripe_events.map(lambda e: json.dumps(e).encode()),
    square_events.map(lambda e: json.dumps(e).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    hostile_bodies,
)
header_noise = st.dictionaries(
    st.sampled_from(["Stripe-Signature", "x-square-hmacsha256-signature", "Content-Type",
                     "X-Request-Id", "X-Forwarded-For", "Content-Encoding", "X-Junk"]),
    # Any value a client can send: visible ASCII, no leading or trailing blanks.
    st.from_regex(r"[!-~]([ -~]{0,198}[!-~])?", fullmatch=True),
    max_size=4,
)  # fmt: skip
bad_stripe_signatures = st.one_of(
    st.just(""), st.just("t=,v1="), st.just("v1=00"), st.just("t=abc,v1=zz"),
    st.integers().map(lambda t: f"t={t},v1={'0' * 64}"),
    st.text(alphabet="tv0123456789abcdef=,", max_size=300),
)  # fmt: skip


def routed(body: bytes, provider: str) -> bool | None:
    """Where the contract sends a correctly signed body: True for the raw topic, None when
    it leaves it open (a routing field that is an empty string)."""
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    except RecursionError:
        return None  # nesting too deep for Python's parser: the gateway's call
    if not isinstance(event, dict):
        return False
    keys = ("id", "type") if provider == "stripe" else ("event_id", "type", "merchant_id")
    if not all(isinstance(event.get(k), str) for k in keys):
        return False
    return True if all(event[k] for k in keys) else None


# -- tests ---------------------------------------------------------------------------------


def test_every_openapi_operation_answers_without_a_5xx(gateway):
    schema = schemathesis.openapi.from_asgi("/openapi.json", gateway.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the gateway publishes no operations"
    failures: list[str] = []

    @settings(max_examples=300, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.one_of([operation.as_strategy() for operation in operations]), header_noise)
    def call(case, noise) -> None:
        response = case.call(headers=noise)
        if response.status_code >= 500 and response.status_code not in ALLOWED_5XX:
            failures.append(f"{case.method} {case.path} -> {response.status_code}")

    call()
    assert not failures, failures[:5]


def test_unsigned_and_badly_signed_requests_are_refused(gateway):
    seen: Counter[int] = Counter()

    @settings(max_examples=1500, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.sampled_from(["stripe", "square"]), bodies, header_noise, bad_stripe_signatures,
           st.integers(min_value=301, max_value=10**9))  # fmt: skip
    def refuse(provider, body, noise, bad_signature, age) -> None:
        headers = dict(noise)
        if provider == "stripe":
            variants = [
                {"Stripe-Signature": bad_signature},
                stripe_headers(body, secret="whsec_wrong"),
                stripe_headers(body, at=int(time.time()) - age),  # stale
            ]
        else:
            variants = [{"x-square-hmacsha256-signature": bad_signature},
                        square_headers(body, key="wrong")]  # fmt: skip
        for variant in variants:
            headers.update(variant)
            response = gateway.client.post(f"/webhooks/{provider}", content=body, headers=headers)
            seen[response.status_code] += 1
            assert response.status_code in (400, 413), (provider, variant, response.status_code)
            # Whatever X-Request-Id was sent, the one used is of the bounded shape.
            assert REQUEST_ID.fullmatch(response.headers["x-request-id"]), headers

    refuse()
    assert seen[400] > 0


def watermark(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """The partition's offsets, waiting out a new topic's leader election."""
    deadline = time.monotonic() + 30
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            return int(low), int(high)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def end_offsets(consumer: Consumer, topics: list[str]) -> list[TopicPartition]:
    metadata = consumer.list_topics(timeout=10)
    partitions = []
    for topic in topics:
        for partition in metadata.topics[topic].partitions:
            _, high = watermark(consumer, TopicPartition(topic, partition))
            partitions.append(TopicPartition(topic, partition, high))
    return partitions


def read_mine(start: list[TopicPartition], ids: set[str]) -> list[tuple[str, str, bytes, dict]]:
    """(topic, request_id, value, headers) of every message since `start` with one of ids."""
    consumer = Consumer({"bootstrap.servers": KafkaSettings().bootstrap_servers,
                         "group.id": f"adversarial-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})  # fmt: skip
    topics = list({tp.topic for tp in start})
    ends = {(tp.topic, tp.partition): tp.offset for tp in end_offsets(consumer, topics)}
    begins = {(tp.topic, tp.partition): tp.offset for tp in start}
    consumer.assign(start)
    found = []
    remaining = {key for key, end in ends.items() if end > begins.get(key, 0)}
    deadline = time.monotonic() + 120
    while remaining and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        headers = {k: (v or b"").decode() for k, v in (message.headers() or [])}
        if headers.get("request_id") in ids:
            found.append((message.topic(), headers["request_id"], message.value() or b"", headers))
        if message.offset() + 1 >= ends[(message.topic(), message.partition())]:
            remaining.discard((message.topic(), message.partition()))
    consumer.close()
    assert not remaining, f"could not read to the end of {remaining}"
    return found


def test_signed_random_bodies_are_in_kafka_exactly_once_with_bounded_memory(gateway):
    probe = Consumer({"bootstrap.servers": KafkaSettings().bootstrap_servers,
                      "group.id": "adversarial-probe"})  # fmt: skip
    start = end_offsets(probe, [*RAW_TOPICS.values(), DLQ])
    probe.close()
    # request id -> provider, sha256 of the body, status, whether it belongs in the raw topic
    sent: dict[str, tuple[str, str, int, bool | None]] = {}
    tracemalloc.start()
    baseline: list[int] = []
    wrong_status: list[tuple[int, int, bytes]] = []  # expected, got, the body's start

    @settings(max_examples=2000, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.sampled_from(["stripe", "square"]), bodies)
    def send(provider, body) -> None:
        request_id = f"adv-{uuid.uuid4().hex}"
        headers = {**signed(provider, body), "X-Request-Id": request_id,
                   "Content-Type": "application/json"}  # fmt: skip
        response = gateway.client.post(f"/webhooks/{provider}", content=body, headers=headers)
        digest = hashlib.sha256(body).hexdigest()
        sent[request_id] = (provider, digest, response.status_code, routed(body, provider))
        if len(sent) == 200:
            baseline.append(tracemalloc.get_traced_memory()[0])
        expected = 413 if len(body) > MAX_BODY else 202
        if response.status_code != expected:  # reported after the Kafka checks below
            wrong_status.append((expected, response.status_code, body[:60]))

    try:
        send()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Bounded: a few 1 MiB bodies in flight at most, and no growth per request.
    assert peak < 128 * 1024**2, f"peak {peak / 1024**2:.0f} MiB"
    if baseline:
        assert current - baseline[0] < 32 * 1024**2, "memory grows with the requests"

    accepted = {rid for rid, (_, _, status, _) in sent.items() if 200 <= status < 300}
    found = read_mine(start, set(sent))
    counts = Counter(rid for _, rid, _, _ in found)
    assert set(counts) == accepted, "refused requests written, or accepted ones missing"
    assert max(counts.values(), default=1) == 1, "a request was written twice"
    for topic, rid, value, headers in found:
        provider, digest, _, to_raw = sent[rid]
        assert hashlib.sha256(value).hexdigest() == digest, "the body was not kept exactly"
        assert headers.get("provider") == provider
        # The raw topic only for an acceptable event; otherwise the DLQ with a reason.
        if to_raw is not None:
            assert topic == (RAW_TOPICS[provider] if to_raw else DLQ), (rid, topic)
        if topic == DLQ:
            assert headers.get("reason") in {"MALFORMED_JSON", "NOT_A_JSON_OBJECT",
                                             "MISSING_ROUTING_FIELD"}  # fmt: skip
    # Every signed body up to the limit is accepted; only bigger ones get 413.
    assert not wrong_status, f"{len(wrong_status)} wrong answers, e.g. {wrong_status[:3]}"
