"""The import graph of the tree: no circles, job code never reaches into the local stack,
and the contracts depend on nothing of the project (issue #13)."""

from __future__ import annotations

import ast
import sys

from tests.contracts.source_tree import imported_modules, project_modules

# The code that runs inside Flink (rendered into, or submitted as, a job) and the contract:
# none of it may know how the local platform is started.
JOB_CODE = ("contracts", "flink_jobs", "validation", "normalization")
LOCAL_STACK = "deploy.local"


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = {m.name for m in modules}
    return {m.name: imported_modules(m, known) for m in modules}


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph)))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_job_code_never_imports_the_local_stack():
    arrows = sorted(
        (source, target)
        for source, targets in import_graph().items()
        if any(in_package(source, package) for package in JOB_CODE)
        for target in targets
        if in_package(target, LOCAL_STACK)
    )
    assert arrows == []


def test_the_contracts_import_only_each_other_and_the_standard_library():
    allowed_third_party = {"iso4217"}
    outside = set()
    for module in project_modules():
        if not in_package(module.name, "contracts"):
            continue
        for node in ast.walk(module.tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in {"contracts"}:
                    outside.add((module.name, name))
    assert {(m, n) for m, n in outside if n.split(".")[0] not in allowed_third_party} == set()


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
