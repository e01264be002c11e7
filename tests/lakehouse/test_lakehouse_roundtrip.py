"""One catalog, three engines: what one writes, the others read back identically."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

pytestmark = pytest.mark.integration

ROWS = [
    (
        1,
        "ch_3PqX",
        Decimal("12.5000"),
        True,
        0.25,
        date(2026, 1, 31),
        datetime(2026, 1, 31, 23, 59, 59, 123456, tzinfo=UTC),
    ),
    (
        2,
        "ch_Ünïcödé",
        Decimal("-0.0001"),
        False,
        1e-9,
        date(1999, 12, 31),
        datetime(1999, 12, 31, 0, 0, tzinfo=UTC),
    ),
    (3, None, None, None, None, None, None),
]
# A bounded job that fails must fail the test, not restart forever.
BATCH_SESSION = """
SET 'execution.runtime-mode' = 'batch';
SET 'table.dml-sync' = 'true';
SET 'restart-strategy.type' = 'none';
SET 'table.local-time-zone' = 'UTC';
"""
COLUMNS = "id, name, amount, flag, score, paid_on, created_at"
FLINK_TYPES = ["BIGINT", "STRING", "DECIMAL(18,4)", "BOOLEAN", "DOUBLE", "DATE", "TIMESTAMP_LTZ(6)"]


def sql_literal(value: object, flink_type: str) -> str:
    if value is None:
        return f"CAST(NULL AS {flink_type})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return f"CAST({value} AS DECIMAL(18,4))"
    if isinstance(value, float):
        return f"CAST({value!r} AS DOUBLE)"
    if isinstance(value, datetime):
        # Read in the session time zone, which BATCH_SESSION sets to UTC.
        return f"CAST(TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}' AS TIMESTAMP_LTZ(6))"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def as_tuples(records: list[dict]) -> list[tuple]:
    return sorted(
        (tuple(r[c.strip()] for c in COLUMNS.split(",")) for r in records), key=lambda r: r[0]
    )


def test_flink_sql_write_reads_back_in_trino_and_pyiceberg(
    namespace, flink_sql, trino_rows, catalog
):
    values = ",\n  ".join(
        "(" + ", ".join(sql_literal(v, t) for v, t in zip(row, FLINK_TYPES, strict=True)) + ")"
        for row in ROWS
    )
    flink_sql(
        BATCH_SESSION
        + f"""
CREATE TABLE lakehouse.{namespace}.written_by_flink (
  {", ".join(f"{c.strip()} {t}" for c, t in zip(COLUMNS.split(","), FLINK_TYPES, strict=True))}
);
INSERT INTO lakehouse.{namespace}.written_by_flink VALUES
  {values};
"""
    )

    via_trino = trino_rows(f"SELECT {COLUMNS} FROM {namespace}.written_by_flink ORDER BY id")
    via_pyiceberg = as_tuples(
        catalog.load_table(f"{namespace}.written_by_flink").scan().to_arrow().to_pylist()
    )

    assert via_trino == ROWS
    assert via_pyiceberg == ROWS


def test_pyiceberg_write_reads_back_in_trino_and_flink_sql(
    namespace, flink_sql, trino_rows, catalog
):
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "name", StringType(), required=False),
        NestedField(3, "amount", DecimalType(18, 4), required=False),
        NestedField(4, "flag", BooleanType(), required=False),
        NestedField(5, "score", DoubleType(), required=False),
        NestedField(6, "paid_on", DateType(), required=False),
        NestedField(7, "created_at", TimestamptzType(), required=False),
    )
    table = catalog.create_table(f"{namespace}.written_by_pyiceberg", schema=schema)
    names = [c.strip() for c in COLUMNS.split(",")]
    table.append(
        pa.Table.from_pylist(
            [dict(zip(names, row, strict=True)) for row in ROWS], schema=table.schema().as_arrow()
        )
    )

    via_trino = trino_rows(f"SELECT {COLUMNS} FROM {namespace}.written_by_pyiceberg ORDER BY id")
    assert via_trino == ROWS

    # Flink SQL reads the table in a job of its own and writes what it read to a copy.
    flink_sql(
        BATCH_SESSION
        + f"""
CREATE TABLE lakehouse.{namespace}.read_by_flink LIKE lakehouse.{namespace}.written_by_pyiceberg;
INSERT INTO lakehouse.{namespace}.read_by_flink
SELECT * FROM lakehouse.{namespace}.written_by_pyiceberg;
"""
    )
    via_flink = trino_rows(f"SELECT {COLUMNS} FROM {namespace}.read_by_flink ORDER BY id")
    assert via_flink == ROWS


def test_running_job_is_listed_in_the_flink_web_ui(flink_sql, stack_settings):
    rest = f"http://127.0.0.1:{stack_settings.flink_rest_port}"
    job_name = f"ui-visibility-{time.monotonic_ns()}"
    output = flink_sql(f"""
SET 'pipeline.name' = '{job_name}';
CREATE TEMPORARY TABLE ticks (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '5');
CREATE TEMPORARY TABLE sink (n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT n FROM ticks;
""")
    assert "Job ID" in output, output
    try:
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline and state != "RUNNING":
            jobs = httpx.get(f"{rest}/jobs/overview", timeout=5).json()["jobs"]
            state = next((j["state"] for j in jobs if j["name"] == job_name), None)
            time.sleep(1)
        assert state == "RUNNING"
        # The web UI is served from the same port as the REST API.
        assert "<html" in httpx.get(f"{rest}/", timeout=5).text.lower()
    finally:
        for job in httpx.get(f"{rest}/jobs/overview", timeout=5).json()["jobs"]:
            if job["name"] == job_name and job["state"] == "RUNNING":
                httpx.patch(f"{rest}/jobs/{job['jid']}?mode=cancel", timeout=5)
