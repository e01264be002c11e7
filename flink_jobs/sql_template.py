"""Placeholders in SQL files: only `${name}` is replaced, so JSON paths like `$.id` stay."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render_sql(text: str, values: Mapping[str, object]) -> str:
    """Fills every `${name}`; a placeholder without a value is an error, never left in."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for ${{{name}}}")
        return str(values[name])

    return PLACEHOLDER.sub(fill, text)


def render_sql_file(path: Path, values: Mapping[str, object]) -> str:
    return render_sql(path.read_text(), values)
