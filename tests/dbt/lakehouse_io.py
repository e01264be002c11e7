"""Integration helpers: rows into Iceberg through Trino, dbt against Trino, and cleanup of
the silver/gold schemas dbt creates next to a test namespace."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lakehouse.settings import LakehouseSettings
from tests.dbt.conftest import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).with_name("dbt"))
DBT_LAYERS = ("silver", "gold")


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal):
        return f"DECIMAL '{value}'"
    if isinstance(value, datetime):
        utc = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"TIMESTAMP '{utc} UTC'"
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(sql_literal(item) for item in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def insert_rows(trino_rows, table: str, rows: list[dict[str, Any]]) -> None:
    """Appends rows to an Iceberg table as one commit, through Trino.

    Not PyIceberg's `append`: the pipeline tables are day-partitioned, and PyIceberg needs
    the optional `pyiceberg-core` package (not installed) to write partitioned tables.
    """
    columns = sorted({name for row in rows for name in row})
    values = ",\n".join(
        "(" + ", ".join(sql_literal(row.get(name)) for name in columns) + ")" for row in rows
    )
    trino_rows(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}")


def run_dbt(namespace: str, target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """dbt against the local Trino with `namespace` as the source schema."""
    env = {**os.environ, "LAKEHOUSE_NAMESPACE": namespace, "DBT_THREADS": "2"}
    return subprocess.run(
        [
            DBT,
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def drop_dbt_schemas(trino_rows, namespace: str, settings: LakehouseSettings) -> None:
    """Drops the views, tables and schemas dbt built for `namespace`."""
    catalog = settings.catalog_name
    for layer in DBT_LAYERS:
        schema = f"{namespace}_{layer}"
        relations = trino_rows(
            f"SELECT table_name, table_type FROM {catalog}.information_schema.tables "
            f"WHERE table_schema = '{schema}'"
        )
        for name, kind in relations:
            statement = "DROP VIEW" if kind == "VIEW" else "DROP TABLE"
            trino_rows(f'{statement} IF EXISTS {catalog}."{schema}"."{name}"')
        trino_rows(f'DROP SCHEMA IF EXISTS {catalog}."{schema}"')
