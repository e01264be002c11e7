"""A rendered job script read back as the SQL client reads it: its SET statements, its
other statements, and the inserts of its statement set; and planned in a PyFlink table
environment (the unit tests' mini cluster), which has no SET statement of its own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment

SET = re.compile(r"^SET\s+'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'$", re.IGNORECASE | re.DOTALL)
STATEMENT_SET = re.compile(r"^EXECUTE\s+STATEMENT\s+SET\s+BEGIN\s+", re.IGNORECASE)


def split_statements(sql: str) -> list[str]:
    """The script's statements, without their `;`, comments and surrounding blank space.

    A `;` inside a string literal, a quoted identifier or a comment ends nothing.
    """
    statements, current = [], []
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if char in "'`\"":
            end = index + 1
            while end < length:
                if sql[end] == char:
                    if end + 1 < length and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            current.append(sql[index : end + 1])
            index = end + 1
        elif sql.startswith("--", index):
            newline = sql.find("\n", index)
            index = length if newline < 0 else newline
        elif char == ";":
            statements.append("".join(current).strip())
            current = []
            index += 1
        else:
            current.append(char)
            index += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


@dataclass
class Script:
    settings: dict[str, str] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    inserts: list[str] = field(default_factory=list)


def parse_script(sql: str) -> Script:
    """The settings, statements and statement-set inserts of a job script."""
    script = Script()
    in_set = False
    for statement in split_statements(sql):
        if in_set:
            if statement.upper() == "END":
                in_set = False
            else:
                script.inserts.append(statement)
        elif STATEMENT_SET.match(statement):
            in_set = True
            script.inserts.append(STATEMENT_SET.sub("", statement))
        elif match := SET.match(statement):
            key, value = (part.replace("''", "'") for part in match.groups())
            script.settings[key] = value
        else:
            script.statements.append(statement)
    if in_set:
        raise ValueError("EXECUTE STATEMENT SET without END")
    return script


def build(t_env: TableEnvironment, sql: str) -> StatementSet:
    """Applies the script's settings, runs its statements and returns its inserts, not yet run."""
    script = parse_script(sql)
    config = t_env.get_config()
    for key, value in script.settings.items():
        config.set(key, value)
    for statement in script.statements:
        t_env.execute_sql(statement)
    statement_set = t_env.create_statement_set()
    for insert in script.inserts:
        statement_set.add_insert_sql(insert)
    return statement_set
