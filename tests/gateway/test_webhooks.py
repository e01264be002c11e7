"""The gateway app end to end over HTTP, with Kafka replaced by a recording publisher."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from gateway.main import create_app
from gateway.providers.square import sign_square
from gateway.providers.stripe import sign_stripe
from gateway.settings import GatewaySettings
from tests.gateway.conftest import SQUARE_KEY, SQUARE_URL, STRIPE_SECRETS
from tests.gateway.doubles import RecordingPublisher

STRIPE_EVENT = {"id": "evt_1", "object": "event", "type": "charge.succeeded",
                "account": "acct_1ABC", "created": 1795600800, "data": {"object": {}}}  # fmt: skip
SQUARE_EVENT = {"merchant_id": "ML7J9Z8XK2P4Q", "type": "payment.updated",
                "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc", "data": {}}  # fmt: skip
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def stripe_post(client: TestClient, body: bytes, secret: str = STRIPE_SECRETS[0], **headers):
    signed = sign_stripe(body, (secret,), int(time.time()))
    return client.post("/webhooks/stripe", content=body, headers={**signed, **headers})


def square_post(client: TestClient, body: bytes, key: str = SQUARE_KEY, **headers):
    signed = sign_square(body, key, SQUARE_URL)
    return client.post("/webhooks/square", content=body, headers={**signed, **headers})


def metric(client: TestClient, name: str, **labels: str) -> float:
    """The value of one sample on /metrics, 0 when it is not there yet."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in client.get("/metrics").text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == f"{name}{{{wanted}}}" or (not labels and sample == name):
            return float(value)
    return 0.0


def test_a_signed_stripe_event_is_written_with_key_and_headers(client, publisher):
    body = json.dumps(STRIPE_EVENT).encode()
    response = stripe_post(client, body, **{"X-Request-Id": "req-42"})
    assert response.status_code == 202
    assert response.json() == {"request_id": "req-42", "status": "accepted"}
    [written] = publisher.written
    assert (written.topic, written.key, written.value) == ("payments.stripe.raw", "acct_1ABC", body)
    assert written.headers["provider"] == "stripe"
    assert written.headers["request_id"] == "req-42"
    assert RFC3339_MS.match(written.headers["received_at"])
    assert "reason" not in written.headers


def test_a_stripe_event_without_account_is_keyed_platform(client, publisher):
    event = {k: v for k, v in STRIPE_EVENT.items() if k != "account"}
    assert stripe_post(client, json.dumps(event).encode()).status_code == 202
    assert publisher.written[0].key == "platform"


def test_a_signed_square_event_is_keyed_by_merchant(client, publisher):
    body = json.dumps(SQUARE_EVENT).encode()
    response = square_post(client, body)
    assert response.status_code == 202
    [written] = publisher.written
    assert (written.topic, written.key, written.value) == (
        "payments.square.raw", "ML7J9Z8XK2P4Q", body
    )  # fmt: skip
    assert written.headers["provider"] == "square"
    assert re.fullmatch(r"[0-9a-f]{32}", written.headers["request_id"])  # a uuid4 hex


def test_the_second_secret_is_accepted_too(client, publisher):
    assert stripe_post(client, json.dumps(STRIPE_EVENT).encode(), STRIPE_SECRETS[1]).is_success
    assert len(publisher.written) == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"Stripe-Signature": "t=1,v1=00"}, {"Stripe-Signature": f"t={int(time.time())},v0=ab"}],
    ids=["missing", "stale-and-wrong", "v0-only"],
)
def test_refused_stripe_requests_write_nothing(client, publisher, headers):
    response = client.post("/webhooks/stripe", json=STRIPE_EVENT, headers=headers)
    assert response.status_code == 400
    assert publisher.written == []


def test_a_tampered_body_is_refused(client, publisher):
    body = json.dumps(STRIPE_EVENT).encode()
    signed = sign_stripe(body, (STRIPE_SECRETS[0],), int(time.time()))
    response = client.post("/webhooks/stripe", content=body.replace(b"evt_1", b"evt_2"),
                           headers=signed)  # fmt: skip
    assert response.status_code == 400
    assert square_post(client, b"{}", key="not-the-key").status_code == 400
    assert publisher.written == []


def test_a_stale_timestamp_is_refused(client, publisher):
    body = json.dumps(STRIPE_EVENT).encode()
    stale = sign_stripe(body, (STRIPE_SECRETS[0],), int(time.time()) - 301)
    assert client.post("/webhooks/stripe", content=body, headers=stale).status_code == 400
    assert publisher.written == []


def test_without_secrets_every_request_is_refused(make_client, publisher):
    client = make_client(stripe_webhook_secrets=None, square_signature_key=None)
    assert client.get("/health").status_code == 200
    assert stripe_post(client, json.dumps(STRIPE_EVENT).encode()).status_code == 503
    assert square_post(client, json.dumps(SQUARE_EVENT).encode()).status_code == 503
    assert publisher.written == []
    assert (
        metric(client, "gateway_requests_total", provider="stripe", outcome="not_configured") == 1
    )


