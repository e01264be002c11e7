"""Iceberg table maintenance through Trino: `python -m lakehouse.maintenance` (`make compact`).

Per table, in this order:

1. `optimize`: rewrites data files smaller than the threshold into bigger ones (streaming
   writers commit small files on every checkpoint).
2. `expire_snapshots`: forgets snapshots older than the retention, and deletes the files
   only they used. The retention is lengthened, per table, to keep every snapshot a Flink
   job needs to resume from any savepoint or retained checkpoint on disk: on restore the
   Iceberg sink finds its last commit by walking the snapshot history, and commits its
   files again if the walk breaks first (lakehouse/flink_commits.py). A savepoint no
   longer wanted should be deleted: while it is on disk, it holds back expiry.
3. `remove_orphan_files`: deletes files no snapshot references that are older than the
   retention (left by failed writes). Keep it well above a checkpoint interval: a Flink
   writer's files are unreferenced until its next checkpoint commits them.

Trino refuses retentions below `iceberg.expire-snapshots.min-retention` and
`iceberg.remove-orphan-files.min-retention` of the catalog (deploy/local/templates/
trino-lakehouse.properties).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from trino.dbapi import Cursor
from trino.exceptions import TrinoQueryError

from deploy.flink.restore import StateDirs, restorable_job_ids
from deploy.local.settings import StackSettings
from lakehouse.clients import trino_connection
from lakehouse.flink_commits import Protection, protection
from lakehouse.settings import LakehouseSettings

# Trino's duration and data size literals.
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d)$")
DATA_SIZE = re.compile(r"^\d+(\.\d+)?(B|kB|MB|GB|TB|PB)$")
SECONDS_PER_UNIT = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
# Trino measures a retention from its own query's start, a moment after the history was
# read here: keeping a few minutes more than the needed snapshot costs nothing.
PROTECTION_MARGIN_SECONDS = 300


class MaintenanceSettings(BaseSettings):
    """What counts as small and how long history is kept (env prefix LAKEHOUSE_MAINTENANCE_)."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_MAINTENANCE_", frozen=True)

    file_size_threshold: str = "100MB"
    snapshot_retention: str = "1d"
    orphan_file_retention: str = "7d"

    @field_validator("file_size_threshold")
    @classmethod
    def _data_size(cls, value: str) -> str:
        if not DATA_SIZE.match(value):
            raise ValueError(f"{value!r} is not a Trino data size such as '100MB'")
        return value

    @field_validator("snapshot_retention", "orphan_file_retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not DURATION.match(value):
            raise ValueError(f"{value!r} is not a Trino duration such as '7d' or '12h'")
        return value


@dataclass(frozen=True)
class TableMaintenance:
    table: str
    # None when the step that counts them did not run (see `error`).
    files_before: int | None
    files_after: int | None
    snapshots_before: int | None
    snapshots_after: int | None
    seconds: float
    error: str | None = None
    # The retention expiry ran with, when a Flink restore point needed it longer.
    protected_retention: str | None = None
    protected_for_job: str | None = None


@dataclass(frozen=True)
class MaintenanceReport:
    catalog: str
    namespace: str
    tables: tuple[TableMaintenance, ...]

    @property
    def failed(self) -> tuple[TableMaintenance, ...]:
        return tuple(t for t in self.tables if t.error)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def duration_seconds(literal: str) -> float:
    match = DURATION.match(literal)
    if not match:
        raise ValueError(f"{literal!r} is not a Trino duration such as '7d' or '12h'")
    return float(match.group(1)) * SECONDS_PER_UNIT[match.group(2)]


def expiry_retention(configured: str, needed: Protection | None, now_ms: int) -> str:
    """The configured retention, or a longer one that keeps every snapshot `needed` names."""
    if needed is None:
        return configured
    age_seconds = max(0, now_ms - needed.since_ms) / 1000
    seconds = math.ceil(age_seconds) + PROTECTION_MARGIN_SECONDS
    return configured if duration_seconds(configured) >= seconds else f"{seconds}s"


def optimize_statement(table: str, settings: MaintenanceSettings) -> str:
    return (
        f"ALTER TABLE {table} EXECUTE optimize"
        f"(file_size_threshold => '{settings.file_size_threshold}')"
    )


def expire_snapshots_statement(table: str, retention: str) -> str:
    return f"ALTER TABLE {table} EXECUTE expire_snapshots(retention_threshold => '{retention}')"


def remove_orphan_files_statement(table: str, settings: MaintenanceSettings) -> str:
    return (
        f"ALTER TABLE {table} EXECUTE remove_orphan_files"
        f"(retention_threshold => '{settings.orphan_file_retention}')"
    )


@dataclass(frozen=True)
class SnapshotRow:
    """A snapshot as Trino's `$snapshots` table shows it (the fields the rule reads)."""

    snapshot_id: int
    parent_snapshot_id: int | None
    timestamp_ms: int
    summary: dict[str, Any] | None


def read_history(cursor: Cursor, schema: str, table: str) -> tuple[list[SnapshotRow], int | None]:
    """The table's snapshots and the current one of its `main` branch, through Trino."""
    cursor.execute(
        "SELECT snapshot_id, parent_id, CAST(to_unixtime(committed_at) * 1000 AS BIGINT), "
        f"summary FROM {schema}.{quote(table + '$snapshots')}"
    )
    snapshots = [SnapshotRow(*row) for row in cursor.fetchall()]
    cursor.execute(
        f"SELECT snapshot_id FROM {schema}.{quote(table + '$refs')} "
        "WHERE name = 'main' AND type = 'BRANCH'"
    )
    current = cursor.fetchall()
    return snapshots, (current[0][0] if current else None)


def _scalar(cursor: Cursor, sql: str) -> int:
    cursor.execute(sql)
    return int(cursor.fetchall()[0][0])


def _run(cursor: Cursor, sql: str) -> None:
    cursor.execute(sql)
    cursor.fetchall()  # a statement is only done once its result is read


def list_tables(cursor: Cursor, catalog: str, namespace: str) -> list[str]:
    cursor.execute(
        f"SELECT table_name FROM {quote(catalog)}.information_schema.tables "
        "WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
        [namespace],
    )
    return [row[0] for row in cursor.fetchall()]


def default_flink_state() -> StateDirs:
    """The local cluster's checkpoint and savepoint folders (deploy/local)."""
    stack = StackSettings()
    return StateDirs(stack.flink_checkpoints, stack.flink_savepoints)


def compact_table(
    cursor: Cursor,
    catalog: str,
    namespace: str,
    table: str,
    settings: MaintenanceSettings,
    flink_state: StateDirs,
) -> TableMaintenance:
    schema = f"{quote(catalog)}.{quote(namespace)}"
    qualified = f"{schema}.{quote(table)}"
    files_sql = f"SELECT count(*) FROM {schema}.{quote(table + '$files')}"
    snapshots_sql = f"SELECT count(*) FROM {schema}.{quote(table + '$snapshots')}"
    counts: list[int] = []
    needed: Protection | None = None
    retention = settings.snapshot_retention
    started = time.monotonic()
    try:
        counts += [_scalar(cursor, files_sql), _scalar(cursor, snapshots_sql)]
        _run(cursor, optimize_statement(qualified, settings))
        # Read after optimize, which commits a snapshot of its own, and just before expiry,
        # so a savepoint taken meanwhile is seen.
        snapshots, current = read_history(cursor, schema, table)
        needed = protection(snapshots, current, restorable_job_ids(flink_state))
        retention = expiry_retention(settings.snapshot_retention, needed, int(time.time() * 1000))
        _run(cursor, expire_snapshots_statement(qualified, retention))
        _run(cursor, remove_orphan_files_statement(qualified, settings))
        counts += [_scalar(cursor, files_sql), _scalar(cursor, snapshots_sql)]
        error = None
    except TrinoQueryError as exc:
        error = f"{exc.error_name}: {exc.message}"
    before_after: list[int | None] = [*counts, None, None, None, None][:4]
    files_before, snapshots_before, files_after, snapshots_after = before_after
    lengthened = needed is not None and retention != settings.snapshot_retention
    return TableMaintenance(
        table,
        files_before,
        files_after,
        snapshots_before,
        snapshots_after,
        time.monotonic() - started,
        error,
        protected_retention=retention if lengthened else None,
        protected_for_job=needed.job_id if needed and lengthened else None,
    )


def compact(
    namespace: str,
    tables: Sequence[str] | None = None,
    *,
    settings: MaintenanceSettings | None = None,
    lakehouse: LakehouseSettings | None = None,
    progress: Callable[[TableMaintenance], None] | None = None,
    flink_state: StateDirs | None = None,
) -> MaintenanceReport:
    """Compacts, expires and cleans every table of the namespace (or the ones named).

    Expiry keeps what the Flink savepoints and retained checkpoints under `flink_state`
    (default: the local cluster's) need. A table that fails is reported with its error
    and the others still run.
    """
    settings = settings or MaintenanceSettings()
    lakehouse = lakehouse or LakehouseSettings()
    flink_state = flink_state or default_flink_state()
    catalog = lakehouse.catalog_name
    cursor = trino_connection(lakehouse, schema=namespace).cursor()
    names = list(tables) if tables is not None else list_tables(cursor, catalog, namespace)
    results = []
    for name in names:
        result = compact_table(cursor, catalog, namespace, name, settings, flink_state)
        if progress:
            progress(result)
        results.append(result)
    return MaintenanceReport(catalog, namespace, tuple(results))


def describe(result: TableMaintenance) -> str:
    if result.error:
        return f"  {result.table:<36} FAILED after {result.seconds:.1f}s: {result.error}"
    line = (
        f"  {result.table:<36} files {result.files_before:>6} -> {result.files_after:<6} "
        f"snapshots {result.snapshots_before:>6} -> {result.snapshots_after:<6} "
        f"{result.seconds:.1f}s"
    )
    if result.protected_retention:
        line += (
            f"  (kept {result.protected_retention} of history for Flink job "
            f"{result.protected_for_job}'s restore point)"
        )
    return line


def main(argv: Sequence[str] | None = None) -> int:
    defaults = MaintenanceSettings()
    lakehouse = LakehouseSettings()
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.maintenance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--namespace", default=lakehouse.namespace)
    parser.add_argument(
        "--table", action="append", metavar="NAME", help="only this table (repeatable)"
    )
    parser.add_argument("--file-size-threshold", default=defaults.file_size_threshold)
    parser.add_argument("--snapshot-retention", default=defaults.snapshot_retention)
    parser.add_argument("--orphan-file-retention", default=defaults.orphan_file_retention)
    args = parser.parse_args(argv)
    try:
        settings = MaintenanceSettings(
            file_size_threshold=args.file_size_threshold,
            snapshot_retention=args.snapshot_retention,
            orphan_file_retention=args.orphan_file_retention,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(
        f"Maintaining {lakehouse.catalog_name}.{args.namespace} through Trino "
        f"(files under {settings.file_size_threshold} rewritten, snapshots kept "
        f"{settings.snapshot_retention}, orphan files kept {settings.orphan_file_retention})",
        flush=True,
    )
    try:
        report = compact(
            args.namespace,
            args.table,
            settings=settings,
            lakehouse=lakehouse,
            progress=lambda result: print(describe(result), flush=True),
        )
    except Exception as exc:
        print(
            f"error: Trino at {lakehouse.trino_host}:{lakehouse.trino_port}: {exc} "
            "(is the platform up? `make up`)",
            file=sys.stderr,
        )
        return 1
    if not report.tables:
        print(f"No tables in {lakehouse.catalog_name}.{args.namespace}.")
    if report.failed:
        print(f"error: {len(report.failed)} table(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
