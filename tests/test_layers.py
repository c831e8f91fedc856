"""The measures docs/architecture.md states, checked: no module of saas/ over 400 lines,
no import circle between modules, and no feature package importing another's views."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

SAAS = ROOT / "saas"
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for path in SAAS.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Who imports whom at module level. An import inside a function is a deliberate late
    binding (the app factory registering blueprints) and does not make a circle."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            graph[name] |= {t for t in targets if t in known and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def feature(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 2 else ""


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in SAAS.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_there_is_no_import_circle():
    graph = import_graph()
    assert "saas.portal.visibility" in graph["saas.api.services"]  # the graph sees imports
    assert circles(graph) == []
    assert circles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]  # and would see one


def test_no_feature_imports_another_features_views():
    crossing = [
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if target.endswith(".views") and feature(target) != feature(module) and feature(module)
    ]
    assert crossing == []
