"""Runs a command against the local platform: `python -m deploy.local.with_stack CMD...`.

Starts the platform if it is not running, runs the command, and stops the platform again
only if it started it, so a developer's running stack is left as it was.
"""

from __future__ import annotations

import subprocess
import sys

from deploy.local.settings import StackSettings
from deploy.local.stack import Stack, StackError
from lakehouse.settings import LakehouseSettings


def main(argv: list[str] | None = None) -> int:
    command = sys.argv[1:] if argv is None else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    stack = Stack(StackSettings(), LakehouseSettings())
    started_here = not stack.supervisord_running()
    try:
        stack.up()
        return subprocess.run(command, check=False).returncode
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if started_here:
            stack.down()


if __name__ == "__main__":
    sys.exit(main())