def test_an_empty_secret_list_or_missing_url_is_not_configured(make_client, publisher):
    client = make_client(stripe_webhook_secrets=" , ", square_notification_url=None)
    assert stripe_post(client, json.dumps(STRIPE_EVENT).encode(), " ").status_code == 503
    assert square_post(client, json.dumps(SQUARE_EVENT).encode()).status_code == 503
    assert publisher.written == []


def test_a_body_over_the_limit_is_refused_with_413(make_client, publisher):
    client = make_client(max_body_bytes=100)
    body = json.dumps({**STRIPE_EVENT, "pad": "x" * 100}).encode()
    assert stripe_post(client, body).status_code == 413
    assert publisher.written == []


def test_a_body_without_content_length_is_cut_off_at_the_limit(make_client, publisher):
    client = make_client(max_body_bytes=100)
    chunks = iter([b"{" + b" " * 60, b" " * 60, b"}"])  # a generator: chunked, no length
    signed = sign_stripe(b"", (STRIPE_SECRETS[0],), int(time.time()))
    response = client.post("/webhooks/stripe", content=chunks, headers=signed)
    assert response.status_code == 413
    assert publisher.written == []


def test_a_body_at_the_limit_is_accepted(make_client, publisher):
    client = make_client(max_body_bytes=200)
    body = json.dumps(STRIPE_EVENT).encode()
    body = body[:-1] + b" " * (200 - len(body)) + b"}"
    assert len(body) == 200
    assert stripe_post(client, body).status_code == 202


@pytest.mark.parametrize(
    ("provider", "body", "reason"),
    [
        ("stripe", b'{"id": "evt_1", "type": ', "MALFORMED_JSON"),
        ("stripe", b'{"id": "\xff", "type": "x"}', "MALFORMED_JSON"),
        ("stripe", b'{"id": "evt_1", "type": "x", "amount": NaN}', "MALFORMED_JSON"),
        ("stripe", b'{"id": "evt_1", "type": "x", "amount": -Infinity}', "MALFORMED_JSON"),
        ("stripe", b'{"id": "evt_1", "type": "x", "amount": 1e999}', "MALFORMED_JSON"),
        ("stripe", b"[" * 50_000 + b"]" * 50_000, "MALFORMED_JSON"),
        ("stripe", b'[{"id": "evt_1"}]', "NOT_A_JSON_OBJECT"),
        ("square", b'"text"', "NOT_A_JSON_OBJECT"),
        ("stripe", b'{"type": "charge.succeeded"}', "MISSING_ROUTING_FIELD"),
        ("stripe", b'{"id": 42, "type": "charge.succeeded"}', "MISSING_ROUTING_FIELD"),
        ("stripe", b'{"id": "evt_1", "type": "x", "account": 7}', "MISSING_ROUTING_FIELD"),
        ("square", b'{"event_id": "e", "type": "payment.created"}', "MISSING_ROUTING_FIELD"),
        ("square", b'{"event_id": "e", "merchant_id": "", "type": "t"}', "MISSING_ROUTING_FIELD"),
    ],
)
def test_signed_but_unroutable_bodies_go_to_the_dlq(client, publisher, provider, body, reason):
    post = stripe_post if provider == "stripe" else square_post
    response = post(client, body, **{"X-Request-Id": "req-dlq"})
    assert response.status_code == 202
    assert response.json()["reason"] == reason
    [written] = publisher.written
    assert (written.topic, written.key, written.value) == (
        "payments.ingestion.dlq",
        "req-dlq",
        body,
    )
    assert written.headers["reason"] == reason
    assert written.headers["provider"] == provider
    assert metric(client, "gateway_requests_total", provider=provider, outcome="dlq") == 1


def test_kafka_refusing_the_write_is_a_503(client, publisher: RecordingPublisher):
    publisher.failure = "delivery failed: broker down"
    assert stripe_post(client, json.dumps(STRIPE_EVENT).encode()).status_code == 503
    assert client.get("/ready").status_code == 503
    labels = {"topic": "payments.stripe.raw"}
    assert metric(client, "gateway_produce_failures_total", **labels) == 1
    assert metric(client, "gateway_requests_total", provider="stripe", outcome="unavailable") == 1


def test_metrics_count_requests_by_outcome(client):
    body = json.dumps(STRIPE_EVENT).encode()
    before = metric(client, "gateway_requests_total", provider="stripe", outcome="accepted")
    for _ in range(3):
        stripe_post(client, body)
    stripe_post(client, body, "whsec_wrong")
    assert (
        metric(client, "gateway_requests_total", provider="stripe", outcome="accepted")
        == before + 3
    )
    assert metric(client, "gateway_requests_total", provider="stripe", outcome="bad_signature") == 1
    assert metric(client, "gateway_request_duration_seconds_count", provider="stripe") == 4


