"""The dbt project's paths, and its Dagster code importable the way `make dagster` loads it.

`dbt/` has no `__init__.py` (it would shadow dbt-core's `dbt` package), so the Dagster
package lives under `dbt/orchestration/` and that folder goes on the path, as with
`dagster dev -d dbt/orchestration`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
ORCHESTRATION_DIR = DBT_PROJECT_DIR / "orchestration"

if str(ORCHESTRATION_DIR) not in sys.path:
    sys.path.insert(0, str(ORCHESTRATION_DIR))


def load_module_from(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
