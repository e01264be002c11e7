"""The normalisation job's SQL on a Flink mini cluster: hand-written Stripe and Square
envelopes of every mapped event type, bad ones and redeliveries, asserted field by field.

The provider tables stand in for the Kafka sources; everything after them (views, the
deduplication, the inserts' SELECTs) is the job's own SQL. The whole job, with its real
Kafka and catalog tables, is planned (`explain`) as well.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.reasons import NORMALIZATION_REASONS, Reason
from contracts.tables import TIMESTAMPTZ, UNIFIED_COLUMNS, UNIFIED_QUARANTINE_COLUMNS
from normalization.providers import PROVIDERS
from tests.flink_venv import run_harness
from tests.normalization import envelopes as e
from tests.normalization.envelopes import DELETE, Message, unified_event_id

HARNESS = Path(__file__).with_name("flink_harness.py")
KAFKA_TIMESTAMP_MS = 1_795_600_900_000  # 2026-11-25T10:01:40Z


@dataclass
class Case:
    name: str
    message: Message
    reasons: list[Reason] = field(default_factory=list)  # none: a valid event
    expected: dict[str, Any] = field(default_factory=dict)  # unified fields, as JSON values
    redelivery_of: str | None = None


def stripe(name: str, event: dict[str, Any], **kwargs: Any) -> Case:
    return Case(name, Message("stripe", json.dumps(event)), **kwargs)


def square(name: str, event: dict[str, Any], **kwargs: Any) -> Case:
    return Case(name, Message("square", json.dumps(event)), **kwargs)


PI_SUCCEEDED = e.stripe("payment_intent.succeeded", e.payment_intent())
SQ_COMPLETED = e.square("payment.updated", "payment", e.square_payment())

CASES = [
    stripe(
        "stripe_payment_intent_succeeded",
        PI_SUCCEEDED,
        expected={
            "event_id": unified_event_id("stripe", "evt_3PqLx2Q9RKHgCVdK0abc1234"),
            "provider": "stripe",
            "provider_event_id": "evt_3PqLx2Q9RKHgCVdK0abc1234",
            "provider_event_type": "payment_intent.succeeded",
            "event_type": "payment.succeeded",
            "object_id": "pi_3PqLx2Q9RKHgCVdK1xyz",
            "merchant_id": e.ACCOUNT,
            "customer_id": "cus_QhT1x9aB",
            "amount_minor": 2599,
            "currency": "USD",
            "payment_method_type": "card",
            "card_brand": None,
            "card_last_four": None,
            "status": "succeeded",
            "failure_code": None,
            "failure_message": None,
            "metadata": {
                "metadata": {"order_id": "1042", "channel": "web"},
                "description": "Order #1042",
                "object": "payment_intent",
                "api_version": "2024-06-20",
                "livemode": "false",
                "request_id": "req_Zx81PqL0aB",
                "idempotency_key": "5b6c-idem",
                "latest_charge": "ch_3PqLx2Q9RKHgCVdK1abc",
            },
            "provider_created_at": "2026-11-25T10:00:00.000000Z",
            "received_at": "2026-11-22T10:00:05.123000Z",
            "schema_version": 1,
        },
    ),
    stripe(
        "stripe_payment_intent_failed",
        e.stripe(
            "payment_intent.payment_failed",
            e.payment_intent(
                status="requires_payment_method",
                last_payment_error={
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                    "payment_method": {
                        "type": "card",
                        "card": {"brand": "visa", "last4": "0341"},
                    },
                },
            ),
            id="evt_pi_failed_01",
        ),
        expected={
            "event_type": "payment.failed",
            "status": "requires_payment_method",
            "payment_method_type": "card",
            "card_brand": "visa",
            "card_last_four": "0341",
            "failure_code": "card_declined",
            "failure_message": "Your card has insufficient funds.",
        },
    ),
    stripe(
        "stripe_charge_succeeded_on_the_platform_account",
        {
            k: v
            for k, v in e.stripe("charge.succeeded", e.charge(), id="evt_ch_01").items()
            if k != "account"
        },
        expected={
            "event_type": "payment.succeeded",
            "object_id": "ch_3PqLx2Q9RKHgCVdK1abc",
            "merchant_id": "platform",
            "amount_minor": 4200,
            "currency": "EUR",
            "card_brand": "mastercard",
            "card_last_four": "4444",
        },
    ),
    stripe(
        "stripe_charge_failed",
        e.stripe(
            "charge.failed",
            e.charge(status="failed", failure_code="expired_card", failure_message="Expired."),
            id="evt_ch_02",
        ),
        expected={"event_type": "payment.failed", "failure_code": "expired_card"},
    ),
    stripe(
        "stripe_charge_refunded",
        e.stripe("charge.refunded", e.charge(amount_refunded=1500), id="evt_ch_03"),
        expected={"event_type": "refund.succeeded", "amount_minor": 1500},
    ),
    stripe(
        "stripe_refund_failed",
        e.stripe(
            "refund.updated",
            e.refund(status="failed", failure_reason="expired_or_canceled_card"),
            id="evt_re_01",
        ),
        expected={
            "event_type": "refund.failed",
            "object_id": "re_3PqLx2Q9RKHgCVdK1r01",
            "customer_id": None,
            "failure_code": "expired_or_canceled_card",
        },
    ),
    stripe(
        "stripe_dispute_created_in_jpy",
        e.stripe("charge.dispute.created", e.dispute(amount=5000, currency="jpy"), id="evt_dp_01"),
        expected={"event_type": "dispute.created", "amount_minor": 5000, "currency": "JPY"},
    ),
    stripe(
        "stripe_subscription_deleted",
        e.stripe(
            "customer.subscription.deleted", e.subscription(status="canceled"), id="evt_sub_01"
        ),
        expected={
            "event_type": "subscription.canceled",
            "amount_minor": 1500,
            "status": "canceled",
            "object_id": "sub_1PqLx2Q9RKHgCVdKs001",
        },
    ),
    stripe(
        "stripe_metered_subscription_has_no_amount",
        e.stripe("customer.subscription.updated", e.subscription(None), id="evt_sub_02"),
        expected={"event_type": "subscription.updated", "amount_minor": None},
    ),
    Case(
        "stripe_redelivery",
        Message("stripe", json.dumps(PI_SUCCEEDED), received_at="2026-11-22T11:00:00.000Z"),
        redelivery_of="stripe_payment_intent_succeeded",
    ),
    stripe(
        "stripe_invalid_currency",
        e.stripe("charge.succeeded", e.charge(currency="xyz"), id="evt_bad_01"),
        reasons=[Reason.INVALID_CURRENCY],
    ),
    stripe(
        "stripe_negative_amount",
        e.stripe("charge.succeeded", e.charge(amount=-500), id="evt_bad_02"),
        reasons=[Reason.INVALID_AMOUNT_NEGATIVE],
    ),
    stripe(
        "stripe_amount_in_major_units",
        e.stripe("charge.succeeded", e.charge(amount="12.50"), id="evt_bad_03"),
        reasons=[Reason.INVALID_AMOUNT],
    ),
    stripe(
        "stripe_amount_too_large",
        e.stripe("charge.succeeded", e.charge(amount=100_000_001), id="evt_bad_04"),
        reasons=[Reason.INVALID_AMOUNT_TOO_LARGE],
    ),
    stripe(
        "stripe_no_id_null_like_currency_no_created",
        {
            k: v
            for k, v in e.stripe("charge.succeeded", e.charge(currency=" N/A ")).items()
            if k not in ("id", "created")
        },
        reasons=[
            Reason.MISSING_PROVIDER_EVENT_ID,
            Reason.MISSING_CURRENCY,
            Reason.MISSING_CREATED_AT,
        ],
    ),
    stripe(
        "stripe_unsupported_type",
        e.stripe("invoice.paid", {"id": "in_01", "object": "invoice"}, id="evt_bad_05"),
        reasons=[Reason.UNSUPPORTED_EVENT_TYPE],
    ),
    stripe(
        "stripe_refund_with_unknown_status",
        e.stripe("refund.updated", e.refund(status="exploded"), id="evt_bad_06"),
        reasons=[Reason.INVALID_STATUS],
    ),
    Case("stripe_not_json", Message("stripe", '{"id": "evt_x", "type": '), [Reason.MALFORMED_JSON]),
    Case("stripe_json_array", Message("stripe", "[1, 2]"), [Reason.MALFORMED_JSON]),
    square(
        "square_payment_completed",
        SQ_COMPLETED,
        expected={
            "event_id": unified_event_id("square", "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc"),
            "provider": "square",
            "provider_event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
            "provider_event_type": "payment.updated",
            "event_type": "payment.succeeded",
            "object_id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
            "merchant_id": e.SQUARE_MERCHANT,
            "customer_id": "JDKYHBWT1D4F8MFH63DBMEN8Y4",
            "amount_minor": 1099,
            "currency": "USD",
            "payment_method_type": "card",
            "card_brand": "visa",
            "card_last_four": "1111",
            "status": "completed",
            "failure_code": None,
            "failure_message": None,
            "metadata": {
                "data_type": "payment",
                "data_id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
                "location_id": "L88917AVBK2S5",
                "order_id": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
                "card_status": "CAPTURED",
                "entry_method": "KEYED",
                "total_money": {"amount": 1199, "currency": "USD"},
            },
            "provider_created_at": "2026-11-22T10:00:00.123000Z",
            "received_at": "2026-11-22T10:00:05.123000Z",
            "schema_version": 1,
        },
    ),
    square(
        "square_payment_failed",
        e.square(
            "payment.updated",
            "payment",
            e.square_payment(
                status="FAILED",
                card_details={
                    "status": "FAILED",
                    "card": {"card_brand": "MASTERCARD", "last_4": "5100"},
                    "errors": [
                        {
                            "category": "PAYMENT_METHOD_ERROR",
                            "code": "CVV_FAILURE",
                            "detail": "Card verification code check failed.",
                        }
                    ],
                },
            ),
            event_id="0b2b3c4d-0000-4000-8000-000000000002",
        ),
        expected={
            "event_type": "payment.failed",
            "card_brand": "mastercard",
            "failure_code": "CVV_FAILURE",
            "failure_message": "Card verification code check failed.",
        },
    ),
    square(
        "square_payment_approved_with_offset_time",
        e.square(
            "payment.created",
            "payment",
            e.square_payment(status="APPROVED"),
            event_id="0b2b3c4d-0000-4000-8000-000000000003",
            created_at="2026-11-22T12:00:00+02:00",
        ),
        expected={
            "event_type": "payment.pending",
            "provider_created_at": "2026-11-22T10:00:00.000000Z",
        },
    ),
    Case(
        "square_refund_rejected_without_received_header",
        Message(
            "square",
            json.dumps(
                e.square(
                    "refund.updated",
                    "refund",
                    e.square_refund(status="REJECTED"),
                    event_id="0b2b3c4d-0000-4000-8000-000000000004",
                )
            ),
            received_at=None,
        ),
        expected={"event_type": "refund.failed", "amount_minor": 500, "status": "rejected"},
    ),
    square(
        "square_refund_completed",
        e.square(
            "refund.created",
            "refund",
            e.square_refund(),
            event_id="0b2b3c4d-0000-4000-8000-000000000005",
        ),
        expected={
            "event_type": "refund.succeeded",
            "metadata": {
                "data_type": "refund",
                "data_id": "KkAkhdMsgzn59SM8A89WgKwekxLZY_ptNmbqm4BKHmAsXXq4T4UV",
                "payment_id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
                "reason": "Returned goods",
                "location_id": "L88917AVBK2S5",
            },
        },
    ),
    square(
        "square_same_provider_id_as_stripe_is_another_event",
        e.square(
            "payment.created",
            "payment",
            e.square_payment(),
            event_id="evt_3PqLx2Q9RKHgCVdK0abc1234",
        ),
        expected={"event_id": unified_event_id("square", "evt_3PqLx2Q9RKHgCVdK0abc1234")},
    ),
    Case(
        "square_redelivery",
        Message("square", json.dumps(SQ_COMPLETED), received_at="2026-11-22T10:05:00.000Z"),
        redelivery_of="square_payment_completed",
    ),
    square(
        "square_no_merchant_no_status",
        e.variant(
            e.variant(
                e.square(
                    "payment.updated",
                    "payment",
                    e.square_payment(),
                    event_id="0b2b3c4d-0000-4000-8000-000000000006",
                ),
                "merchant_id",
                DELETE,
            ),
            "data.object.payment.status",
            None,
        ),
        reasons=[Reason.MISSING_MERCHANT_ID, Reason.MISSING_STATUS],
    ),
    square(
        "square_impossible_date_and_missing_money",
        e.variant(
            e.square(
                "payment.updated",
                "payment",
                e.square_payment(),
                event_id="0b2b3c4d-0000-4000-8000-000000000007",
                created_at="2026-02-30T10:00:00Z",
            ),
            "data.object.payment.amount_money",
            DELETE,
        ),
        reasons=[Reason.MISSING_CURRENCY, Reason.MISSING_AMOUNT, Reason.INVALID_TIMESTAMP],
    ),
    square(
        "square_missing_type",
        e.variant(SQ_COMPLETED, "type", DELETE)
        | {"event_id": "0b2b3c4d-0000-4000-8000-00000000000a"},
        reasons=[Reason.MISSING_EVENT_TYPE],
    ),
    Case("square_empty_message", Message("square", ""), [Reason.MALFORMED_JSON]),
]
BY_NAME = {c.name: c for c in CASES}


def write_sources(folder: Path) -> dict[str, str]:
    """Each provider's messages as JSON lines; a case's offset is its index in its provider."""
    files = {}
    for p in PROVIDERS:
        lines = []
        for offset, case in enumerate(c for c in CASES if c.message.provider == p.name):
            headers = {
                k: base64.b64encode(v.encode()).decode()
                for k, v in case.message.header_items().items()
            }
            lines.append(
                json.dumps(
                    {
                        "payload": case.message.payload,
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


def coordinates(case: Case) -> tuple[str, int]:
    same = [c for c in CASES if c.message.provider == case.message.provider]
    return case.message.provider, same.index(case)


@dataclass
class Results:
    topic: dict[tuple[str, int], dict[str, Any]]
    payments: dict[tuple[str, int], dict[str, Any]]
    quarantine: dict[tuple[str, int], dict[str, Any]]
    plan: str
    started: datetime
    finished: datetime


def keyed(rows: list[list[Any]], columns: list[tuple[str, str]]) -> dict[tuple[str, int], dict]:
    records = [dict(zip([n for n, _ in columns], row, strict=True)) for row in rows]
    topic_of = {p.topic: p.name for p in PROVIDERS}
    keyed_records = {(topic_of[r["kafka_topic"]], int(r["kafka_offset"])): r for r in records}
    assert len(keyed_records) == len(records), "two rows for one message"
    return keyed_records


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Results:
    folder = tmp_path_factory.mktemp("normalization")
    job = {
        "files": write_sources(folder),
        "settings": {"catalog": "lakehouse", "namespace": "payments_db"},
    }
    started = datetime.now(UTC)
    out = run_harness(HARNESS, job, folder)
    finished = datetime.now(UTC)
    return Results(
        topic=keyed(out["topic"], UNIFIED_COLUMNS),
        payments=keyed(out["payments"], UNIFIED_COLUMNS),
        quarantine=keyed(out["quarantine"], UNIFIED_QUARANTINE_COLUMNS),
        plan=out["plan"],
        started=started,
        finished=finished,
    )


def as_json_value(name: str, text: str | None) -> Any:
    """The topic's column as the JSON would carry it."""
    if text is None:
        return None
    if name in ("amount_minor", "schema_version", "kafka_partition", "kafka_offset"):
        return int(text)
    if name == "metadata":
        return json.loads(text)
    return text


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=UTC)


