"""The dbt project as Dagster assets: every model, seed and snapshot, dbt tests as checks."""

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.dbt_project import using_dagster_dev

from contracts.paths import DBT_PROJECT_DIR

# The virtualenv's dbt, also when the virtualenv is not activated (`make dagster`).
DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))


def dbt_cli(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)


def load_dbt_project(project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """The project with a fresh manifest: `dagster dev` re-parses on every load (models
    change while it runs), and so does any load that finds no manifest (a fresh clone)."""
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    if using_dagster_dev() or not project.manifest_path.exists():
        dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def build_dbt_assets(project: DbtProject) -> Any:
    @dbt_assets(manifest=project.manifest_path, project=project, name="paystream_dbt")
    def paystream_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        # `build` runs seeds, models, snapshots and their tests in dependency order.
        yield from dbt.cli(["build"], context=context).stream()

    return paystream_dbt
