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


# Where an engine's client library may be imported: the engines, the emulator (the local Databricks SQL
# endpoint it serves, and the conformance replay against a real one) and the one module that adapts dbt's
# internals (dbt-databricks' compile classes, for the offline compile).
ENGINE_CLIENT_IMPORTERS = ("quality/engines/", "quality/emulator/", "quality/dbt/adapter.py")
# deploy/ is the Databricks Jobs deployer: it talks to the Jobs and Secrets APIs of a workspace with
# databricks-sdk, which is no engine (no SQL warehouse, no data). It may import databricks.sdk, nothing else.
DEPLOYER = ("quality/deploy/", "databricks.sdk")


def engine_client(module: str, names: list[str]) -> bool:
    """An import of an engine's client library: duckdb (and its SQLAlchemy dialect), the databricks
    packages (the SQL connector, the SDK), dbt's DuckDB or Databricks adapter, or a GX Databricks data source.
    `module` is what is imported from (`import a.b`: a.b), `names` what `from module import` names."""
    top = module.split(".")[0]
    adapters = {f"dbt.adapters.{name}" for name in names} if module == "dbt.adapters" else {module}
    return (
        top in {"duckdb", "duckdb_engine", "databricks"}
        or any(adapter.startswith(("dbt.adapters.duckdb", "dbt.adapters.databricks")) for adapter in adapters)
        or (top == "great_expectations" and "databricks" in " ".join([module, *names]).lower())
    )


def engine_client_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, module) of each import of an engine's client library in a module, wherever it is written."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names if engine_client(alias.name, []))
        elif (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and node.module
            and engine_client(node.module, [alias.name for alias in node.names])
        ):
            yield node.lineno, node.module


def test_engine_clients_are_told_apart() -> None:
    source = (
        "import duckdb\n"
        "import dbt.adapters.duckdb.connections\n"
        "from dbt.adapters import databricks\n"
        "from databricks import sql\n"
        "from duckdb_engine import ConnectionWrapper\n"
        "def f():\n"
        "    from great_expectations.datasource.fluent import DatabricksSQLDatasource\n"
        "    from great_expectations.datasource.fluent.databricks_sql_datasource import X\n"
        "import sqlglot.dialects.databricks\n"
        "from great_expectations.datasource.fluent.sql_datasource import SQLDatasource\n"
        "from hooks.databricks_token import DATABRICKS_TOKEN\n"
        "from dbt.adapters import base\n"
    )
    assert [line for line, _ in engine_client_imports(source)] == [1, 2, 3, 4, 5, 7, 8]


def test_only_engines_emulator_and_the_dbt_adapter_import_an_engines_client() -> None:
    folder, allowed_module = DEPLOYER
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: {module}"
        for path in modules().values()
        if not path.relative_to(ROOT).as_posix().startswith(ENGINE_CLIENT_IMPORTERS)
        for line, module in engine_client_imports(path.read_text(encoding="utf-8"))
        if not (path.relative_to(ROOT).as_posix().startswith(folder) and module.startswith(allowed_module))
    ]
    assert found == []


def test_a_circle_is_found_however_long() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