VALID = [c for c in CASES if not c.reasons and not c.redelivery_of]
INVALID = [c for c in CASES if c.reasons]


@pytest.mark.parametrize("case", VALID, ids=[c.name for c in VALID])
def test_valid_event_becomes_one_unified_row(case: Case, results: Results):
    where = coordinates(case)
    assert where in results.topic and where not in results.quarantine
    row = {name: as_json_value(name, v) for name, v in results.topic[where].items()}
    for name, expected in case.expected.items():
        assert row[name] == expected, name
    provider_event_id = json.loads(case.message.payload or "{}").get("id") or json.loads(
        case.message.payload or "{}"
    ).get("event_id")
    assert row["event_id"] == unified_event_id(case.message.provider, provider_event_id)
    assert row["kafka_topic"] == next(p.topic for p in PROVIDERS if p.name == where[0])
    assert (row["kafka_partition"], row["kafka_offset"]) == (0, where[1])
    processed = datetime.fromisoformat(row["processed_at"])
    assert results.started <= processed <= results.finished
    for name, kind in UNIFIED_COLUMNS:
        if kind == TIMESTAMPTZ and row[name] is not None:
            assert row[name].endswith("Z") and "T" in row[name], name


def test_the_table_gets_the_same_rows_as_the_topic(results: Results):
    assert results.payments.keys() == results.topic.keys()
    for where, row in results.payments.items():
        for name, kind in UNIFIED_COLUMNS:
            topic_value, table_value = results.topic[where][name], row[name]
            if kind == TIMESTAMPTZ and table_value is not None:
                assert instant(table_value) == datetime.fromisoformat(topic_value), name
            else:
                assert table_value == topic_value, name


