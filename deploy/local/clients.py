"""Interactive clients on the shared catalog.

Usage: `python -m deploy.local.clients flink-sql|trino [args]`.

Extra arguments go to the client unchanged, e.g. `flink-sql -f job.sql` or
`trino --execute 'show tables'`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from deploy.local.render import render_all
from deploy.local.services import flink_environment, java25_home
from deploy.local.settings import StackSettings
from lakehouse.settings import LakehouseSettings


def flink_sql_command(stack: StackSettings, args: list[str]) -> tuple[list[str], dict[str, str]]:
    init = stack.conf_dir / "flink" / "init.sql"
    command = [str(stack.flink_home / "bin" / "sql-client.sh"), "-i", str(init), *args]
    return command, os.environ | flink_environment(stack)


def trino_command(
    stack: StackSettings, lakehouse: LakehouseSettings, args: list[str]
) -> tuple[list[str], dict[str, str]]:
    command = [
        str(Path(java25_home()) / "bin" / "java"),
        "--enable-native-access=ALL-UNNAMED",
        "-jar",
        str(stack.trino_cli),
        "--server",
        f"http://{lakehouse.trino_host}:{lakehouse.trino_port}",
        "--user",
        lakehouse.trino_user,
        "--catalog",
        lakehouse.catalog_name,
        "--schema",
        lakehouse.namespace,
        *args,
    ]
    return command, dict(os.environ)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("flink-sql", "trino"):
        print(__doc__, file=sys.stderr)
        return 2
    stack, lakehouse = StackSettings(), LakehouseSettings()
    if argv[0] == "flink-sql":
        render_all(stack, lakehouse)
        command, env = flink_sql_command(stack, argv[1:])
    else:
        command, env = trino_command(stack, lakehouse, argv[1:])
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main())
