"""Great Expectations on DuckDB: the connection GX gets, and why (the one DuckDB shim of the harness).

1. The upstream bug. GX 1.24's SQL execution engine runs each metric query inside
   `with engine.connect()` and fetches the rows after the block has ended (upstream: "resolve_metric_
   bundle raises IndexError with duckdb-engine"). Ending the block rolls back the transaction
   SQLAlchemy began implicitly, and a DuckDB ROLLBACK discards the pending result: every metric comes
   back empty and each expectation carries a MetricResolutionError ("list index out of range") in
   `exception_info`. Measured here: `pool_reset_on_return=None` does not help (the rollback is the
   Connection's, not the pool's); a connection without BEGIN and with a no-op ROLLBACK does. GX only
   reads, so nothing needs a transaction: `_AutocommitConnection` is that connection, handed to GX
   through its public `kwargs` (SQLAlchemy's `creator`). It also keeps one failing metric query (a
   missing table in an `unexpected_rows` query) from aborting a transaction shared with the others.
   The alternative in DESIGN.md, adding duckdb to GX's private `_PERSISTED_CONNECTION_DIALECTS`, fixes
   the empty results too but patches a private name, and alone still lets one failing query abort
   every later one on the persisted connection ("Current transaction is aborted"); not used.

2. The shared database. DuckDB shares one database instance per file within a process only between
   connections opened with the same configuration; duckdb-engine always adds a `custom_user_agent`,
   so its own connection is refused ("Can't open a connection to same database file with a different
   configuration") while anything else in the process holds the file: measured, dbt-duckdb 1.11
   keeps its instance open after an in-process `dbtRunner` build, and the harness's DuckDBEngine
   holds its connection. `duckdb_creator` hands GX a cursor of the harness's connection when there is
   one, else opens the file with the default configuration (what dbt-duckdb and the harness use).
   Across processes DuckDB allows one writer: a held lock becomes EngineBusyError.

Both rely on GX internals tested for GX >=1.24,<1.25 only: `check_gx_version` refuses anything else,
and `tests/integration/test_gx_duckdb_shim.py` fails loudly when an upgrade fixes or changes the bug.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from duckdb_engine import ConnectionWrapper
from packaging.version import Version

from quality.errors import EngineBusyError, HarnessError

TESTED_GX_RANGE = (Version("1.24"), Version("1.25"))  # [lower, upper)


def installed_gx_version() -> Version:
    return Version(importlib.metadata.version("great_expectations"))


def gx_version_supported(version: Version) -> bool:
    return TESTED_GX_RANGE[0] <= version < TESTED_GX_RANGE[1]


def check_gx_version() -> None:
    """Refuse a GX version the DuckDB connection below was not tested with."""
    version = installed_gx_version()
    if not gx_version_supported(version):
        raise HarnessError(
            f"great_expectations {version} is installed, but the DuckDB connection in "
            f"quality/engines/gx_duckdb.py was tested with >={TESTED_GX_RANGE[0]},<{TESTED_GX_RANGE[1]} "
            "only. Run tests/integration/test_gx_duckdb_shim.py against it, adjust the module and "
            "TESTED_GX_RANGE, or pin great-expectations back to the tested range."
        )


class _AutocommitConnection(ConnectionWrapper):
    """A duckdb-engine DB-API connection on which every statement commits on its own (see point 1)."""

    def begin(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def duckdb_path(url: str) -> Path:
    prefix = "duckdb:///"
    if not url.startswith(prefix) or url[len(prefix) :] in ("", ":memory:"):
        raise HarnessError(
            f"GX needs a DuckDB file URL like duckdb:///<absolute path>, got {url!r}; an in-memory "
            "database is private to its connection and cannot be validated from GX."
        )
    return Path(url[len(prefix) :].split("?", 1)[0])


def duckdb_creator(path: Path, shared: duckdb.DuckDBPyConnection | None = None) -> Callable[[], Any]:
    """A SQLAlchemy `creator` giving GX autocommit connections to the instance this process has open.

    With `shared` (the harness engine's connection) each is a cursor of it: same instance, whatever
    its configuration. Without it, the file is opened with DuckDB's default configuration, read-only
    when the process already holds it read-only.
    """

    def connect() -> Any:
        if shared is not None:
            return _AutocommitConnection(shared.cursor())
        return _AutocommitConnection(_open_default(path))

    return connect


def add_duckdb_datasource(context: Any, url: str, creator: Callable[[], Any] | None, *, name: str) -> Any:
    """Register the DuckDB file at `url` in the GX `context` as SQL data source `name`; GX's connections
    come from `creator` (the harness engine's), else from `duckdb_creator` on the file."""
    from great_expectations.datasource.fluent.sql_datasource import SQLDatasource

    check_gx_version()
    path = duckdb_path(url)
    if not path.is_file():
        raise HarnessError(f"DuckDB file {path} does not exist; build the models before validating them.")
    try:
        datasource = SQLDatasource(
            name=name,
            connection_string=url,
            create_temp_table=False,
            kwargs={"creator": creator or duckdb_creator(path)},
        )
        return context.data_sources.add_sql(datasource)
    except Exception as error:
        raise _root_quality_error(error) or HarnessError(
            f"GX could not open DuckDB file {path}: {_first_line(error)}"
        ) from error


def _root_quality_error(error: BaseException) -> EngineBusyError | None:
    """An EngineBusyError raised by our connection creator, however deep GX wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, EngineBusyError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _open_default(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        try:
            return duckdb.connect(str(path))
        except duckdb.ConnectionException:  # held read-only in this process
            return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        raise EngineBusyError(
            f"DuckDB file {path} is locked by another process ({error}). DuckDB allows one writer "
            "process per file: wait for that process (a dbt run, another pytest worker) to finish, "
            "or give this run its own file via QUALITY_DUCKDB_PATH."
        ) from None
    except duckdb.ConnectionException as error:
        raise EngineBusyError(
            f"DuckDB file {path} is open in this process with a non-default configuration ({error}). "
            "GX opens it with the default one: close the other connection first (for dbt-duckdb: no "
            "`settings`, no `keep_open`), or pass the harness's DuckDB engine instead of a URL."
        ) from None