def test_without_a_received_at_header_the_broker_time_is_used(results: Results):
    row = results.topic[coordinates(BY_NAME["square_refund_rejected_without_received_header"])]
    offset = coordinates(BY_NAME["square_refund_rejected_without_received_header"])[1]
    expected = datetime.fromtimestamp((KAFKA_TIMESTAMP_MS + offset) / 1000, UTC)
    assert datetime.fromisoformat(row["received_at"]) == expected


@pytest.mark.parametrize("case", INVALID, ids=[c.name for c in INVALID])
def test_invalid_event_is_quarantined_with_its_reasons(case: Case, results: Results):
    where = coordinates(case)
    assert where in results.quarantine and where not in results.topic
    row = results.quarantine[where]
    assert row["rejection_reasons"].startswith("[") and row["rejection_reasons"].endswith("]")
    assert row["rejection_reasons"][1:-1].split(", ") == [r.value for r in case.reasons]
    assert row["rejection_reason"] == case.reasons[0].value
    assert row["raw_payload"] == case.message.payload
    assert row["provider"] == case.message.provider
    assert row["kafka_timestamp"] is not None and row["quarantine_timestamp"] is not None
    try:
        envelope = json.loads(case.message.payload or "")
    except json.JSONDecodeError:
        envelope = None
    provider_id = (
        (envelope.get("id") or envelope.get("event_id")) if isinstance(envelope, dict) else None
    )
    assert row["provider_event_id"] == provider_id
    expected_id = unified_event_id(case.message.provider, provider_id) if provider_id else None
    assert row["event_id"] == expected_id


