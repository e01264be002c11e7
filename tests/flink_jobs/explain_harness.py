"""Plans job scripts on an in-process Flink mini cluster (the Flink venv's Python).

Usage: python explain_harness.py <job.json> <out.json>. job.json holds {"catalog": name,
"namespace": name, "tables": {table: flink column list}, "scripts": {name: sql}}: the
catalog is an in-memory one holding the tables as blackhole sinks (planning needs no
Iceberg), the Kafka tables are the jobs' own (planning reads no Kafka). out.json gets each
script's plan (EXPLAIN of its statement set), or its error; the scripts of "parse_only"
(the catalog's init file) are parsed by Flink's parser, not run.
"""

import json
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

from flink_jobs.script import build, parse_script

RUNTIME_MODE = "execution.runtime-mode"


def environment(catalog: str, namespace: str, tables: dict, mode: str) -> TableEnvironment:
    """A table environment in the script's runtime mode, which cannot change once made."""
    settings = EnvironmentSettings.new_instance()
    settings = settings.in_batch_mode() if mode == "batch" else settings.in_streaming_mode()
    env = TableEnvironment.create(settings.build())
    env.execute_sql(f"CREATE CATALOG `{catalog}` WITH ('type' = 'generic_in_memory')")
    env.execute_sql(f"CREATE DATABASE `{catalog}`.`{namespace}`")
    for table, columns in tables.items():
        env.execute_sql(
            f"CREATE TABLE `{catalog}`.`{namespace}`.`{table}` ({columns})"
            " WITH ('connector' = 'blackhole')"
        )
    return env


def explain(job: dict, sql: str) -> str:
    mode = parse_script(sql).settings.get(RUNTIME_MODE, "streaming")
    env = environment(job["catalog"], job["namespace"], job["tables"], mode)
    return build(env, sql).explain()


def parse(sql: str) -> str:
    """The operations of a script that cannot be planned (a catalog needs its database to
    be created): parsed and validated by Flink's own parser, not run."""
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    parser = env._j_tenv.getParser()
    script = parse_script(sql)
    return "\n".join(
        str(operation.asSummaryString())
        for statement in script.statements
        for operation in parser.parse(statement)
    )


def main() -> None:
    with open(sys.argv[1]) as source:
        job = json.load(source)
    plans = {}
    for name, sql in job.get("parse_only", {}).items():
        try:
            plans[name] = {"parsed": parse(sql)}
        except Exception as exc:
            plans[name] = {"error": f"{type(exc).__name__}: {exc}"[-4000:]}
    for name, sql in job["scripts"].items():
        try:
            plans[name] = {"plan": explain(job, sql)}
        except Exception as exc:  # the test shows which script failed and why
            plans[name] = {"error": f"{type(exc).__name__}: {exc}"[-4000:]}
    with open(sys.argv[2], "w") as out:
        json.dump(plans, out)


if __name__ == "__main__":
    main()
