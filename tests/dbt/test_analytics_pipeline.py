"""dbt on the real platform: JR-like messages through Kafka and the validation job into a
fresh namespace, unified payments and enrichments appended with PyIceberg (their producers
are other jobs), then `dbt build` (models, snapshot, every data and unit test) on Trino.

The marts must agree with what is computed straight from bronze and from the Python
validation rules, and a second build must merge late data instead of duplicating it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from confluent_kafka import Producer

from contracts.events import EVENT_TYPES, EVENT_TYPES_BY_NAME
from flink_jobs.job import SqlJob
from flink_jobs.validation_job import render_validation_job
from lakehouse.tables import ensure_tables
from streaming.settings import KafkaSettings, TopicSettings
from streaming.topics import delete_topics, ensure_topics
from tests.dbt.lakehouse_io import drop_dbt_schemas, insert_rows, run_dbt
from validation.python_rules import validate

pytestmark = pytest.mark.integration


def charge(charge_id, customer, merchant, amount, currency, status, **extra):
    return {
        "charge_id": charge_id,
        "customer_id": customer,
        "merchant_id": merchant,
        "amount": amount,
        "currency": currency,
        "status": status,
        "provider": "stripe",
        "payment_method": "card",
        "created_at": "2026-11-20 10:00:00",
        **extra,
    }


def refund(refund_id, charge_id, amount, currency="usd", status="succeeded"):
    return {
        "refund_id": refund_id,
        "charge_id": charge_id,
        "amount": amount,
        "currency": currency,
        "status": status,
        "reason": "requested_by_customer",
        "created_at": "2026-11-20T12:00:00Z",
    }


def dispute(dispute_id, charge_id, amount, currency, status):
    return {
        "dispute_id": dispute_id,
        "charge_id": charge_id,
        "amount": amount,
        "currency": currency,
        "status": status,
        "reason": "fraudulent",
        "created_at": 1763640000,  # epoch seconds: 2025-11-20 12:00 UTC
    }


def subscription(subscription_id, customer, status, amount, created_at):
    return {
        "subscription_id": subscription_id,
        "customer_id": customer,
        "plan_id": "plan_pro",
        "status": status,
        "amount": amount,
        "currency": "USD",
        "billing_interval": "month",
        "created_at": created_at,
    }


DUPLICATED = charge("ch_6", "cus_3", "m_b", 20, "EUR", "succeeded")
MESSAGES: dict[str, list[object]] = {
    "charges": [
        charge("ch_1", "cus_1", "m_a", "10.00", "usd", "succeeded"),
        charge("ch_2", "cus_1", "m_a", 5, "USD", "succeeded"),
        charge("ch_3", "cus_2", "m_a", 500, "JPY", "succeeded"),
        charge("ch_4", "cus_2", "m_b", 12.5, "EUR", "failed", failure_code="card_declined"),
        charge("ch_5", "cus_3", "m_b", "7.25", "EUR", "pending"),
        DUPLICATED,
        DUPLICATED,  # a producer retry: the same charge twice
        charge("ch_bad1", None, "m_a", 1, "USD", "succeeded"),
        charge("ch_bad2", "cus_1", "m_a", 1, "XXX", "succeeded"),
        charge("ch_bad3", "cus_1", "m_a", -3, "USD", "succeeded"),
        charge("ch_bad4", "cus_1", "m_a", 1, "USD", "refunded"),
        charge("ch_bad5", "cus_1", "m_a", "10.5", "JPY", "succeeded"),
        "not json",
    ],
    "refunds": [
        refund("re_1", "ch_1", 3),
        refund("re_2", "ch_2", 6),  # more than the 5 USD charge
        refund("re_3", "ch_ghost", 1),  # a charge nobody saw
        refund("re_bad1", "null", 1),
        refund("re_bad2", "ch_1", 1, currency=" "),
    ],
    "disputes": [
        dispute("dp_1", "ch_3", 500, "JPY", "needs_response"),
        dispute("dp_2", "ch_nowhere", 2, "USD", "warning_needs_response"),
        dispute("dp_bad", "ch_1", 2, "USD", "open"),
    ],
    "subscriptions": [
        subscription("sub_1", "cus_1", "trialing", 0, "2026-11-20 09:00:00"),
        subscription("sub_1", "cus_1", "active", "9.99", "2026-11-20 10:00:00"),
        subscription("sub_2", "cus_2", "active", "19.99", "2026-11-20 10:00:00"),
        subscription("sub_bad", "N/A", "active", "19.99", "2026-11-20 10:00:00"),
    ],
}


def unified(event_id, provider, event_type, merchant, customer, amount_minor, currency):
    now = datetime.now(UTC)
    return {
        "event_id": event_id,
        "provider": provider,
        "provider_event_id": f"evt_{event_id}",
        "provider_event_type": event_type,
        "event_type": event_type,
        "object_id": f"obj_{event_id}",
        "merchant_id": merchant,
        "customer_id": customer,
        "amount_minor": amount_minor,
        "currency": currency,
        "status": event_type.split(".")[1],
        "provider_created_at": datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
        "received_at": now,
        "processed_at": now,
        "schema_version": 1,
    }


def enrichment(event_id, fraud_score, risk_level, retry_strategy=None):
    return {
        "event_id": event_id,
        "fraud_score": fraud_score,
        "risk_level": risk_level,
        "churn_score": 0.1,
        "retry_strategy": retry_strategy,
        "model_version": "test-1",
        "score_source": "model",
        "workflow_id": f"wf-{event_id}",
        "enriched_at": datetime.now(UTC),
    }


WEBHOOK_PAYMENTS = [
    unified("w1", "stripe", "payment.succeeded", "acct_w", "cus_w1", 2000, "USD"),
    unified("w2", "square", "payment.failed", "sq_m", "cus_w2", 150, "JPY"),
    unified("w3", "stripe", "payment.succeeded", "acct_w", "cus_w1", 0, "USD"),
    unified("w4", "stripe", "refund.succeeded", "acct_w", "cus_w1", 500, "USD"),
]
RETRY = json.dumps({"should_retry": True, "delay_seconds": 3600, "method": "same_card"})
ENRICHMENTS = [enrichment("w1", 0.93, "high"), enrichment("w2", 0.2, "low", RETRY)]


def payload(message: object) -> str:
    return message if isinstance(message, str) else json.dumps(message)


def produce(bootstrap: str, messages: list[tuple[str, str]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for index, (topic, value) in enumerate(messages):
        producer.produce(topic, key=str(index), value=value.encode())
    assert producer.flush(60) == 0


def expected_quarantine() -> Counter[tuple[str, str]]:
    """(bronze table, first reason) of every message the Python rules reject."""
    expected: Counter[tuple[str, str]] = Counter()
    for name, messages in MESSAGES.items():
        event_type = EVENT_TYPES_BY_NAME[name]
        for message in messages:
            outcome = validate(event_type, payload(message))
            if not outcome.valid:
                expected[(event_type.bronze_table, outcome.reasons[0].value)] += 1
    return expected


@pytest.fixture
def loaded_namespace(
    stack_settings, lakehouse_settings, namespace, catalog, submitter, forget_jobs, trino_rows
):
    """The fixed dataset in `namespace`, through Kafka and the validation job."""
    ensure_tables(catalog, namespace)
    suffix = uuid.uuid4().hex[:8]
    bootstrap = f"127.0.0.1:{stack_settings.kafka_port}"
    topics = {t.name: f"it.{suffix}.{t.topic}" for t in EVENT_TYPES}
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topics=TopicSettings(partitions=1))
    ensure_topics(kafka, names=tuple(topics.values()), report=lambda _: None)
    name = f"it-dbt-{suffix}"
    job = SqlJob(
        name=name,
        description="validation job feeding the dbt test",
        render=lambda settings: render_validation_job(
            settings, namespace=namespace, job_name=name, group_id=name, topics=topics
        ),
        prepare=lambda settings: ensure_tables(catalog, namespace),
    )
    forget_jobs(name)
    try:
        produce(
            bootstrap,
            [(topics[kind], payload(m)) for kind, messages in MESSAGES.items() for m in messages],
        )
        submitter.submit(job)
        wait_for_rows(trino_rows, namespace, sum(len(m) for m in MESSAGES.values()))
        submitter.cancel(name)
        insert_rows(trino_rows, f"{namespace}.payments", WEBHOOK_PAYMENTS)
        insert_rows(trino_rows, f"{namespace}.payment_enrichments", ENRICHMENTS)
        insert_rows(
            trino_rows,
            f"{namespace}.quarantine_payments",
            [
                {
                    "raw_payload": '{"type": "charge.mystery"}',
                    "rejection_reason": "UNKNOWN_EVENT_TYPE",
                    "rejection_reasons": ["UNKNOWN_EVENT_TYPE"],
                    "quarantine_timestamp": datetime.now(UTC),
                    "provider": "stripe",
                }
            ],
        )
        yield namespace
    finally:
        submitter.cancel(name)
        delete_topics(kafka, tuple(topics.values()))
        drop_dbt_schemas(trino_rows, namespace, lakehouse_settings)


def wait_for_rows(trino_rows, namespace: str, expected: int, timeout: float = 240) -> None:
    tables = [t for e in EVENT_TYPES for t in (e.bronze_table, e.quarantine_table)]
    count_sql = " + ".join(f"(SELECT count(*) FROM {namespace}.{t})" for t in tables)
    deadline = time.monotonic() + timeout
    while (landed := trino_rows(f"SELECT {count_sql}")[0][0]) < expected:
        assert time.monotonic() < deadline, f"{landed} of {expected} messages landed"
        time.sleep(2)


def build(namespace: str, tmp_path) -> str:
    result = run_dbt(namespace, tmp_path / "target", "build")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def test_dbt_build_on_the_pipeline_agrees_with_bronze(loaded_namespace, trino_rows, tmp_path):
    ns = loaded_namespace
    gold, silver = f"{ns}_gold", f"{ns}_silver"
    output = build(ns, tmp_path)
    assert "ERROR=0" in output and "PASS=" in output

    # fct_payments: each distinct JR charge once (ch_6 arrived twice), each webhook payment.
    bronze_charges = trino_rows(
        f"SELECT count(*), count(DISTINCT charge_id) FROM {ns}.payment_charges"
    )
    assert bronze_charges == [(7, 6)]
    facts = dict(trino_rows(f"SELECT source_system, count(*) FROM {gold}.fct_payments GROUP BY 1"))
    assert facts == {"jr": 6, "webhook": 3}

    # Per merchant and currency, succeeded volume equals bronze's (distinct charges).
    from_bronze = set(
        trino_rows(
            f"SELECT merchant_id, currency, sum(amount_minor) FROM (SELECT DISTINCT charge_id, "
            f"merchant_id, currency, amount_minor FROM {ns}.payment_charges "
            f"WHERE status = 'succeeded') GROUP BY 1, 2"
        )
    )
    from_mart = set(
        trino_rows(
            f"SELECT merchant_id, currency, sum(succeeded_amount_minor) FROM "
            f"{gold}.fct_daily_payments WHERE source_system = 'jr' AND succeeded_payments > 0 "
            f"GROUP BY 1, 2"
        )
    )
    assert (
        from_mart
        == from_bronze
        == {("m_a", "USD", 1500), ("m_a", "JPY", 500), ("m_b", "EUR", 2000)}
    )

    # Merchant counts: bronze charges plus webhook payments, refunds/disputes via their charge.
    health = {
        row[0]: row[1:]
        for row in trino_rows(
            f"SELECT merchant_id, payments, succeeded_payments, failed_payments, refunds, "
            f"disputes, health_score FROM {gold}.merchant_health_scores"
        )
    }
    assert health["m_a"][:5] == (3, 3, 0, 2, 1)
    assert health["m_b"][:5] == (3, 1, 1, 0, 0)
    assert health["acct_w"][:3] == (2, 2, 0)
    assert health["m_a"][5] < health["acct_w"][5] == 100

    # Quarantine by table and reason: what the Python rules say, what the tables hold.
    summary = Counter(
        {
            (table, reason): count
            for table, reason, count in trino_rows(
                f"SELECT target_table, rejection_reason, sum(quarantined_messages) "
                f"FROM {gold}.quarantine_summary GROUP BY 1, 2 HAVING sum(quarantined_messages) > 0"
            )
        }
    )
    expected = expected_quarantine()
    expected[("payments", "UNKNOWN_EVENT_TYPE")] += 1
    assert summary == expected
    assert sum(expected.values()) == 11

    suspicious = set(trino_rows(f"SELECT pattern, event_id FROM {gold}.suspicious_events"))
    assert suspicious == {
        ("REFUND_EXCEEDS_CHARGE", "ch_2"),
        ("REFUND_ON_UNKNOWN_CHARGE", "re_3"),
        ("DISPUTE_ON_UNKNOWN_CHARGE", "dp_2"),
        ("ZERO_AMOUNT_SUCCEEDED_CHARGE", "webhook:w3"),
        ("HIGH_RISK_SUCCEEDED_PAYMENT", "webhook:w1"),
    }

    scored = dict(
        trino_rows(
            f"SELECT payment_id, risk_level FROM {gold}.fct_payments WHERE risk_level IS NOT NULL"
        )
    )
    assert scored == {"webhook:w1": "high", "webhook:w2": "low"}
    amounts = dict(trino_rows(f"SELECT payment_id, amount FROM {gold}.fct_payments"))
    assert amounts["webhook:w1"] == Decimal("20.0000")
    assert amounts["webhook:w2"] == Decimal("150.0000")  # JPY has no minor units

    snapshot = trino_rows(
        f"SELECT subscription_id, status FROM {silver}.subscription_status_snapshot "
        f"WHERE dbt_valid_to IS NULL ORDER BY 1"
    )
    assert snapshot == [("sub_1", "active"), ("sub_2", "active")]

    # Late data: a new webhook payment, a late enrichment and a subscription change.
    insert_rows(
        trino_rows,
        f"{ns}.payments",
        [unified("w5", "stripe", "payment.succeeded", "acct_w", "cus_w1", 700, "USD")],
    )
    insert_rows(trino_rows, f"{ns}.payment_enrichments", [enrichment("w3", 0.5, "medium")])
    insert_rows(
        trino_rows,
        f"{ns}.payment_subscriptions",
        [
            {
                "subscription_id": "sub_2",
                "customer_id": "cus_2",
                "status": "canceled",
                "amount": Decimal("19.99"),
                "amount_minor": 1999,
                "currency": "USD",
                "created_at": datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
                "ingested_at": datetime.now(UTC),
            }
        ],
    )
    build(ns, tmp_path)

    rows = dict(trino_rows(f"SELECT payment_id, risk_level FROM {gold}.fct_payments"))
    assert len(rows) == 10  # merged: the 9 before, plus w5, nothing twice
    assert rows["webhook:w3"] == "medium" and "webhook:w5" in rows
    history = trino_rows(
        f"SELECT status, dbt_valid_to IS NULL FROM {silver}.subscription_status_snapshot "
        f"WHERE subscription_id = 'sub_2' ORDER BY dbt_valid_from"
    )
    assert history == [("active", False), ("canceled", True)]