def test_redeliveries_are_dropped_and_the_first_delivery_kept(results: Results):
    redeliveries = [(c, BY_NAME[c.redelivery_of]) for c in CASES if c.redelivery_of]
    assert redeliveries
    for again, first in redeliveries:
        assert coordinates(first) in results.topic
        assert coordinates(again) not in results.topic
        assert coordinates(again) not in results.quarantine
        # The row is the first delivery's: its gateway receipt time, not the retry's.
        assert first.message.received_at != again.message.received_at
        assert results.topic[coordinates(first)]["received_at"] == (
            datetime.fromisoformat(first.message.received_at or "")
            .astimezone(UTC)
            .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        )


def test_every_message_is_accounted_for(results: Results):
    """In the table, in quarantine, or a recognised redelivery: never two, never none."""
    for case in CASES:
        where = coordinates(case)
        places = [where in results.topic, where in results.quarantine, bool(case.redelivery_of)]
        assert places.count(True) == 1, case.name
    assert len(results.topic) + len(results.quarantine) + sum(
        bool(c.redelivery_of) for c in CASES
    ) == len(CASES)


def test_every_reason_is_exercised():
    assert {r for c in CASES for r in c.reasons} == set(NORMALIZATION_REASONS)


def test_the_whole_job_is_planned_with_one_deduplication(results: Results):
    plan = results.plan
    # The deliveries of each event id are numbered once (test_redeliveries.py).
    assert "OverAggregate(partitionBy=[event_id], orderBy=[proctime ASC]" in plan
    for p in PROVIDERS:
        assert f"table=[[default_catalog, default_database, raw_{p.name}" in plan
    assert "lakehouse.payments_db.payments" in plan or "payments_db, payments]" in plan
    assert "normalized_topic" in plan


