"""Offline Databricks compile: every node rendered as dbt-databricks would send it, with no connection.

`dbt compile` on a Databricks target connects to ask what the compute can do (its DBR capabilities) and
which relations exist (the adapter cache, `is_incremental()`); a unit test also asks its inputs' columns.
Inside `offline_databricks()` dbt-databricks answers the first as a current SQL warehouse does (every
warehouse capability on, not a cluster), the second from a prod manifest (`--state`) or as "absent", and
the third from known column types: fully typed YAML columns (contracts), else a prod `catalog.json` in
`--state`. Anything else that would reach the workspace (a query, a session, the SDK's authentication,
the `/.well-known/databricks-config` probe) raises `OfflineQueryError` naming the node. The patches sit
on dbt's and dbt-databricks' classes for the duration of the block only.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.engines.kinds import engine_kind
from quality.errors import QualityError, TargetError
from quality.project import DbtProject
from quality.runner import DbtInvoker, DbtRun
from quality.targets import resolve_target

# What the profiles read from the environment; the offline compile never connects, so stand-ins do.
PLACEHOLDER_ENV: Mapping[str, str] = {
    "DATABRICKS_HOST": "dbc-offline-compile.cloud.databricks.com",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/offline-compile",
    "DATABRICKS_TOKEN": "offline-compile",
    "DATABRICKS_CLIENT_ID": "offline-compile",
    "DATABRICKS_CLIENT_SECRET": "offline-compile",  # pragma: allowlist secret
}
DEFAULT_CATALOG = "main"
RELATION_TYPES = frozenset({"model", "seed", "snapshot"})
# dbt materialization -> how information_schema lists it: (table_type, file_format, databricks_table_type)
_LISTED_AS = {
    "view": ("view", None, None),
    "materialized_view": ("materialized_view", None, None),
    "streaming_table": ("streaming_table", None, None),
}

RelationKey = tuple[str, str, str]  # (catalog, schema, name), lowercase
Columns = tuple[tuple[str, str], ...]  # (name, data type) in table order


class OfflineQueryError(QualityError):
    """A node ran SQL, or reached the workspace, during the offline compile."""


class UnknownColumnsError(OfflineQueryError):
    """A unit test's input has no known column types offline."""


@dataclass(frozen=True)
class ExistingRelation:
    """A relation the prod manifest says exists, as Databricks' information_schema lists it."""

    name: str
    table_type: str
    file_format: str | None
    databricks_table_type: str | None


@dataclass(frozen=True)
class KnownState:
    """What the offline adapter answers: existing relations per (catalog, schema), columns per relation."""

    relations: Mapping[tuple[str, str], Sequence[ExistingRelation]]
    columns: Mapping[RelationKey, Columns]

    @property
    def relation_count(self) -> int:
        return sum(len(relations) for relations in self.relations.values())


def relations_from_manifest(manifest: Mapping[str, Any]) -> dict[tuple[str, str], list[ExistingRelation]]:
    """Every relation a (prod) manifest materializes: models, seeds and snapshots, and its sources as tables."""
    found: dict[tuple[str, str], list[ExistingRelation]] = {}
    for node in _relations(manifest):
        catalog, schema, name = _key(node)
        found.setdefault((catalog, schema), []).append(ExistingRelation(name, *_listed_as(node)))
    return found


