"""The normalisation job: Stripe and Square raw topics -> unified events (contract §5).

Reads every provider's raw topic, maps each event to the unified schema by the provider's
mapping (`normalization/`), runs the shared checks, and writes first deliveries to
`payments` (Iceberg) and `payments.normalized` (Kafka, key merchant_id), later deliveries
of a provider event id to `payment_redeliveries`, everything else to `quarantine_payments`
with its reasons.

Guarantees. Each raw message lands in exactly one place: `payments` (the first delivery
of a provider event), `quarantine_payments` (with its reasons), or `payment_redeliveries`
(a redelivery of an event already in `payments`: its own Kafka coordinates, the first
delivery's, and its delivery number), so reconciliation by topic/partition/offset accounts
for every message. The Iceberg tables are exactly once (commits on checkpoints; the
delivery numbering's state is in the same checkpoints). The numbering is a processing-time
OVER window per event id: append-only, one small accumulator per event id, expiring after
`dedup_ttl` (7 days at least). `payments.normalized` is exactly once too: written in Kafka
transactions that commit with each checkpoint (its consumers read_committed, and see an
event up to a checkpoint interval later); after a failure the events since the last
checkpoint are aborted and written again. At-least-once (set
`PAYSTREAM_NORMALIZATION_NORMALIZED_DELIVERY_GUARANTEE`) shows them sooner, but twice after
a failure.

All of it is Flink SQL rendered from data (sql/normalize_payment_events.sql); no Python
runs per record, so the job is a SQL script like the others, run by the SQL client.
`make sql JOB=payments-normalization` prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contracts.paths import SQL_DIR
from contracts.tables import UNIFIED_QUARANTINE_TABLE, UNIFIED_TABLE
from flink_jobs.ddl import functions_block, job_configuration
from flink_jobs.job import JobSettings, SqlJob, prepare_contract_tables
from flink_jobs.script import build as build_script
from flink_jobs.sql_template import render_sql_file
from normalization.flink_sql import kafka_sink, kafka_source, render_inserts, render_views
from normalization.providers import PROVIDERS
from normalization.settings import JOB_NAME, NormalizationSettings

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment

SQL = SQL_DIR / "normalize_payment_events.sql"
DESCRIPTION = (
    f"Normalises the Stripe and Square raw topics into {UNIFIED_TABLE} / {UNIFIED_QUARANTINE_TABLE}"
)


def normalization_settings(settings: JobSettings, **overrides: Any) -> NormalizationSettings:
    """The job's settings: the submitter's job settings, then `overrides`, then the
    job's own (env prefix PAYSTREAM_NORMALIZATION_) for everything else."""
    values: dict[str, Any] = {
        "job_name": JOB_NAME,
        "kafka_bootstrap_servers": settings.kafka_bootstrap_servers,
        "checkpoint_interval": settings.checkpoint_interval,
        "udf_jar": settings.udf_jar,
        "parallelism": settings.parallelism,
    } | overrides
    return NormalizationSettings(**values)


def render_normalization_job(settings: NormalizationSettings) -> str:
    """The job's whole SQL script, to run after the catalog's init file."""
    ttl_ms = int(settings.dedup_ttl.total_seconds() * 1000)
    return render_sql_file(
        SQL,
        {
            # The only state: the redeliveries' numbering per event id, kept this long.
            "configuration": job_configuration(
                settings.job_name,
                settings.checkpoint_interval,
                settings.parallelism,
                **{"table.exec.state.ttl": f"{ttl_ms} ms"},
            ),
            "functions": functions_block(settings.udf_jar),
            "raw_sources": "\n".join(kafka_source(p, settings) for p in PROVIDERS),
            "normalized_sink": kafka_sink(settings),
            "mapping_views": "\n".join(render_views(PROVIDERS)),
            "inserts": ";\n\n".join(render_inserts(settings)) + ";",
        },
    )


def build(t_env: TableEnvironment, settings: NormalizationSettings) -> StatementSet:
    """The job in `t_env` (PyFlink, for the tests' mini cluster): its inserts, not yet run.

    The catalog `settings.catalog` with the job's tables in `settings.namespace` must exist.
    """
    return build_script(t_env, render_normalization_job(settings))


def normalization_job(
    name: str = JOB_NAME,
    description: str = DESCRIPTION,
    prepare: Callable[[JobSettings], None] = prepare_contract_tables,
    **overrides: Any,
) -> SqlJob:
    """The job under `name` (its `pipeline.name` and transactional ids), its other
    settings from `overrides` (`NormalizationSettings` fields: topics, namespace...)."""
    return SqlJob(
        name=name,
        description=description,
        render=lambda settings: render_normalization_job(
            normalization_settings(settings, job_name=name, **overrides)
        ),
        prepare=prepare,
    )


NORMALIZATION_JOB = normalization_job()
