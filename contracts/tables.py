"""The Iceberg tables of contract §3: one catalog and namespace, every table's name, its
columns (name and a type word) and the column its files are partitioned by day on.

Type words are mapped to Iceberg by `lakehouse.tables` (which creates the tables) and to
Flink SQL by `flink_jobs.ddl`; Trino and dbt read the tables from the shared catalog.
Nothing here imports PyIceberg or PyFlink: both virtualenvs read these definitions.
"""

from __future__ import annotations

from contracts.events import EVENT_TYPES, EventType, Kind

# One catalog, named the same in every engine (Flink SQL, Trino, PyIceberg), one namespace.
CATALOG = "lakehouse"
NAMESPACE = "payments_db"

STRING, AMOUNT, BIGINT, INT, DOUBLE, TIMESTAMPTZ, STRINGS = (
    "string",
    "decimal(18,4)",
    "bigint",
    "int",
    "double",
    "timestamptz",
    "array<string>",
)

KIND_TYPES = {
    Kind.TEXT: STRING,
    Kind.LOWER: STRING,
    Kind.CURRENCY: STRING,
    Kind.AMOUNT: AMOUNT,
    Kind.TIMESTAMP: TIMESTAMPTZ,
    Kind.NUMBER: DOUBLE,
}

Columns = list[tuple[str, str]]


def bronze_columns(t: EventType) -> Columns:
    columns: Columns = []
    for f in t.fields:
        columns.append((f.name, KIND_TYPES[f.kind]))
        if f.kind is Kind.AMOUNT:
            columns.append(("amount_minor", BIGINT))
    return [
        *columns,
        ("ingested_at", TIMESTAMPTZ),
        ("kafka_partition", INT),
        ("kafka_offset", BIGINT),
        ("kafka_timestamp", TIMESTAMPTZ),
    ]


def quarantine_columns(t: EventType) -> Columns:
    return [
        # The message exactly as read: its text, or `base64:` and its bytes when they are
        # not UTF-8 (validation.rules.RAW_PAYLOAD_BASE64_PREFIX).
        ("raw_payload", STRING),
        ("rejection_reason", STRING),
        ("rejection_reasons", STRINGS),
        ("quarantine_timestamp", TIMESTAMPTZ),
        ("kafka_topic", STRING),
        ("kafka_partition", INT),
        ("kafka_offset", BIGINT),
        ("kafka_timestamp", TIMESTAMPTZ),
        (t.id_field, STRING),
    ]


# Contract §5: one row per provider event, whatever the provider. Amounts stay in minor
# units; `metadata` is a JSON string of the provider fields that have no column. The Kafka
# coordinates of the raw message make every row reconcilable with its topic.
UNIFIED_TABLE = "payments"
UNIFIED_QUARANTINE_TABLE = f"quarantine_{UNIFIED_TABLE}"
UNIFIED_SCHEMA_VERSION = 1
UNIFIED_COLUMNS: Columns = [
    ("event_id", STRING),
    ("provider", STRING),
    ("provider_event_id", STRING),
    ("provider_event_type", STRING),
    ("event_type", STRING),
    ("object_id", STRING),
    ("merchant_id", STRING),
    ("customer_id", STRING),
    ("amount_minor", BIGINT),
    ("currency", STRING),
    ("payment_method_type", STRING),
    ("card_brand", STRING),
    ("card_last_four", STRING),
    ("status", STRING),
    ("failure_code", STRING),
    ("failure_message", STRING),
    ("metadata", STRING),
    ("provider_created_at", TIMESTAMPTZ),
    ("received_at", TIMESTAMPTZ),
    ("processed_at", TIMESTAMPTZ),
    ("schema_version", INT),
    ("kafka_topic", STRING),
    ("kafka_partition", INT),
    ("kafka_offset", BIGINT),
]
# Section 4's quarantine columns, shared by every quarantine table beside the bronze ones.
QUARANTINE_COMMON_COLUMNS: Columns = [
    ("raw_payload", STRING),
    ("rejection_reason", STRING),
    ("rejection_reasons", STRINGS),
    ("quarantine_timestamp", TIMESTAMPTZ),
    ("kafka_topic", STRING),
    ("kafka_partition", INT),
    ("kafka_offset", BIGINT),
    ("kafka_timestamp", TIMESTAMPTZ),
]
# ... and the provider's ids when they could be read.
UNIFIED_QUARANTINE_COLUMNS: Columns = [
    *QUARANTINE_COMMON_COLUMNS,
    ("provider", STRING),
    ("provider_event_id", STRING),
    ("event_id", STRING),
]

