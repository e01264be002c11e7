"""The project's own Python modules, read with `ast`: their string literals and imports.

Shared by the tests that hold the tree to the one-house rules (names spelled once, no
import circles). Tests, virtualenvs and the run folder are not part of the tree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from contracts.paths import REPO_ROOT

EXCLUDED_TOP_LEVEL = {"tests", ".venv", ".venv-flink", ".run", ".git", "build"}


@dataclass(frozen=True)
class Module:
    name: str  # dotted: flink_jobs.registry
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules() -> tuple[Module, ...]:
    modules = []
    for path in sorted(REPO_ROOT.rglob("*.py")):
        relative = path.relative_to(REPO_ROOT)
        if relative.parts[0] in EXCLUDED_TOP_LEVEL or relative.parts[0].startswith("."):
            continue
        if any(part in {"__pycache__", "target", "dbt_packages"} for part in relative.parts):
            continue
        modules.append(Module(module_name(path), path, ast.parse(path.read_text(), str(path))))
    return tuple(modules)


def _docstring_nodes(tree: ast.Module) -> set[int]:
    """The ids of the docstring constants: prose about a name is not a spelling of it."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                found.add(id(body[0].value))
    return found


def string_literals(module: Module) -> Iterator[tuple[int, str]]:
    """(line, text) of each string constant in code, f-string pieces included."""
    docstrings = _docstring_nodes(module.tree)
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def resolve_relative(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imported_modules(module: Module, known: set[str]) -> set[str]:
    """The project modules `module` imports, anywhere in its body (a lazy import in a
    function is still an arrow). `from pkg import mod` counts as an import of pkg.mod."""
    targets: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = resolve_relative(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in known else source)
    return {t for t in targets if t in known and t != module.name}
