"""Runs a mini-cluster harness script with the Flink-jobs venv's Python (PyFlink lives there).

A harness reads `job.json` (whatever the caller puts in it) and writes `out.json`; both
sit in `folder`. The checkout's packages are on the path, installed in that venv or not.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from contracts.paths import REPO_ROOT
from deploy.local.settings import StackSettings


def run_harness(harness: Path, job: dict[str, Any], folder: Path, timeout: float = 600) -> Any:
    """The harness's `out.json` for `job`; fails the test with its stderr if it failed."""
    (folder / "job.json").write_text(json.dumps(job))
    python = StackSettings().flink_venv / "bin" / "python"
    run = subprocess.run(
        [str(python), str(harness), str(folder / "job.json"), str(folder / "out.json")],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
        env=os.environ | {"PYTHONPATH": str(REPO_ROOT)},
    )
    assert run.returncode == 0, run.stderr[-5000:]
    return json.loads((folder / "out.json").read_text())
