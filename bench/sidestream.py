"""Side stream: enrichment lag and recovery workflows per second (Temporal + inference).

Measured only once the Temporal workflows exist (`workflows/`); until then the result
says why it was not measured.
"""

from __future__ import annotations

from pathlib import Path

from bench.results import Result
from bench.settings import BenchSettings
from lakehouse.settings import REPO_ROOT


def run(settings: BenchSettings, out: Path) -> Result:
    workflows = REPO_ROOT / "workflows"
    if not any(workflows.glob("*.py")):
        return Result.not_measured(
            "sidestream", "the Temporal workflows (workflows/) did not exist when this was built"
        )
    return Result.not_measured(
        "sidestream",
        "workflows/ landed at the end of the benchmark work; no benchmark drives the "
        "enrichment and recovery workflows yet",
    )
