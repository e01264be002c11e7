"""The enrichment sink job: `payments.enriched` -> Iceberg `payment_enrichments`, exactly
one row per event_id (keep-first dedupe, since a retried publish can write a result twice),
and every message that is not a valid result -> `quarantine_payment_enrichments`.
"""

from __future__ import annotations

from contracts.paths import SQL_DIR
from contracts.tables import (
    CATALOG,
    ENRICHMENT_COLUMNS,
    ENRICHMENT_QUARANTINE_COLUMNS,
    ENRICHMENT_QUARANTINE_TABLE,
    ENRICHMENT_TABLE,
)
from contracts.topics import ENRICHED
from flink_jobs.ddl import job_configuration, kafka_raw_source, quarantine_projection, table_ref
from flink_jobs.enrichment_checks import render_views
from flink_jobs.job import JobSettings, SqlJob, prepare_contract_tables
from flink_jobs.sql_template import render_sql_file
from lakehouse.settings import LakehouseSettings

JOB_NAME = "payments-enrichment-sink"
CONSUMER_GROUP = "paystream-enrichment-sink"
# Longer than any publish retry (15 min) or re-run of a failed batch could take.
STATE_TTL = "7 d"
SQL = SQL_DIR / "enrichment_sink.sql"
SOURCE_TABLE = "enriched_messages"


def source(topic: str, bootstrap_servers: str, group_id: str) -> str:
    """The topic's messages as text: the workflows write JSON, and what is not valid JSON
    text reaches quarantine as read."""
    return kafka_raw_source(
        SOURCE_TABLE,
        topic=topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        payload_columns=["payload STRING"],
        extra_columns=["proc_time AS PROCTIME()"],
    )


def render_enrichment_job(
    settings: JobSettings,
    *,
    namespace: str,
    catalog: str = CATALOG,
    job_name: str = JOB_NAME,
    group_id: str = CONSUMER_GROUP,
    topic: str = ENRICHED,
    state_ttl: str = STATE_TTL,
) -> str:
    return render_sql_file(
        SQL,
        {
            "configuration": job_configuration(
                job_name,
                settings.checkpoint_interval,
                settings.parallelism,
                **{"table.exec.state.ttl": state_ttl},
            ),
            "source": source(topic, settings.kafka_bootstrap_servers, group_id),
            "check_views": render_views(SOURCE_TABLE),
            "column_names": ", ".join(name for name, _ in ENRICHMENT_COLUMNS),
            "table": table_ref(catalog, namespace, ENRICHMENT_TABLE),
            "quarantine_table": table_ref(catalog, namespace, ENRICHMENT_QUARANTINE_TABLE),
            # As read, when it was a JSON string (valid or not).
            "quarantine_projection": quarantine_projection(
                ENRICHMENT_QUARANTINE_COLUMNS, {"event_id": "event_id"}
            ),
        },
    )


def _render(settings: JobSettings) -> str:
    lakehouse = LakehouseSettings()
    return render_enrichment_job(
        settings, namespace=lakehouse.namespace, catalog=lakehouse.catalog_name
    )


ENRICHMENT_JOB = SqlJob(
    name=JOB_NAME,
    description=f"Sinks {ENRICHED} into {ENRICHMENT_TABLE} (one row per event_id)"
    f" and {ENRICHMENT_QUARANTINE_TABLE}",
    render=_render,
    prepare=prepare_contract_tables,
)
