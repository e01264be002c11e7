"""Placeholders in SQL files: only `${name}` is replaced, so JSON paths like `$.id` stay."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from string import Template


class SqlTemplate(Template):
    # Only the braced form is a placeholder; a bare `$` is literal SQL text.
    pattern = r"""
        \$(?:
          (?P<escaped>\$)                 |
          {(?P<braced>[_a-z][_a-z0-9]*)}  |
          (?P<named>(?!))                 |
          (?P<invalid>(?!))
        )
    """


def render_sql(text: str, values: Mapping[str, object]) -> str:
    """Fills every `${name}`; a placeholder without a value is an error, never left in."""
    return SqlTemplate(text).substitute({k: str(v) for k, v in values.items()})


def render_sql_file(path: Path, values: Mapping[str, object]) -> str:
    return render_sql(path.read_text(), values)
