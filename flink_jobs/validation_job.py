"""The validation job: raw payment topics -> Flink SQL rules -> Iceberg bronze / quarantine."""

from __future__ import annotations

from collections.abc import Mapping

from contracts.events import EVENT_TYPES, EventType
from contracts.paths import SQL_DIR
from contracts.tables import CATALOG
from flink_jobs.ddl import functions_block, job_configuration, kafka_raw_source
from flink_jobs.job import JobSettings, SqlJob, prepare_contract_tables
from flink_jobs.sql_template import render_sql_file
from lakehouse.settings import LakehouseSettings
from validation.flink_sql import raw_payload_column, render_inserts, render_views

JOB_NAME = "payments-validation"
CONSUMER_GROUP = "paystream-validation"
SQL = SQL_DIR / "validate_payment_events.sql"


def raw_table(t: EventType) -> str:
    return f"raw_{t.name}"


def kafka_source(t: EventType, topic: str, bootstrap_servers: str, group_id: str) -> str:
    """The topic's messages as raw bytes, their stored form and their Kafka coordinates."""
    return kafka_raw_source(
        raw_table(t),
        topic=topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        payload_columns=[raw_payload_column()],
    )


def render_validation_job(
    settings: JobSettings,
    *,
    namespace: str,
    catalog: str = CATALOG,
    job_name: str = JOB_NAME,
    group_id: str = CONSUMER_GROUP,
    topics: Mapping[str, str] | None = None,
) -> str:
    """The job's whole SQL script; `topics` maps event types to topics (default: contract)."""
    topics = topics or {t.name: t.topic for t in EVENT_TYPES}
    return render_sql_file(
        SQL,
        {
            "configuration": job_configuration(
                job_name, settings.checkpoint_interval, settings.parallelism
            ),
            "functions": functions_block(settings.udf_jar),
            "raw_sources": "\n".join(
                kafka_source(t, topics[t.name], settings.kafka_bootstrap_servers, group_id)
                for t in EVENT_TYPES
            ),
            "rule_views": "\n".join(render_views(t, raw_table(t)) for t in EVENT_TYPES),
            "inserts": "\n".join(render_inserts(t, catalog, namespace) for t in EVENT_TYPES),
        },
    )


def _render(settings: JobSettings) -> str:
    lakehouse = LakehouseSettings()
    return render_validation_job(
        settings, namespace=lakehouse.namespace, catalog=lakehouse.catalog_name
    )


VALIDATION_JOB = SqlJob(
    name=JOB_NAME,
    description="Validates the four raw payment topics into bronze and quarantine tables",
    render=_render,
    prepare=prepare_contract_tables,
)
