"""No import circle inside `quality/` and `hooks/`: the layers of the package only ever import downwards.

Every `import` and `from ... import` counts, wherever it is written: at the top, under `if TYPE_CHECKING:` or
inside a function (a deferred import is still a dependency, and one that hides a circle is still a circle).
`from package import name` points at the module `package.name` when there is one, else at the package
itself; a package's `__init__` importing its own modules is an edge like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("quality", "hooks")


def modules() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name, for its `__init__.py`)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _origin(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The absolute name of the module a `from ... import` reads (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The dotted names a module imports: `import a.b` gives a.b; `from a import b` gives a.b when it is a
    module, else a (b is then a name a's `__init__` defines)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = _origin(node, name, is_package)
            for alias in node.names:
                yield f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of the packages it imports (a name that is no module: its nearest package)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for dotted in _imported(tree, name, path.name == "__init__.py", set(known)):
            parts = dotted.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts:
                targets.add(".".join(parts))
        graph[name] = targets - {name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_kind_of_import_is_an_edge() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import quality.dbt.runner\n"
        "from quality import errors\n"
        "from quality.emulator import translator as t, NOT_A_MODULE\n"
        "from . import gaps\n"
        "from .spark import SparkSqlError\n"
        "if TYPE_CHECKING:\n"
        "    from quality.emulator.statements import StatementTranslator\n"
        "def f():\n"
        "    from hooks.manifest_key import ParseSettings\n"
    )
    found = set(_imported(ast.parse(source), "quality.emulator.writes", False, set(modules())))
    assert found >= {
        "quality.dbt.runner",
        "quality.errors",  # a module of the package, not the package
        "quality.emulator.translator",
        "quality.emulator",  # NOT_A_MODULE comes from the package's __init__
        "quality.emulator.gaps",  # relative
        "quality.emulator.spark",
        "quality.emulator.statements",  # under TYPE_CHECKING
        "hooks.manifest_key",  # inside a function
    }
    assert "quality" not in found


def test_the_graph_holds_deferred_and_type_only_imports() -> None:
    graph = import_graph()
    assert "quality.dbt.runner" in graph["quality.dbt.offline_compile"], "a top-level import"
    assert "quality.dbt.runner" in graph["hooks.manifest"], "an import inside a function"
    assert "quality.emulator.conformance.replay" in graph["hooks.spark_catalog"], "an import under TYPE_CHECKING"


def test_no_import_circle_in_quality_and_hooks() -> None:
    circles = strongly_connected(import_graph())
    assert circles == [], "modules importing each other, directly or through others: " + "; ".join(
        " <-> ".join(circle) for circle in circles
    )


def test_dbt_runs_through_one_module() -> None:
    """dbtRunner is imported by `quality.dbt.runner` alone (`invoke_dbt`): the doctor and the hooks call that."""
    known = set(modules())
    importers = {
        name
        for name, path in modules().items()
        if "dbt.cli.main"
        in _imported(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py", known)
    }
    assert importers == {"quality.dbt.runner"}


def test_a_circle_is_found_however_long() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
