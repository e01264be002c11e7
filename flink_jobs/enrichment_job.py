"""The enrichment sink job: `payments.enriched` -> Iceberg `payment_enrichments`, exactly
one row per event_id (keep-first dedupe, since a retried publish can write a result twice).
"""

from __future__ import annotations

from pathlib import Path

from flink_jobs.jobs import JobSettings, SqlJob
from flink_jobs.sql_template import render_sql_file
from lakehouse.clients import load_catalog
from lakehouse.settings import LakehouseSettings
from validation.tables import (
    ENRICHMENT_COLUMNS,
    ENRICHMENT_TABLE,
    FLINK_TYPES,
    TIMESTAMPTZ,
    ensure_tables,
)

JOB_NAME = "payments-enrichment-sink"
CONSUMER_GROUP = "paystream-enrichment-sink"
TOPIC = "payments.enriched"
# Longer than any publish retry (15 min) or re-run of a failed batch could take.
STATE_TTL = "7 d"
SQL = Path(__file__).resolve().parents[1] / "sql" / "enrichment_sink.sql"

# The JSON carries enriched_at with millisecond precision; the table keeps microseconds.
SOURCE_TIMESTAMP = "TIMESTAMP_LTZ(3)"


def source_columns() -> str:
    return ",\n  ".join(
        f"{name} {SOURCE_TIMESTAMP if kind == TIMESTAMPTZ else FLINK_TYPES[kind]}"
        for name, kind in ENRICHMENT_COLUMNS
    )


def sink_projection() -> str:
    return ", ".join(
        f"CAST({name} AS {FLINK_TYPES[kind]}) AS {name}" if kind == TIMESTAMPTZ else name
        for name, kind in ENRICHMENT_COLUMNS
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
            "source_columns": source_columns(),
            "topic": topic,
            "bootstrap_servers": settings.kafka_bootstrap_servers,
            "group_id": group_id,
            "column_names": ", ".join(name for name, _ in ENRICHMENT_COLUMNS),
            "catalog": catalog,
            "namespace": namespace,
            "table": ENRICHMENT_TABLE,
            "sink_projection": sink_projection(),
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
    description="Sinks payments.enriched into payment_enrichments, one row per event_id",
    render=_render,
    prepare=_prepare,
)
