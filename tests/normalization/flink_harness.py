"""Runs the normalisation job's SQL on an in-process Flink mini cluster (Flink venv's Python).

Usage: python flink_harness.py <job.json> <out.json>. job.json holds
{"files": {"stripe": path, ...}, "settings": {...}}: each provider's raw messages as
JSON lines (payload, kafka_partition, kafka_offset, kafka_timestamp_ms, headers with
base64 values). The provider tables stand in for the Kafka sources; the views and the
inserts' SELECTs are the job's own. out.json gets each insert's rows and the job's plan
(explained against its real Kafka tables and blackhole stand-ins for the Iceberg ones).
"""

import json
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

from contracts.tables import (
    REDELIVERY_COLUMNS,
    REDELIVERY_TABLE,
    UNIFIED_COLUMNS,
    UNIFIED_QUARANTINE_COLUMNS,
    UNIFIED_QUARANTINE_TABLE,
    UNIFIED_TABLE,
)
from flink_jobs.ddl import flink_columns, function_statements
from flink_jobs.normalization_job import build
from normalization.flink_sql import raw_table, render_inserts, render_views
from normalization.providers import PROVIDERS
from normalization.settings import NormalizationSettings


def streaming_env() -> TableEnvironment:
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.get_config().set("parallelism.default", "1")
    env.get_config().set("table.local-time-zone", "UTC")
    return env


def file_sources(env: TableEnvironment, files: dict) -> None:
    for p in PROVIDERS:
        env.execute_sql(
            f"CREATE TEMPORARY TABLE {p.name}_file (payload STRING, kafka_partition INT,"
            " kafka_offset BIGINT, kafka_timestamp_ms BIGINT, headers MAP<STRING, BYTES>,"
            " proctime AS PROCTIME())"
            f" WITH ('connector' = 'filesystem', 'path' = '{files[p.name]}', 'format' = 'json')"
        )
        env.execute_sql(
            f"CREATE TEMPORARY VIEW {raw_table(p)} AS SELECT payload,"
            f" '{p.topic}' AS kafka_topic, kafka_partition, kafka_offset,"
            " TO_TIMESTAMP_LTZ(kafka_timestamp_ms, 3) AS kafka_timestamp, headers, proctime"
            f" FROM {p.name}_file"
        )


def run_inserts(files: dict, settings: NormalizationSettings) -> dict:
    env = streaming_env()
    file_sources(env, files)
    for statement in [*function_statements(), *render_views(PROVIDERS)]:
        env.execute_sql(statement.rstrip().rstrip(";"))
    outputs = (
        ("payments", UNIFIED_COLUMNS),
        ("topic", UNIFIED_COLUMNS),
        ("quarantine", UNIFIED_QUARANTINE_COLUMNS),
        ("redeliveries", REDELIVERY_COLUMNS),
    )
    selects = []
    for (name, columns), insert in zip(outputs, render_inserts(settings), strict=True):
        select = insert.split("\n", 1)[1]  # the SELECT, without its INSERT INTO line
        # One JSON text per row, each value as Flink casts it to text: PyFlink cannot hand
        # every type (TIMESTAMP_LTZ, ARRAY) over as objects.
        members = ", ".join(f"KEY '{c}' VALUE CAST({c} AS STRING)" for c, _ in columns)
        selects.append(f"SELECT '{name}', JSON_OBJECT({members} NULL ON NULL) FROM ({select})")
    # One job for all of them, as in the real job: they share the views and the dedup.
    results: dict[str, list] = {name: [] for name, _ in outputs}
    columns_of = dict(outputs)
    with env.execute_sql("\nUNION ALL\n".join(selects)).collect() as rows:
        for name, text in rows:
            results[name].append([json.loads(text)[c] for c, _ in columns_of[name]])
    return results


def explain(settings: NormalizationSettings) -> str:
    env = streaming_env()
    env.execute_sql(f"CREATE CATALOG {settings.catalog} WITH ('type' = 'generic_in_memory')")
    env.execute_sql(f"CREATE DATABASE {settings.catalog}.{settings.namespace}")
    for table, columns in (
        (UNIFIED_TABLE, UNIFIED_COLUMNS),
        (UNIFIED_QUARANTINE_TABLE, UNIFIED_QUARANTINE_COLUMNS),
        (REDELIVERY_TABLE, REDELIVERY_COLUMNS),
    ):
        env.execute_sql(
            f"CREATE TABLE {settings.catalog}.{settings.namespace}.{table}"
            f" ({flink_columns(columns)}) WITH ('connector' = 'blackhole')"
        )
    return build(env, settings).explain()


def main() -> None:
    with open(sys.argv[1]) as source:
        job = json.load(source)
    settings = NormalizationSettings(**job["settings"])
    results = run_inserts(job["files"], settings)
    results["plan"] = explain(settings)
    with open(sys.argv[2], "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
