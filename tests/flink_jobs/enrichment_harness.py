"""Runs the enrichment sink's SQL on an in-process Flink mini cluster (Flink venv's Python).

Usage: python enrichment_harness.py <job.json> <out.json>. job.json holds {"script": the
job's rendered SQL, "messages": path of JSON lines (payload, kafka_partition, kafka_offset,
kafka_timestamp_ms), "source": the script's Kafka table, "catalog", "namespace",
"tables": {table: [[column, Flink type], ...]}}. The messages stand in for the Kafka table; every
view and the inserts' SELECTs are the script's own. out.json gets each insert's rows (by
its table, as JSON objects of text values) and the whole job's plan, explained against its
real Kafka table and blackhole stand-ins for the Iceberg ones.
"""

import json
import re
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

from flink_jobs.script import Script, build, parse_script

INSERT = re.compile(r"^INSERT INTO (\S+)\s+(SELECT\s.*)$", re.IGNORECASE | re.DOTALL)


def streaming_env(script: Script) -> TableEnvironment:
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    for key, value in script.settings.items():
        if key != "execution.checkpointing.interval":
            env.get_config().set(key, value)
    env.get_config().set("parallelism.default", "1")
    return env


def create_catalog(env: TableEnvironment, job: dict) -> None:
    env.execute_sql(f"CREATE CATALOG {job['catalog']} WITH ('type' = 'generic_in_memory')")
    env.execute_sql(f"CREATE DATABASE {job['catalog']}.{job['namespace']}")
    for table, columns in job["tables"].items():
        ddl = ", ".join(f"{name} {kind}" for name, kind in columns)
        env.execute_sql(
            f"CREATE TABLE {job['catalog']}.{job['namespace']}.{table} ({ddl})"
            " WITH ('connector' = 'blackhole')"
        )


def run_inserts(job: dict, script: Script) -> dict:
    env = streaming_env(script)
    env.execute_sql(
        "CREATE TEMPORARY TABLE messages_file (payload STRING, kafka_partition INT,"
        " kafka_offset BIGINT, kafka_timestamp_ms BIGINT, proc_time AS PROCTIME())"
        f" WITH ('connector' = 'filesystem', 'path' = '{job['messages']}', 'format' = 'json')"
    )
    env.execute_sql(
        f"CREATE TEMPORARY VIEW {job['source']} AS SELECT payload, 'enriched' AS kafka_topic,"
        " kafka_partition, kafka_offset, TO_TIMESTAMP_LTZ(kafka_timestamp_ms, 3)"
        " AS kafka_timestamp, proc_time FROM messages_file"
    )
    selects = []
    for statement in script.statements:
        if statement.upper().startswith("CREATE TEMPORARY VIEW"):
            env.execute_sql(statement)
    for statement in script.inserts:
        insert = INSERT.match(statement)
        if insert:
            table = insert[1].rsplit(".", 1)[1].strip("`")
            members = ", ".join(
                f"KEY '{c}' VALUE CAST({c} AS STRING)" for c, _ in job["tables"][table]
            )
            selects.append(
                f"SELECT '{table}', JSON_OBJECT({members} NULL ON NULL) FROM ({insert[2]})"
            )
    results: dict[str, list] = {table: [] for table in job["tables"]}
    with env.execute_sql("\nUNION ALL\n".join(selects)).collect() as rows:
        for table, text in rows:
            results[table].append(json.loads(text))
    return results


def explain(job: dict, script: Script) -> str:
    env = streaming_env(script)
    create_catalog(env, job)
    return build(env, job["script"]).explain()


def main() -> None:
    with open(sys.argv[1]) as source:
        job = json.load(source)
    script = parse_script(job["script"])
    results = run_inserts(job, script)
    results["plan"] = explain(job, script)
    with open(sys.argv[2], "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
