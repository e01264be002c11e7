"""The enrichment sink job: `payments.enriched` -> Iceberg `payment_enrichments`, exactly
one row per event_id (keep-first dedupe, since a retried publish can write a result twice),
and every message that is not a valid result -> `quarantine_payment_enrichments`.
"""

from __future__ import annotations

from pathlib import Path

from flink_jobs.enrichment_checks import render_views
from flink_jobs.jobs import JobSettings, SqlJob
from flink_jobs.sql_template import render_sql_file
from lakehouse.clients import load_catalog
from lakehouse.settings import LakehouseSettings
from validation.tables import (
    ENRICHMENT_COLUMNS,
    ENRICHMENT_QUARANTINE_COLUMNS,
    ENRICHMENT_QUARANTINE_TABLE,
    ENRICHMENT_TABLE,
    ensure_tables,
)

JOB_NAME = "payments-enrichment-sink"
CONSUMER_GROUP = "paystream-enrichment-sink"
TOPIC = "payments.enriched"
# Longer than any publish retry (15 min) or re-run of a failed batch could take.
STATE_TTL = "7 d"
SQL = Path(__file__).resolve().parents[1] / "sql" / "enrichment_sink.sql"
SOURCE_TABLE = "enriched_messages"


def quarantine_projection() -> str:
    expressions = {
        "raw_payload": "payload",
        "rejection_reason": "SPLIT_INDEX(reasons_csv, ',', 0)",
        "rejection_reasons": "SPLIT(reasons_csv, ',')",
        "quarantine_timestamp": "CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))",
        "kafka_timestamp": "CAST(kafka_timestamp AS TIMESTAMP_LTZ(6))",
        # As read, when it was a JSON string (valid or not).
        "event_id": "event_id",
    }
    return ",\n  ".join(
        f"{expressions[name]} AS {name}" if name in expressions else name
        for name, _ in ENRICHMENT_QUARANTINE_COLUMNS
    )


def render_enrichment_job(
    settings: JobSettings,
    *,
    namespace: str,
    catalog: str = "lakehouse",
    job_name: str = JOB_NAME,
    group_id: str = CONSUMER_GROUP,
    topic: str = TOPIC,
    state_ttl: str = STATE_TTL,
) -> str:
    return render_sql_file(
        SQL,
        {
            "job_name": job_name,
            "checkpoint_interval": settings.checkpoint_interval,
            "parallelism": settings.parallelism,
            "state_ttl": state_ttl,
            "topic": topic,
            "bootstrap_servers": settings.kafka_bootstrap_servers,
            "group_id": group_id,
            "check_views": render_views(SOURCE_TABLE),
            "column_names": ", ".join(name for name, _ in ENRICHMENT_COLUMNS),
            "catalog": catalog,
            "namespace": namespace,
            "table": ENRICHMENT_TABLE,
            "quarantine_table": ENRICHMENT_QUARANTINE_TABLE,
            "quarantine_projection": quarantine_projection(),
        },
    )


def _render(settings: JobSettings) -> str:
    lakehouse = LakehouseSettings()
    return render_enrichment_job(
        settings, namespace=lakehouse.namespace, catalog=lakehouse.catalog_name
    )


def _prepare(settings: JobSettings) -> None:
    lakehouse = LakehouseSettings()
    ensure_tables(load_catalog(lakehouse), lakehouse.namespace)


ENRICHMENT_JOB = SqlJob(
    name=JOB_NAME,
    description="Sinks payments.enriched into payment_enrichments (one row per event_id)"
    " and quarantine_payment_enrichments",
    render=_render,
    prepare=_prepare,
)