def test_each_app_has_its_own_metrics(make_client):
    first, second = make_client(), make_client()
    stripe_post(first, json.dumps(STRIPE_EVENT).encode())
    assert metric(first, "gateway_requests_total", provider="stripe", outcome="accepted") == 1
    assert metric(second, "gateway_requests_total", provider="stripe", outcome="accepted") == 0


def test_health_ready_and_unknown_providers(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"
    assert client.post("/webhooks/adyen", json={}).status_code == 404


def logged_lines(capsys, request_id: str) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if request_id in line]


def test_one_json_log_line_per_refused_request_without_secrets_or_body(client, capsys):
    body = json.dumps({**STRIPE_EVENT, "card": "4242424242424242"}).encode()
    stripe_post(client, body, secret="whsec_wrong", **{"X-Request-Id": "req-log"})
    lines = logged_lines(capsys, "req-log")
    assert len(lines) == 1
    assert lines[0]["provider"] == "stripe" and lines[0]["outcome"] == "bad_signature"
    assert lines[0]["status"] == 400 and lines[0]["latency_ms"] >= 0
    text = json.dumps(lines[0])
    assert "4242424242424242" not in text
    assert not any(secret in text for secret in STRIPE_SECRETS)


def test_an_accepted_request_is_only_counted_unless_its_logging_is_asked_for(make_client, capsys):
    body = json.dumps({**STRIPE_EVENT, "card": "4242424242424242"}).encode()
    quiet = make_client()
    stripe_post(quiet, body, **{"X-Request-Id": "req-quiet"})
    assert logged_lines(capsys, "req-quiet") == []
    assert metric(quiet, "gateway_requests_total", provider="stripe", outcome="accepted") == 1
    verbose = make_client(log_accepted=True)
    stripe_post(verbose, body, **{"X-Request-Id": "req-loud"})
    [line] = logged_lines(capsys, "req-loud")
    assert line["outcome"] == "accepted" and line["status"] == 202
    assert "4242424242424242" not in json.dumps(line)


@pytest.mark.parametrize(
    "sent",
    ["x" * 129, "a b", "id;drop", '{"json":1}', "../../etc", "caf\u00e9", "tab\there", "ok*"],
    ids=["too-long", "space", "semicolon", "json", "path", "non-ascii", "tab", "star"],
)
def test_an_unusable_request_id_is_replaced_and_logged(client, publisher, capsys, sent):
    # Unroutable, so the request id is also the DLQ's Kafka key.
    headers = {"X-Request-Id": sent.encode("utf-8")}
    response = stripe_post(client, b"[]", **headers)
    assert response.status_code == 202
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert response.json()["request_id"] == generated
    [written] = publisher.written
    assert (written.key, written.headers["request_id"]) == (generated, generated)
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [replaced] = [line for line in logged if "replaced" in line["message"]]
    assert replaced["request_id"] == generated
    assert replaced["sent_length"] == len(sent.encode("utf-8"))


@pytest.mark.parametrize("sent", ["a" * 128, "evt:1.2_3-x", "7"])
def test_a_request_id_of_the_bounded_shape_is_kept(client, publisher, sent):
    response = stripe_post(client, b"[]", **{"X-Request-Id": sent})
    assert response.headers["x-request-id"] == sent
    assert publisher.written[0].key == sent


def test_a_503_tells_the_client_nothing_of_kafka(client, publisher, capsys):
    publisher.failure = "delivery failed: Local: Message timed out (broker 10.1.2.3:9092)"
    response = stripe_post(client, json.dumps(STRIPE_EVENT).encode(), **{"X-Request-Id": "r-503"})
    assert response.status_code == 503
    assert "10.1.2.3" not in response.text and "timed out" not in response.text
    assert response.json()["detail"] == "the event could not be stored: retry later"
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "kafka_unreachable"}
    # The whole story is in the logs.
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [line] = [entry for entry in logged if entry.get("request_id") == "r-503"]
    assert line["error"] == publisher.failure
    [not_ready] = [entry for entry in logged if entry["message"] == "not ready"]
    assert "10.1.2.3" in not_ready["detail"]


def test_api_docs_are_off_unless_enabled(make_client, monkeypatch):
    default = make_client()
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert default.get(path).status_code == 404, path
    monkeypatch.setenv("GATEWAY_DOCS_ENABLED", "true")
    enabled = TestClient(create_app(GatewaySettings(), RecordingPublisher()))
    assert enabled.get("/openapi.json").json()["paths"].keys() >= {"/webhooks/stripe"}
    assert enabled.get("/docs").status_code == 200


def test_the_fast_path_takes_only_webhook_posts_and_fastapi_the_rest(client, publisher):
    body = json.dumps(STRIPE_EVENT).encode()
    assert stripe_post(client, body).status_code == 202  # the fast path
    assert client.get("/webhooks/stripe").status_code == 405  # FastAPI's routing
    assert client.get("/health").json() == {"status": "ok"}
    assert len(publisher.written) == 1
