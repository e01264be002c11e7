"""Dagster pieces of the analytics layer; `dbt/orchestration/definitions.py` wires them.

A package of its own name (not under `dbt`, which is dbt-core's package): Dagster loads
`definitions.py` with `-d dbt/orchestration` on the path, and tests add the same folder.
"""