# Contract §6: exactly one row per payments.event_id. `retry_strategy` is a JSON object
# (should_retry, delay_seconds, method) or NULL when the payment did not fail.
ENRICHMENT_TABLE = "payment_enrichments"
ENRICHMENT_COLUMNS: Columns = [
    ("event_id", STRING),
    ("fraud_score", DOUBLE),
    ("risk_level", STRING),
    ("churn_score", DOUBLE),
    ("retry_strategy", STRING),
    ("model_version", STRING),
    ("score_source", STRING),
    ("workflow_id", STRING),
    ("enriched_at", TIMESTAMPTZ),
]
# Messages of `payments.enriched` that are not a valid result (§6), with section 4's
# quarantine columns, and the event id when it could be read.
ENRICHMENT_QUARANTINE_TABLE = "quarantine_payment_enrichments"
ENRICHMENT_QUARANTINE_COLUMNS: Columns = [
    *QUARANTINE_COMMON_COLUMNS,
    ("event_id", STRING),
]

# One row per redelivery the normalisation job drops (a provider event id it has already
# written to `payments`): the dropped message's coordinates next to those of the delivery
# kept, so reconciliation accounts for every raw message by topic/partition/offset.
# `delivery_number` counts the provider event's deliveries (2 for the first redelivery);
# `first_seen_at` is the event's earliest receipt, `received_at` this delivery's.
REDELIVERY_TABLE = "payment_redeliveries"
REDELIVERY_COLUMNS: Columns = [
    ("event_id", STRING),
    ("provider", STRING),
    ("provider_event_id", STRING),
    ("provider_event_type", STRING),
    ("delivery_number", BIGINT),
    ("kafka_topic", STRING),
    ("kafka_partition", INT),
    ("kafka_offset", BIGINT),
    ("kafka_timestamp", TIMESTAMPTZ),
    ("received_at", TIMESTAMPTZ),
    ("first_kafka_topic", STRING),
    ("first_kafka_partition", INT),
    ("first_kafka_offset", BIGINT),
    ("first_seen_at", TIMESTAMPTZ),
    ("dropped_at", TIMESTAMPTZ),
]


def table_definitions() -> list[tuple[str, Columns, str]]:
    """(table, columns, day-partition column) of every table the pipelines write."""
    definitions: list[tuple[str, Columns, str]] = []
    for t in EVENT_TYPES:
        definitions.append((t.bronze_table, bronze_columns(t), "ingested_at"))
        definitions.append((t.quarantine_table, quarantine_columns(t), "quarantine_timestamp"))
    definitions.append((UNIFIED_TABLE, UNIFIED_COLUMNS, "processed_at"))
    definitions.append(
        (UNIFIED_QUARANTINE_TABLE, UNIFIED_QUARANTINE_COLUMNS, "quarantine_timestamp")
    )
    definitions.append((ENRICHMENT_TABLE, ENRICHMENT_COLUMNS, "enriched_at"))
    definitions.append(
        (ENRICHMENT_QUARANTINE_TABLE, ENRICHMENT_QUARANTINE_COLUMNS, "quarantine_timestamp")
    )
    definitions.append((REDELIVERY_TABLE, REDELIVERY_COLUMNS, "dropped_at"))
    return definitions
