"""Runs SQL on an in-process Flink mini cluster; executed with the Flink-jobs venv's Python.

Usage: python flink_harness.py <job.json> <out.json>, where job.json holds
{"statements": [...], "queries": {"name": "SELECT ..."}}; out.json gets each query's rows,
every value as text.
"""

import json
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment


def main() -> None:
    with open(sys.argv[1]) as source:
        job = json.load(source)
    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    env.get_config().set("parallelism.default", "1")
    env.get_config().set("table.local-time-zone", "UTC")
    for statement in job["statements"]:
        env.execute_sql(statement)
    results = {}
    for name, query in job["queries"].items():
        with env.execute_sql(query).collect() as rows:
            results[name] = [[None if v is None else str(v) for v in row] for row in rows]
    with open(sys.argv[2], "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
