"""The validation job: raw payment topics -> Flink SQL rules -> Iceberg bronze / quarantine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flink_jobs.jobs import JobSettings, SqlJob
from flink_jobs.sql_template import render_sql_file
from lakehouse.clients import load_catalog
from lakehouse.settings import LakehouseSettings
from validation.flink_sql import raw_payload_column, render_inserts, render_views
from validation.rules import EVENT_TYPES, EventType
from validation.tables import ensure_tables

JOB_NAME = "payments-validation"
CONSUMER_GROUP = "paystream-validation"
SQL = Path(__file__).resolve().parents[1] / "sql" / "validate_payment_events.sql"


def kafka_source(t: EventType, topic: str, bootstrap_servers: str, group_id: str) -> str:
    """The topic's messages as raw bytes, their stored form and their Kafka coordinates.

    Read as `raw`, never as `json`: a message that is not JSON must reach quarantine, and
    the json format can only fail the job or drop it. Offsets come from the job's
    checkpoints; a job started without state resumes from the group's committed offsets.
    """
    return f"""CREATE TEMPORARY TABLE raw_{t.name} (
  {raw_payload_column()},
  kafka_topic STRING METADATA FROM 'topic' VIRTUAL,
  kafka_partition INT METADATA FROM 'partition' VIRTUAL,
  kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  kafka_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = '{topic}',
  'properties.bootstrap.servers' = '{bootstrap_servers}',
  'properties.group.id' = '{group_id}',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'scan.topic-partition-discovery.interval' = '60s',
  'format' = 'raw'
);
"""


def render_validation_job(
    settings: JobSettings,
    *,
    namespace: str,
    catalog: str = "lakehouse",
    job_name: str = JOB_NAME,
    group_id: str = CONSUMER_GROUP,
    topics: Mapping[str, str] | None = None,
) -> str:
    """The job's whole SQL script; `topics` maps event types to topics (default: contract)."""
    topics = topics or {t.name: t.topic for t in EVENT_TYPES}
    return render_sql_file(
        SQL,
        {
            "job_name": job_name,
            "checkpoint_interval": settings.checkpoint_interval,
            "parallelism": settings.parallelism,
            "kafka_sources": "\n".join(
                kafka_source(t, topics[t.name], settings.kafka_bootstrap_servers, group_id)
                for t in EVENT_TYPES
            ),
            "validation_views": "\n".join(render_views(t, f"raw_{t.name}") for t in EVENT_TYPES),
            "inserts": "\n".join(render_inserts(t, catalog, namespace) for t in EVENT_TYPES),
        },
    )


def _render(settings: JobSettings) -> str:
    lakehouse = LakehouseSettings()
    return render_validation_job(
        settings, namespace=lakehouse.namespace, catalog=lakehouse.catalog_name
    )


def _prepare(settings: JobSettings) -> None:
    lakehouse = LakehouseSettings()
    ensure_tables(load_catalog(lakehouse), lakehouse.namespace)


VALIDATION_JOB = SqlJob(
    name=JOB_NAME,
    description="Validates the four raw payment topics into bronze and quarantine tables",
    render=_render,
    prepare=_prepare,
)
