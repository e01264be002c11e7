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

All of it is Flink SQL rendered from data; no Python runs per record, so the job has no
Python UDF worker and nothing to tune for one. `build` wires the tables and views into a
statement set; `main` registers the Iceberg catalog and submits it:

  flink run -d -py flink_jobs/normalization_job.py -pyexec .venv-flink/bin/python
  (`python -m flink_jobs.submit --job payments-normalization` does that, with restore)
  python flink_jobs/normalization_job.py --print-sql   # the SQL, without a cluster
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from flink_jobs.jobs import JobSettings, PyFlinkJob
from flink_jobs.sql_template import render_sql_file
from lakehouse.settings import REPO_ROOT, LakehouseSettings
from normalization.flink_sql import kafka_sink, kafka_source, render_inserts, render_views
from normalization.providers import PROVIDERS
from normalization.settings import JOB_NAME, NormalizationSettings

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment

CATALOG_SQL = REPO_ROOT / "sql" / "init_catalog.sql"


def job_config(settings: NormalizationSettings) -> dict[str, str]:
    """The job's Flink configuration; the dedup state's TTL is the only state it keeps."""
    return {
        "pipeline.name": settings.job_name,
        "execution.checkpointing.interval": settings.checkpoint_interval,
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "parallelism.default": str(settings.parallelism),
        # Offset-free timestamps are UTC, whatever the machine's zone.
        "table.local-time-zone": "UTC",
        "table.exec.state.ttl": f"{int(settings.dedup_ttl.total_seconds() * 1000)} ms",
    }


def render_statements(settings: NormalizationSettings) -> tuple[list[str], list[str]]:
    """(tables and views, inserts): the whole job as SQL, without the catalog."""
    tables = [kafka_source(p, settings) for p in PROVIDERS] + [kafka_sink(settings)]
    return tables + render_views(PROVIDERS), render_inserts(settings)


def build(t_env: TableEnvironment, settings: NormalizationSettings) -> StatementSet:
    """Creates the job's tables and views in `t_env`; returns its inserts, not yet run.

    The catalog `settings.catalog` with the tables `payments` and `quarantine_payments` in
    `settings.namespace` must exist (`main` registers the Iceberg one).
    """
    config = t_env.get_config()
    for key, value in job_config(settings).items():
        config.set(key, value)
    statements, inserts = render_statements(settings)
    for statement in statements:
        t_env.execute_sql(statement.rstrip().rstrip(";"))
    statement_set = t_env.create_statement_set()
    for insert in inserts:
        statement_set.add_insert_sql(insert)
    return statement_set


def catalog_sql(lakehouse: LakehouseSettings) -> str:
    """The shared Iceberg catalog, as every Flink SQL session registers it."""
    return render_sql_file(
        CATALOG_SQL,
        {
            "catalog_name": lakehouse.catalog_name,
            "jdbc_uri": lakehouse.jdbc_uri,
            "catalog_db_user": lakehouse.catalog_db_user,
            "catalog_db_password": lakehouse.catalog_db_password,
            "warehouse": lakehouse.warehouse,
        },
    )


def print_sql(settings: NormalizationSettings) -> None:
    statements, inserts = render_statements(settings)
    print("\n".join(statements))
    print("EXECUTE STATEMENT SET\nBEGIN\n" + ";\n\n".join(inserts) + ";\nEND;")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-sql", action="store_true", help="print the SQL and exit")
    args = parser.parse_args(argv)
    settings = NormalizationSettings()
    if args.print_sql:
        print_sql(settings)
        return 0

    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    statement = catalog_sql(LakehouseSettings()).strip().splitlines()
    t_env.execute_sql(
        "\n".join(line for line in statement if not line.startswith("--")).rstrip(";")
    )
    result = build(t_env, settings).execute()
    client = result.get_job_client()
    # The submitter reads the job id from this line.
    print(f"Job has been submitted with JobID {client.get_job_id() if client else '?'}")
    return 0


def job_environment(settings: JobSettings, **overrides: str) -> dict[str, str]:
    """The submitter's job settings (and `overrides`) as this job's environment variables."""
    values = {
        "job_name": JOB_NAME,
        "kafka_bootstrap_servers": settings.kafka_bootstrap_servers,
        "checkpoint_interval": settings.checkpoint_interval,
        "parallelism": str(settings.parallelism),
    } | overrides
    return {f"PAYSTREAM_NORMALIZATION_{key.upper()}": value for key, value in values.items()}


def prepare_tables(settings: JobSettings, namespace: str | None = None) -> None:
    """Creates `payments`, `quarantine_payments`, `payment_redeliveries` (and their
    siblings) if missing."""
    from lakehouse.clients import load_catalog
    from validation.tables import ensure_tables

    lakehouse = LakehouseSettings()
    ensure_tables(load_catalog(lakehouse), namespace or NormalizationSettings().namespace)


NORMALIZATION_JOB = PyFlinkJob(
    name=JOB_NAME,
    description="Normalises the Stripe and Square raw topics into payments / quarantine_payments",
    script=REPO_ROOT / "flink_jobs" / "normalization_job.py",
    environment=job_environment,
    prepare=prepare_tables,
)


if __name__ == "__main__":
    sys.exit(main())
