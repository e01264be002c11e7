"""Helpers of the dbt tests: load a dbt script (`dbt/` has no `__init__.py`: it would
shadow dbt-core's `dbt` package) by its path."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from contracts.paths import DBT_PROJECT_DIR

__all__ = ["DBT_PROJECT_DIR", "load_module_from"]


def load_module_from(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
