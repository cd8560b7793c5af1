"""The one place outside `engines/` that adapts dbt's and dbt-databricks' internals (patches, subclasses).

Used by the offline Databricks compile (`quality.dbt.offline_compile`, `quality compile`), for the one dbt
command it runs through `quality.dbt.runner`:

- `offline_databricks(known)`: dbt-databricks with no connection. `dbt compile` on a Databricks target
  connects to ask what the compute can do (its DBR capabilities) and which relations exist (the adapter
  cache, `is_incremental()`); a unit test also asks its inputs' columns. Inside the block dbt-databricks
  answers the first as a current SQL warehouse does (every warehouse capability on, not a cluster), the
  second and third from `KnownState` (relations "absent" when it has none). Anything else that would reach
  the workspace (a query, a session, the SDK's authentication, the `/.well-known/databricks-config` probe)
  raises `OfflineQueryError` naming the node.
- `every_node_rendered()`: dbt's compile task also renders unit tests, writes snapshots' SQL and reports
  every failing node instead of the first.

The patches sit on dbt's and dbt-databricks' classes for the duration of the block only; dbt and
dbt-databricks are imported when a block is entered, never when this module is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from quality.errors import QualityError

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
