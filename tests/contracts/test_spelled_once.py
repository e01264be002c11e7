"""House rule 1 for names: each topic, table and reason code is spelled in exactly one
Python module, in `contracts/`; every other module imports it (issue #13).

Docstrings and comments may talk about a name; code may not type it. SQL, dbt and docs
are rendered from these modules or checked against them by their own tests.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from contracts.reasons import Reason
from contracts.tables import NAMESPACE, UNIFIED_TABLE, table_definitions
from contracts.topics import TOPIC_NAMES
from tests.contracts.source_tree import Module, project_modules, string_literals

TABLE_NAMES = tuple(name for name, _, _ in table_definitions())
# The unified table is called `payments`, a word that is also a column of the gold models
# and the first word of every topic: it counts as spelled where a string is exactly that
# word or where SQL names it as a table.
SQL_TABLE_CONTEXT = r"(?:FROM|JOIN|INTO|TABLE|EXISTS|UPDATE)\s+(?:[A-Za-z0-9_]+\.)*"


def spelling(name: str) -> re.Pattern[str]:
    token = re.escape(name)
    if name == UNIFIED_TABLE:
        return re.compile(
            rf"^{token}$|{SQL_TABLE_CONTEXT}{token}(?![A-Za-z0-9_.\-])", re.IGNORECASE
        )
    return re.compile(rf"(?<![A-Za-z0-9_]){token}(?![A-Za-z0-9_])")


def spellings(names: tuple[str, ...]) -> dict[str, dict[str, list[int]]]:
    """name -> module -> the lines of the literals that spell it."""
    patterns = {name: spelling(name) for name in names}
    found: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for module in project_modules():
        for line, text in string_literals(module):
            for name, pattern in patterns.items():
                if pattern.search(text):
                    found[name][module.name].append(line)
    return found


def is_contract(module: str) -> bool:
    return module == "contracts" or module.startswith("contracts.")


VOCABULARY = {
    "topic": TOPIC_NAMES,
    "table": (*TABLE_NAMES, NAMESPACE),
    "reason": tuple(reason.value for reason in Reason),
}


@pytest.mark.parametrize("kind", sorted(VOCABULARY))
def test_each_name_is_spelled_only_in_one_contracts_module(kind: str):
    found = spellings(VOCABULARY[kind])
    elsewhere = {
        name: {m: lines for m, lines in modules.items() if not is_contract(m)}
        for name, modules in found.items()
    }
    assert {name: where for name, where in elsewhere.items() if where} == {}
    assert {name: sorted(modules) for name, modules in found.items() if len(modules) > 1} == {}


def test_the_walk_sees_the_tree():
    """The rule above holds vacuously if the walk finds nothing: it finds the contracts,
    the services and the jobs, and reads their literals."""
    names = {module.name for module in project_modules()}
    assert {"contracts.topics", "gateway.main", "workflows.worker", "bench.soak"} <= names
    topics_module: Module = next(m for m in project_modules() if m.name == "contracts.topics")
    assert any(TOPIC_NAMES[-1] in text for _, text in string_literals(topics_module))


def test_a_spelling_outside_the_contracts_is_caught():
    pattern = spelling(UNIFIED_TABLE)
    assert pattern.search(f"SELECT count(*) FROM {NAMESPACE}.{UNIFIED_TABLE} WHERE x")
    assert pattern.search(UNIFIED_TABLE)
    assert not pattern.search(f"sum({UNIFIED_TABLE}) AS n")
    assert not pattern.search(f"{UNIFIED_TABLE}-validation")
    assert spelling(TOPIC_NAMES[0]).search(f"topic '{TOPIC_NAMES[0]}' is missing")
    assert not spelling(Reason.INVALID_AMOUNT.value).search(Reason.INVALID_AMOUNT_NEGATIVE.value)
