"""Every registered job's SQL, rendered as `make submit` runs it, is planned (EXPLAIN of
its whole statement set) on the Flink venv's mini cluster: its real Kafka sources and
sinks, the Iceberg tables as blackhole sinks of the contract's columns. No Kafka, no
catalog: planning reads neither. The round trip's script is planned too, and the catalog's
init file (sql/init_catalog.sql) parsed: creating the catalog needs its database."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.paths import SQL_DIR
from contracts.tables import CATALOG, NAMESPACE, table_definitions
from deploy.flink.runner import render_submission
from deploy.local.roundtrip import SQL as ROUNDTRIP_SQL
from flink_jobs.ddl import flink_columns
from flink_jobs.job import JobSettings
from flink_jobs.registry import registered_jobs
from flink_jobs.sql_template import render_sql_file
from lakehouse.settings import LakehouseSettings
from tests.flink_venv import run_harness

HARNESS = Path(__file__).with_name("explain_harness.py")
ROUNDTRIP_TABLE = "roundtrip_check"


def roundtrip_script() -> str:
    """The round trip, as a streaming statement set: a bounded Kafka read into a table."""
    sql = render_sql_file(
        ROUNDTRIP_SQL,
        {
            "catalog": CATALOG,
            "topic": "roundtrip.topic",
            "bootstrap_servers": "127.0.0.1:9092",
            "namespace": NAMESPACE,
            "table": ROUNDTRIP_TABLE,
        },
    )
    # Its CREATE TABLE IF NOT EXISTS is a no-op on the harness's blackhole table, which
    # takes INSERT INTO (a blackhole cannot be overwritten); the plan is the same otherwise.
    return sql.replace("INSERT OVERWRITE", "EXECUTE STATEMENT SET\nBEGIN\nINSERT INTO").replace(
        "FROM roundtrip_source;", "FROM roundtrip_source;\nEND;"
    )


def init_catalog_script(lakehouse: LakehouseSettings) -> str:
    """The catalog's init file as deploy/local/render.py writes it (a dummy password)."""
    values = {k: str(v) for k, v in lakehouse.model_dump().items()}
    values |= {"jdbc_uri": lakehouse.jdbc_uri, "catalog_db_password": "not-a-secret"}
    return render_sql_file(SQL_DIR / "init_catalog.sql", values)


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict:
    lakehouse = LakehouseSettings()
    assert (lakehouse.catalog_name, lakehouse.namespace) == (CATALOG, NAMESPACE)
    scripts = {
        name: render_submission(job, JobSettings(), None) for name, job in registered_jobs().items()
    }
    scripts["roundtrip"] = roundtrip_script()
    tables = {table: flink_columns(columns) for table, columns, _ in table_definitions()}
    tables[ROUNDTRIP_TABLE] = (
        "event_id STRING, amount DECIMAL(18, 4), kafka_partition INT, kafka_offset BIGINT"
    )
    job = {
        "catalog": CATALOG,
        "namespace": NAMESPACE,
        "tables": tables,
        "scripts": scripts,
        "parse_only": {"init_catalog": init_catalog_script(lakehouse)},
    }
    return run_harness(HARNESS, job, tmp_path_factory.mktemp("explain"), timeout=900)


@pytest.mark.parametrize("name", [*registered_jobs(), "roundtrip"])
def test_the_script_is_planned(plans: dict, name: str):
    result = plans[name]
    assert "error" not in result, result.get("error")
    plan = result["plan"]
    assert "== Optimized Execution Plan ==" in plan
    assert "KafkaSource" in plan or "TableSourceScan" in plan


def test_the_catalogs_init_file_is_parsed(plans: dict):
    result = plans["init_catalog"]
    assert "error" not in result, result.get("error")
    assert f"CREATE CATALOG: (catalogName: [{CATALOG}]" in result["parsed"]