# -- the same contract rules as the JR path (validation.rules), from Kafka's bytes -----------


def hostile_webhooks() -> list[tuple[str, str, bytes, list[Reason]]]:
    """(name, provider, message bytes, reasons): the validation job's hard cases, as webhooks."""
    stripe_body = json.dumps(PI_SUCCEEDED).encode()
    square_body = json.dumps(SQ_COMPLETED).encode()

    def stripe_variant(path: str, value: Any) -> bytes:
        return json.dumps(e.variant(PI_SUCCEEDED, path, value)).encode()

    def square_variant(path: str, value: Any) -> bytes:
        return json.dumps(e.variant(SQ_COMPLETED, path, value)).encode()

    bad_json = [Reason.MALFORMED_JSON]
    amount = "data.object.payment.amount_money.amount"
    long_account = "acct_" + " " * 300_000 + "x"
    invalid_amount, invalid_status = [Reason.INVALID_AMOUNT], [Reason.INVALID_STATUS]
    return [
        ("stripe two objects", "stripe", stripe_body + stripe_body, bad_json),
        ("stripe garbage ending in a brace", "stripe", stripe_body + b" junk}", bad_json),
        ("square a closing bracket", "square", square_body + b"]", bad_json),
        ("square a comma and a member", "square", square_body + b', "k": 1}', bad_json),
        ("stripe not UTF-8", "stripe", b"\xff" + stripe_body, bad_json),
        ("square bad UTF-8 in a string", "square", square_body.replace(b"USD", b"\xc3("), bad_json),
        (
            "stripe amount is an object",
            "stripe",
            stripe_variant("data.object.amount", {}),
            invalid_amount,
        ),
        ("square amount is an array", "square", square_variant(amount, [1099]), invalid_amount),
        (
            "stripe currency is an object",
            "stripe",
            stripe_variant("data.object.currency", {}),
            [Reason.INVALID_CURRENCY],
        ),
        (
            "stripe created is an array",
            "stripe",
            stripe_variant("created", [1]),
            [Reason.INVALID_TIMESTAMP],
        ),
        (
            "stripe type is an object",
            "stripe",
            stripe_variant("type", {}),
            [Reason.UNSUPPORTED_EVENT_TYPE],
        ),
        (
            "square status is an object",
            "square",
            square_variant("data.object.payment.status", {}),
            invalid_status,
        ),
        (
            "stripe long run of spaces in a text",
            "stripe",
            stripe_variant("account", long_account),
            [],
        ),
        ("square valid", "square", square_body, []),
    ]


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory) -> tuple[dict[str, list[str | None]], float]:
    """Each hostile webhook's stored payload, reasons and merchant, by case name."""
    from flink_jobs.ddl import function_statements
    from normalization.flink_sql import render_views
    from tests.validation.flink_run import message_file_table, run_sql

    folder = tmp_path_factory.mktemp("hostile_webhooks")
    cases = hostile_webhooks()
    statements = function_statements()
    for p in PROVIDERS:
        table = message_file_table(
            f"{p.name}_file", [m for _, pr, m, _ in cases if pr == p.name], folder
        )
        statements += [
            table.replace(
                ", kafka_offset BIGINT)", ", kafka_offset BIGINT, proctime AS PROCTIME())"
            ),
            f"CREATE TEMPORARY VIEW raw_{p.name} AS SELECT payload, '{p.topic}' AS kafka_topic,"
            " 0 AS kafka_partition, kafka_offset, TO_TIMESTAMP_LTZ(0, 3) AS kafka_timestamp,"
            " CAST(MAP['received_at', ENCODE('2026-11-22T10:00:01Z', 'UTF-8')]"
            f" AS MAP<STRING, BYTES>) AS headers, proctime FROM {p.name}_file",
        ]
    views = [v.rstrip().rstrip(";") for v in render_views(PROVIDERS)]
    # Up to the checks: the deduplication after them is not what is tested here.
    checked = next(i for i, v in enumerate(views) if "VIEW normalized_checked " in v)
    statements += views[: checked + 1]
    query = (
        "SELECT provider, CAST(kafka_offset AS STRING), payload, reasons_csv, merchant_id"
        " FROM normalized_checked"
    )
    rows, elapsed = run_sql(statements, {"checked": query}, folder, timeout=420)
    offsets = {p.name: 0 for p in PROVIDERS}
    names = {}
    for name, provider, _, _ in cases:
        names[(provider, str(offsets[provider]))] = name
        offsets[provider] += 1
    return {names[(r[0], r[1])]: r[2:] for r in rows["checked"]}, elapsed


