"""Redeliveries on a Flink mini cluster: the first delivery of a provider event goes to
`payments` and the topic, every later one to `payment_redeliveries` with its own Kafka
coordinates and the first delivery's, so every raw message is accounted for."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from contracts.tables import REDELIVERY_COLUMNS, UNIFIED_COLUMNS, UNIFIED_QUARANTINE_COLUMNS
from normalization.providers import PROVIDERS
from tests.flink_venv import run_harness
from tests.normalization import envelopes as e
from tests.normalization.envelopes import Message, unified_event_id

HARNESS = Path(__file__).with_name("flink_harness.py")
KAFKA_TIMESTAMP_MS = 1_795_600_900_000

STRIPE_EVENT = json.dumps(e.stripe("payment_intent.succeeded", e.payment_intent()))
OTHER_STRIPE_EVENT = json.dumps(
    e.stripe("payment_intent.succeeded", e.payment_intent(), id="evt_other_0001")
)
SQUARE_EVENT = json.dumps(e.square("payment.updated", "payment", e.square_payment()))
# Each provider's messages in offset order.
MESSAGES = {
    "stripe": [
        Message("stripe", STRIPE_EVENT, received_at="2026-11-22T10:00:05.123Z"),
        Message("stripe", OTHER_STRIPE_EVENT, received_at="2026-11-22T10:00:06.000Z"),
        Message("stripe", STRIPE_EVENT, received_at="2026-11-22T11:00:00.000Z"),
        Message("stripe", "{not json", received_at="2026-11-22T11:30:00.000Z"),
        Message("stripe", STRIPE_EVENT, received_at="2026-11-22T12:00:00.000Z"),
    ],
    "square": [
        Message("square", SQUARE_EVENT, received_at="2026-11-22T10:00:07.000Z"),
        Message("square", SQUARE_EVENT, received_at="2026-11-22T10:05:00.000Z"),
    ],
}
STRIPE_ID = unified_event_id("stripe", "evt_3PqLx2Q9RKHgCVdK0abc1234")


def write_sources(folder: Path) -> dict[str, str]:
    files = {}
    for p in PROVIDERS:
        lines = []
        for offset, message in enumerate(MESSAGES[p.name]):
            headers = {
                k: base64.b64encode(v.encode()).decode() for k, v in message.header_items().items()
            }
            lines.append(
                json.dumps(
                    {
                        "payload": message.payload,
                        "kafka_partition": 0,
                        "kafka_offset": offset,
                        "kafka_timestamp_ms": KAFKA_TIMESTAMP_MS + offset,
                        "headers": headers,
                    }
                )
            )
        path = folder / f"{p.name}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        files[p.name] = str(path)
    return files


def rows(out: dict, name: str, columns: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [dict(zip([c for c, _ in columns], row, strict=True)) for row in out[name]]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> dict[str, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("redeliveries")
    job = {
        "files": write_sources(folder),
        "settings": {"catalog": "lakehouse", "namespace": "payments_db"},
    }
    raw = run_harness(HARNESS, job, folder)
    return {
        "payments": rows(raw, "payments", UNIFIED_COLUMNS),
        "topic": rows(raw, "topic", UNIFIED_COLUMNS),
        "quarantine": rows(raw, "quarantine", UNIFIED_QUARANTINE_COLUMNS),
        "redeliveries": rows(raw, "redeliveries", REDELIVERY_COLUMNS),
        "plan": raw["plan"],
    }


def coordinates(row: dict[str, Any]) -> tuple[str, int]:
    return row["kafka_topic"], int(row["kafka_offset"])


def test_each_provider_event_has_one_row_and_its_redeliveries_one_row_each(out):
    assert sorted(r["provider_event_id"] for r in out["payments"]) == sorted(
        [
            "evt_3PqLx2Q9RKHgCVdK0abc1234",
            "evt_other_0001",
            e.square("payment.updated", "payment", e.square_payment())["event_id"],
        ]
    )
    stripe_topic = next(p.topic for p in PROVIDERS if p.name == "stripe")
    dropped = sorted(
        (r for r in out["redeliveries"] if r["event_id"] == STRIPE_ID),
        key=lambda r: int(r["delivery_number"]),
    )
    assert [(int(r["delivery_number"]), int(r["kafka_offset"])) for r in dropped] == [
        (2, 2),
        (3, 4),
    ]
    for r in dropped:
        assert (r["provider"], r["provider_event_id"]) == (
            "stripe",
            "evt_3PqLx2Q9RKHgCVdK0abc1234",
        )
        assert r["provider_event_type"] == "payment_intent.succeeded"
        assert (r["kafka_topic"], r["first_kafka_topic"]) == (stripe_topic, stripe_topic)
        assert (int(r["first_kafka_partition"]), int(r["first_kafka_offset"])) == (0, 0)
        assert r["first_seen_at"].startswith("2026-11-22 10:00:05.123")
        assert r["dropped_at"] is not None
    assert [r["received_at"][:19] for r in dropped] == [
        "2026-11-22 11:00:00",
        "2026-11-22 12:00:00",
    ]
    (square,) = [r for r in out["redeliveries"] if r["provider"] == "square"]
    assert (int(square["delivery_number"]), int(square["kafka_offset"])) == (2, 1)


def test_every_message_is_in_exactly_one_place(out):
    places = [
        coordinates(r) for name in ("payments", "quarantine", "redeliveries") for r in out[name]
    ]
    assert len(places) == len(set(places)) == sum(len(m) for m in MESSAGES.values())
    assert sorted(coordinates(r) for r in out["topic"]) == sorted(
        coordinates(r) for r in out["payments"]
    )


def test_one_operator_numbers_the_deliveries(out):
    """The table, the topic and the redeliveries share one numbering (in the plan that
    runs), so which delivery is kept and which are dropped can never disagree."""
    executed = out["plan"].split("== Optimized Execution Plan ==")[1]
    assert executed.count("OverAggregate(partitionBy=[event_id]") == 1
    assert "Deduplicate" not in executed
    assert "lakehouse.payments_db.payment_redeliveries" in executed
