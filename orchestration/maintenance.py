"""Iceberg maintenance through Trino (optimize, expire_snapshots, remove_orphan_files),
reusing lakehouse.maintenance so `make compact` and Dagster do exactly the same."""

from dagster import Failure, OpExecutionContext, job, op

from lakehouse.maintenance import MaintenanceSettings, compact, describe
from lakehouse.settings import LakehouseSettings
from orchestration.resources import MaintenanceConfig, TrinoResource


@op(description="Compact and expire snapshots of every table of the configured namespaces.")
def compact_iceberg_tables(
    context: OpExecutionContext, maintenance: MaintenanceConfig, trino: TrinoResource
) -> None:
    settings = MaintenanceSettings(
        file_size_threshold=maintenance.file_size_threshold,
        snapshot_retention=maintenance.snapshot_retention,
        orphan_file_retention=maintenance.orphan_file_retention,
    )
    lakehouse = LakehouseSettings(
        trino_host=trino.host,
        trino_port=trino.port,
        trino_user=trino.user,
        catalog_name=trino.catalog,
    )
    failed: list[str] = []
    for namespace in maintenance.namespaces:
        report = compact(namespace, settings=settings, lakehouse=lakehouse)
        lines = [describe(result) for result in report.tables]
        context.log.info(f"{namespace}:\n" + "\n".join(lines))
        failed += [f"{namespace}.{result.table}: {result.error}" for result in report.failed]
    if failed:
        raise Failure(description="maintenance failed for " + "; ".join(failed))


@job(description="Iceberg table maintenance (lakehouse/maintenance.py) through Trino.")
def iceberg_maintenance() -> None:
    compact_iceberg_tables()
