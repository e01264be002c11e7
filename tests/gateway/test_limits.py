"""What bounds the gateway's work per request, over real HTTP connections (uvicorn on a
free port, in-process): a body that stalls is answered 408, and past
max_in_flight_requests a request is answered 503 at once."""

from __future__ import annotations

import json
import time

import httpx

from gateway.main import create_app
from gateway.providers.stripe import sign_stripe
from tests.gateway.conftest import STRIPE_SECRETS, gateway_settings
from tests.gateway.doubles import RecordingPublisher
from tests.gateway.serving import served, stalled_request, status_line

BODY = json.dumps({"id": "evt_1", "object": "event", "type": "charge.succeeded",
                   "account": "acct_1", "data": {"object": {}}}).encode()  # fmt: skip


def signed_post(http: httpx.Client) -> httpx.Response:
    headers = sign_stripe(BODY, STRIPE_SECRETS[:1], int(time.time()))
    return http.post("/webhooks/stripe", content=BODY, headers=headers)


def test_a_stalled_body_is_answered_408_and_writes_nothing():
    publisher = RecordingPublisher()
    app = create_app(gateway_settings(body_read_timeout_seconds=0.5), publisher)
    with served(app) as (host, port):
        connection = stalled_request(host, port, "/webhooks/stripe", 100, b'{"id": ')
        with connection:
            started = time.monotonic()
            line = status_line(connection, timeout=5)
            elapsed = time.monotonic() - started
    assert line.startswith("HTTP/1.1 408"), f"got {line!r} after {elapsed:.1f}s"
    assert elapsed < 3
    assert publisher.written == []


def test_past_the_in_flight_limit_a_request_is_answered_503_at_once():
    publisher = RecordingPublisher()
    settings = gateway_settings(max_in_flight_requests=2, body_read_timeout_seconds=30)
    with served(create_app(settings, publisher)) as (host, port):
        # Two requests hold both slots: their bodies never finish.
        holders = [stalled_request(host, port, "/webhooks/stripe", 100, b"{") for _ in range(2)]
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=10) as http:
            time.sleep(0.3)  # both are in the endpoint now
            started = time.monotonic()
            refused = signed_post(http)
            elapsed = time.monotonic() - started
            for holder in holders:
                holder.close()  # the slots are free again
            time.sleep(0.3)
            accepted = signed_post(http)
    assert refused.status_code == 503, refused.text
    assert refused.json()["detail"] == "too many requests in flight: retry later"
    assert refused.headers["retry-after"] == "1"
    assert elapsed < 1
    assert accepted.status_code == 202
    assert len(publisher.written) == 1
