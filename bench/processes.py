"""A service the benchmark starts for itself: a subprocess of this Python, logging to a
file, terminated (then killed) when the block ends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from contracts.paths import REPO_ROOT


@contextmanager
def running(module_args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`python -m <module_args>` with `env` over this process's, until the block ends."""
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *module_args],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