CASE_NAMES = [c[0] for c in hostile_webhooks()]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_webhook_gets_the_contracts_reasons_and_keeps_its_bytes(name, hostile_results):
    from validation.python_rules import message_bytes, stored_payload

    [(_, _, message, reasons)] = [c for c in hostile_webhooks() if c[0] == name]
    payload, reasons_csv, merchant = hostile_results[0][name]
    assert (reasons_csv.split(",") if reasons_csv else []) == [r.value for r in reasons]
    assert payload == stored_payload(message) and message_bytes(payload) == message
    if name == "stripe long run of spaces in a text":
        assert merchant == "acct_" + " " * 300_000 + "x"  # trimmed at the ends only


def test_hostile_webhooks_are_answered_quickly(hostile_results):
    results, elapsed = hostile_results
    assert set(results) == set(CASE_NAMES)
    assert elapsed < 300  # a quadratic trim of 300,000 spaces takes tens of minutes


def test_the_raw_topics_are_read_as_bytes_like_the_validation_jobs():
    """The webhook sources keep Kafka's bytes: `payload` is computed from them the same
    way as for the JR topics (the harness above reads them with that very definition)."""
    from normalization.flink_sql import kafka_source
    from normalization.settings import NormalizationSettings
    from validation.flink_sql import raw_payload_column

    settings = NormalizationSettings(kafka_bootstrap_servers="127.0.0.1:9092")
    for p in PROVIDERS:
        ddl = kafka_source(p, settings)
        assert f"  {raw_payload_column()},\n" in ddl
        assert "payload STRING" not in ddl and "'format' = 'raw'" in ddl
