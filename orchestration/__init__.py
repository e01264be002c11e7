"""Dagster for the analytics layer: `definitions.py` wires the pieces of this package.

`make dagster` loads it as a module (`dagster dev -m orchestration.definitions`), from the
repository root like every other package; the dbt project it runs is `dbt/`
(`contracts.paths.DBT_PROJECT_DIR`).
"""
