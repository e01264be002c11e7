"""The simulator: deterministic, realistic events, and what the gateway answers them."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter, defaultdict

import httpx
import pytest

from contracts.topics import INGESTION_DLQ, WEBHOOK_RAW_TOPICS
from gateway.main import create_app
from loadgen.webhooks import Kind, Mix, generate_events, post_events
from loadgen.webhooks.cli import main, parse_args
from tests.gateway.conftest import (
    gateway_settings,
    simulator_credentials,
)
from tests.gateway.doubles import RecordingPublisher

CREDENTIALS = simulator_credentials()
STRIPE_TYPES = {
    "payment_intent.succeeded", "payment_intent.payment_failed", "charge.succeeded",
    "charge.failed", "charge.refunded", "charge.dispute.created", "charge.dispute.closed",
    "customer.subscription.created", "customer.subscription.updated",
    "customer.subscription.deleted",
}  # fmt: skip
SQUARE_TYPES = {"payment.created", "payment.updated", "refund.created", "refund.updated"}


def test_the_same_seed_gives_the_same_events_and_another_seed_others():
    assert generate_events(200, seed=11) == generate_events(200, seed=11)
    assert generate_events(200, seed=11) != generate_events(200, seed=12)


def test_every_event_type_appears_in_the_providers_envelopes():
    events = [e for e in generate_events(3000, seed=1, mix=Mix(0, 0)) if e.kind is Kind.VALID]
    types = Counter((e.provider, e.event_type) for e in events)
    assert {t for p, t in types if p == "stripe"} == STRIPE_TYPES
    assert {t for p, t in types if p == "square"} == SQUARE_TYPES
    for event in events:
        body = json.loads(event.body)
        if event.provider == "stripe":
            assert body["object"] == "event" and body["id"].startswith("evt_")
            assert body["account"].startswith("acct_") and isinstance(body["created"], int)
            assert {"api_version", "livemode", "pending_webhooks", "request"} <= body.keys()
            obj = body["data"]["object"]
            if "currency" in obj:
                assert obj["currency"] == obj["currency"].lower()
        else:
            assert {"merchant_id", "type", "event_id", "created_at", "data"} <= body.keys()
            obj = body["data"]["object"][body["data"]["type"]]
            assert obj["id"] == body["data"]["id"]
            assert obj["amount_money"]["currency"].isupper()
            assert isinstance(obj["amount_money"]["amount"], int)


def test_ids_are_consistent_across_an_objects_lifecycle():
    events = [json.loads(e.body) for e in generate_events(2000, seed=2, mix=Mix(0, 0))]
    stripe = [e for e in events if "account" in e]
    charges = {e["data"]["object"]["id"]: e for e in stripe if e["type"].startswith("charge.")
               and e["data"]["object"]["object"] == "charge"}  # fmt: skip
    intents = [e["data"]["object"] for e in stripe if e["type"].startswith("payment_intent")]
    assert intents
    for intent in intents:  # a charge's events come before its intent's
        charge = charges[intent["latest_charge"]]["data"]["object"]
        assert charge["payment_intent"] == intent["id"]
        assert (charge["customer"], charge["amount"]) == (intent["customer"], intent["amount"])
    disputes = [e for e in stripe if e["type"].startswith("charge.dispute")]
    assert disputes and all(d["data"]["object"]["charge"] in charges for d in disputes)
    # A subscription's events all carry the same customer and account.
    subscriptions = defaultdict(set)
    for e in stripe:
        if e["type"].startswith("customer.subscription"):
            subscriptions[e["data"]["object"]["id"]].add(
                (e["account"], e["data"]["object"]["customer"])
            )
    assert subscriptions and all(len(owners) == 1 for owners in subscriptions.values())
    square_payments = {e["data"]["id"] for e in events if e.get("type", "").startswith("payment.")}
    refunds = [e for e in events if e.get("type", "").startswith("refund.")]
    assert refunds and all(
        r["data"]["object"]["refund"]["payment_id"] in square_payments for r in refunds
    )


def test_redeliveries_repeat_an_earlier_event_byte_for_byte():
    events = generate_events(1000, seed=3, mix=Mix(bad_share=0, redelivery_share=0.2))
    redelivered = [(i, e) for i, e in enumerate(events) if e.kind is Kind.REDELIVERY]
    assert len(redelivered) > 100
    for index, event in redelivered:
        assert any(earlier.body == event.body for earlier in events[:index])


def test_the_bad_share_has_each_kind_of_defect():
    events = generate_events(4000, seed=4, mix=Mix(bad_share=0.3, redelivery_share=0))
    details = Counter(e.detail.split(":")[0] for e in events if e.kind is not Kind.VALID)
    assert {
        "signed with a wrong secret", "truncated_json", "json_array", "missing_id",
        "missing_merchant_id", "invalid_currency", "missing_currency", "negative_amount",
        "missing_customer", "missing_account", "unparseable_created",
    } <= details.keys()  # fmt: skip
    share = sum(details.values()) / len(events)
    assert 0.25 < share < 0.35


def run_against_app(events, publisher: RecordingPublisher):
    app = create_app(gateway_settings(), publisher)
    transport = httpx.ASGITransport(app=app)
    return asyncio.run(
        post_events(events, "http://gateway", CREDENTIALS, rate=2000, concurrency=8,
                    run_id="t", transport=transport)
    )  # fmt: skip


def test_the_gateway_answers_every_simulated_event_as_expected():
    events = generate_events(400, seed=5, mix=Mix(bad_share=0.3, redelivery_share=0.1))
    publisher = RecordingPublisher()
    outcomes = run_against_app(events, publisher)
    assert [o.index for o in outcomes] == list(range(400))
    assert all(o.as_expected for o in outcomes), [o for o in outcomes if not o.as_expected][:3]
    written = {w.headers["request_id"]: w for w in publisher.written}
    for outcome in outcomes:
        where = written.get(outcome.request_id)
        if outcome.event.expected_topic is None:
            assert where is None
        elif outcome.event.expected_topic == "dlq":
            assert where is not None and where.topic == INGESTION_DLQ
            assert outcome.event.detail.endswith(where.headers["reason"])
        else:
            assert where is not None and where.topic == WEBHOOK_RAW_TOPICS[outcome.event.provider]
            assert where.value == outcome.event.body


def test_the_duration_is_parsed_as_the_jr_driver_parses_it(capsys):
    assert parse_args(["--duration", "1.5h"]).duration == 5400
    with pytest.raises(SystemExit):
        parse_args(["--duration", "soon"])
    assert "not a duration: 'soon'" in capsys.readouterr().err


def test_an_unreachable_gateway_is_a_clear_error(capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["--url", f"http://127.0.0.1:{port}", "--duration", "1s"]) == 2
    assert "make gateway" in capsys.readouterr().err


def test_the_default_gateway_is_the_platform_s_port(monkeypatch):
    monkeypatch.setenv("PAYSTREAM_GATEWAY_PORT", "8123")
    assert parse_args([]).url == "http://127.0.0.1:8123"
    assert parse_args(["--url", "http://127.0.0.1:9"]).url == "http://127.0.0.1:9"