def _listed_as(node: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    if node["resource_type"] == "source":
        return ("table", None, None)
    config = node.get("config") or {}
    listed = _LISTED_AS.get(str(config.get("materialized")))
    return listed or ("table", str(config.get("file_format") or "delta"), "managed")


def declared_columns(manifest: Mapping[str, Any]) -> dict[RelationKey, Columns]:
    """Columns of the relations whose YAML types every column (a contract's columns, say)."""
    found: dict[RelationKey, Columns] = {}
    for node in _relations(manifest):
        columns = list((node.get("columns") or {}).values())
        if columns and all(column.get("data_type") for column in columns):
            found[_key(node)] = tuple((str(c["name"]), str(c["data_type"])) for c in columns)
    return found


def catalog_columns(catalog: Mapping[str, Any]) -> dict[RelationKey, Columns]:
    """Columns of every relation in a `dbt docs generate` catalog.json, in table order."""
    found: dict[RelationKey, Columns] = {}
    for entry in [*catalog.get("nodes", {}).values(), *catalog.get("sources", {}).values()]:
        meta = entry.get("metadata") or {}
        key = (str(meta.get("database") or "").lower(), str(meta.get("schema")).lower(), str(meta.get("name")).lower())
        ordered = sorted((entry.get("columns") or {}).values(), key=lambda column: int(column.get("index") or 0))
        found[key] = tuple((str(column["name"]), str(column["type"])) for column in ordered)
    return found


def _relations(manifest: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for node in manifest.get("nodes", {}).values():
        if (
            node.get("resource_type") in RELATION_TYPES
            and (node.get("config") or {}).get("materialized") != "ephemeral"
        ):
            yield node
    yield from manifest.get("sources", {}).values()


def _key(node: Mapping[str, Any]) -> RelationKey:
    name = node.get("identifier") if node.get("resource_type") == "source" else node.get("alias")
    return (str(node.get("database") or "").lower(), str(node.get("schema")).lower(), str(name or node["name"]).lower())


def manifest_catalog(manifest: Mapping[str, Any]) -> str | None:
    """The one catalog a manifest's models live in, if there is exactly one."""
    nodes = manifest.get("nodes", {}).values()
    catalogs = {node.get("database") for node in nodes if node.get("resource_type") == "model"} - {None}
    return str(catalogs.pop()) if len(catalogs) == 1 else None


@contextmanager
def placeholder_environment(catalog: str = DEFAULT_CATALOG) -> Iterator[dict[str, str]]:
    """Set the Databricks variables the profiles need and the environment lacks; yields the ones it set."""
    added = {key: value for key, value in {**PLACEHOLDER_ENV, "DBT_CATALOG": catalog}.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield added
    finally:
        for key in added:
            os.environ.pop(key, None)


@contextmanager
def offline_databricks(known: KnownState | None = None) -> Iterator[None]:
    """dbt-databricks with no connection: warehouse capabilities, relations and columns from `known`, no SQL."""
    from dbt.adapters.databricks import credentials, impl
    from dbt.adapters.databricks.column import DatabricksColumn
    from dbt.adapters.databricks.connections import DatabricksConnectionManager
    from dbt.adapters.databricks.dbr_capabilities import DBRCapabilities
    from dbt.adapters.databricks.spog import probe

    state = known or KnownState({}, {})
    warehouse = DBRCapabilities(is_sql_warehouse=True)

    def list_relations(self: Any, relation: Any) -> list[Any]:
        found = state.relations.get((str(relation.database or "").lower(), str(relation.schema or "").lower()), ())
        return [impl.DatabricksRelationInfo(r.name, r.table_type, r.file_format, None, r.databricks_table_type)
                for r in found]  # fmt: skip

    def columns_in(self: Any, relation: Any) -> list[Any]:
        key = (str(relation.database or "").lower(), str(relation.schema).lower(), str(relation.identifier).lower())
        if key not in state.columns:
            raise UnknownColumnsError(_refusal(None, f"DESCRIBE TABLE {relation}"))
        return [DatabricksColumn(column=name, dtype=dtype) for name, dtype in state.columns[key]]

    def refuse_query(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        raise OfflineQueryError(_refusal(self, _statement(sql)))

    def refuse_open(cls: Any, connection: Any) -> Any:
        raise OfflineQueryError(_refusal(None, "open a session", node=getattr(connection, "name", None)))

    def refuse_auth(self: Any) -> Any:
        raise OfflineQueryError(_refusal(None, "authenticate to the workspace"))

    with ExitStack() as stack:
        for owner, name, value in [
            (DatabricksConnectionManager, "_cache_dbr_capabilities", classmethod(lambda cls, creds, path: None)),
            (DatabricksConnectionManager, "_get_capabilities_for_http_path", classmethod(lambda cls, path: warehouse)),
            (DatabricksConnectionManager, "compare_dbr_version", lambda self, major, minor: 1),  # as a warehouse
            (DatabricksConnectionManager, "is_cluster", lambda self: False),
            (DatabricksConnectionManager, "add_query", refuse_query),
            (DatabricksConnectionManager, "_execute_with_cursor", refuse_query),  # list_schemas, list_tables
            (DatabricksConnectionManager, "open", classmethod(refuse_open)),
            (impl.DatabricksAdapter, "get_relations_without_caching", list_relations),
            (impl.DatabricksAdapter, "get_columns_in_relation", columns_in),
            (credentials.DatabricksCredentialManager, "_ensure_config", refuse_auth),
            (probe, "probe_host", lambda host: probe.HostMetadata(host_type=None)),
        ]:
            stack.enter_context(_replaced(owner, name, value))
        yield


@contextmanager
def every_node_rendered() -> Iterator[None]:
    """`dbt compile` that also renders unit tests (the SQL `dbt test` builds) and writes snapshots' SQL.

    Plain `dbt compile` leaves unit tests out, keeps a snapshot's SQL in the manifest only and stops at
    the first error; here every failing node is reported, and a unit test whose inputs have no known
    column types is skipped with the reason.
    """
    from dbt.artifacts.schemas.results import RunStatus
    from dbt.artifacts.schemas.run import RunResult
    from dbt.node_types import NodeType
    from dbt.parser.unit_tests import UnitTestManifestLoader
    from dbt.task.compile import CompileRunner, CompileTask

    class RenderingRunner(CompileRunner):
        unrendered: str | None = None

        def compile(self, manifest: Any) -> Any:
            if self.node.resource_type != NodeType.Unit:
                return _write_snapshot(super().compile(manifest), self.config)
            tests = UnitTestManifestLoader(manifest, self.config, {self.node.unique_id}).load()
            unit_test: Any = tests.nodes[self.node.unique_id]  # the UnitTestNode `dbt test` builds
            try:
                return self.compiler.compile_node(unit_test, tests, {})
            except Exception as error:  # dbt's jinja wraps it in a CompilationError
                unknown = _cause(error, UnknownColumnsError)
                if unknown is None:
                    raise
                self.unrendered = str(unknown)
                return self.node

        def execute(self, compiled_node: Any, manifest: Any) -> Any:
            if self.unrendered is None:
                return super().execute(compiled_node, manifest)
            return RunResult.from_node(compiled_node, RunStatus.Skipped, self.unrendered)

    select_compiled = CompileTask.get_node_selector

    def get_node_selector(self: Any) -> Any:
        selector = select_compiled(self)
        if not getattr(self.args, "inline", None):
            selector.resource_types.add(NodeType.Unit)
        return selector

    with ExitStack() as stack:
        stack.enter_context(_replaced(CompileTask, "get_node_selector", get_node_selector))
        stack.enter_context(_replaced(CompileTask, "get_runner_type", lambda self, node: RenderingRunner))
        stack.enter_context(_replaced(CompileTask, "raise_on_first_error", lambda self: False))  # report them all
        stack.enter_context(_replaced(CompileTask, "task_end_messages", lambda self, results: None))  # SQL is in files
        yield


def _cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    while error is not None and not isinstance(error, kind):
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return error


def _write_snapshot(node: Any, config: Any) -> Any:
    if str(node.resource_type) == "snapshot" and node.compiled_code:
        node.compiled_path = node.get_target_write_path(config.target_path, "compiled")
        node.write_node(config.project_root, node.compiled_path, node.compiled_code)
    return node


@contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """setattr for the block; restores the owner's own attribute (or the inherited one) afterwards."""
    missing = object()
    saved = vars(owner).get(name, missing)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if saved is missing:
            delattr(owner, name)
        else:
            setattr(owner, name, saved)


def _statement(sql: str) -> str:
    """The statement without dbt's leading `/* {...} */` query comment, on one line."""
    text = sql.strip()
    if text.startswith("/*") and "*/" in text:
        text = text.split("*/", 1)[1]
    return " ".join(text.split())


def _refusal(manager: Any, action: str, node: str | None = None) -> str:
    from dbt_common.events.contextvars import get_node_info

    connection = manager.get_if_exists() if manager is not None else None
    node = node or get_node_info().get("unique_id") or getattr(connection, "name", None) or "dbt"
    shown = action if len(action) <= 160 else f"{action[:157]}..."
    return (
        f"{node} needs the warehouse at compile time ({shown}), and the offline Databricks compile has no "
        "connection: compile it against a real target (`dbt compile --target dev`), or leave it out with --exclude."
    )


@dataclass(frozen=True)
class CompileSummary:
    run: DbtRun
    files: tuple[Path, ...]
    catalog: str
    existing_relations: int
    placeholders: tuple[str, ...]  # environment variables the compile stood in for
    seconds: float  # parse and compile

    @property
    def rendered(self) -> Counter[str]:
        written = set(self.files)
        return Counter(node.resource_type for node in self.run.nodes if node.compiled_path in written)

    @property
    def unrendered(self) -> list[str]:
        return [node.name for node in self.run.nodes if node.status == "skipped"]

    def describe(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.rendered.items()))
        unset = " (DBT_CATALOG unset)" if "DBT_CATALOG" in self.placeholders else ""
        relations = f"{self.existing_relations} prod relations" if self.existing_relations else "no relations"
        line = (
            f"rendered {len(self.files)} files ({kinds}) offline in {self.seconds:.1f} s, catalog "
            f"{self.catalog}{unset}, {relations} -> {self.run.target_path / 'compiled'}"
        )
        if self.unrendered:
            line += (
                f"; {len(self.unrendered)} unit tests not rendered: their inputs' column types are unknown "
                "offline (type those columns in YAML, or pass --state with a prod catalog.json)"
            )
        return line


def compile_offline(
    project: DbtProject,
    target_name: str | None,
    target_path: Path,
    *,
    state: Path | None = None,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> CompileSummary:
    """`dbt compile` for a Databricks target with no connection; SQL in `<target_path>/compiled`, manifest beside."""
    started = time.perf_counter()
    prod = _read_json(state / "manifest.json", "--state") if state else {}
    catalog = _read_json(state / "catalog.json", None) if state else {}
    with placeholder_environment(manifest_catalog(prod) or DEFAULT_CATALOG) as placeholders:
        target = resolve_target(project, target_name)
        if not engine_kind(target).compiles_offline:
            raise TargetError(
                f"{target.describe()} is not a Databricks target; the offline compile renders what "
                "dbt-databricks would send: pass one, e.g. --target prod."
            )
        invoker = DbtInvoker(project=project, target=target, target_path=target_path, quiet=True)
        shutil.rmtree(invoker.target_path / "compiled", ignore_errors=True)  # this run's files only
        args = ["compile", *_flag("--select", select), *_flag("--exclude", exclude)]
        args += ["--state", str(state.resolve())] if state else []
        with offline_databricks():
            columns = {**catalog_columns(catalog), **declared_columns(invoker.parse())}
        known = KnownState(relations_from_manifest(prod), columns)
        with offline_databricks(known), every_node_rendered():
            run = invoker.run(args, expect_pass=False)
    if run.failed:
        raise QualityError(_failure_message(run))
    files = tuple(node.compiled_path for node in run.nodes if node.compiled_path and node.compiled_path.is_file())
    seconds = time.perf_counter() - started
    catalog_name = target.databricks.catalog if target.databricks else DEFAULT_CATALOG
    return CompileSummary(run, files, catalog_name, known.relation_count, tuple(sorted(placeholders)), seconds)


def _read_json(path: Path, required_by: str | None) -> dict[str, Any]:
    if not path.is_file():
        if required_by is None:
            return {}
        raise QualityError(f"no {path.name} in {required_by} {path.parent}; pass the folder holding the prod manifest.")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _flag(flag: str, values: Sequence[str]) -> list[str]:
    return [flag, *values] if values else []


def _failure_message(run: DbtRun) -> str:
    lines = [f"the offline Databricks compile failed on {len(run.failed)} node(s):"]
    for node in run.failed:
        detail = " ".join((node.message or "no message").split())
        lines.append(f"  - {node.resource_type} {node.name}: {detail}")
    return "\n".join(lines)
