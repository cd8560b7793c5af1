"""The embedded engine: one DuckDB database file, one writer process at a time."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from quality.engines.raw_csv import check_csv
from quality.errors import EngineBusyError, FixtureError, QualityError

# A database (file stem) named like a schema makes `<name>.<table>` ambiguous in DuckDB.
SCHEMA_LIKE_NAMES = frozenset({"raw", "staging", "intermediate", "marts", "snapshots", "seeds", "main"})
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<process>.+?) \(PID (?P<pid>\d+)\)")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class DuckDBEngine:
    """An `Engine` over one DuckDB file. Relations are addressed as `schema.name` inside the file's catalog."""

    name = "duckdb"

    def __init__(self, path: Path, *, read_only: bool = False, config: Mapping[str, Any] | None = None) -> None:
        """`config`: the profile's `config_options`, which dbt-duckdb opens the file with; DuckDB refuses a
        second connection to a file in one process with another configuration, so the harness uses the same."""
        self.path = path.resolve()
        self.read_only = read_only
        self.database = self.path.stem
        if self.database in SCHEMA_LIKE_NAMES:
            raise QualityError(
                f"the DuckDB file {self.path} is named like a schema ('{self.database}'), which makes "
                f"'{self.database}.<table>' ambiguous in DuckDB; name the file differently (e.g. warehouse.duckdb)."
            )
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise QualityError(
                f"the DuckDB file {self.path} does not exist, so there is nothing to read; "
                "run `quality gate` first to build and publish the local prod."
            )
        self.connection = _connect(self.path, read_only, dict(config or {}))

    def __repr__(self) -> str:
        return f"DuckDBEngine({self.path}, read_only={self.read_only})"

    def relation_ref(self, schema: str, name: str) -> str:
        return f"{quote(schema)}.{quote(name)}"

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params).fetchall()

    def fetch_arrow(self, sql: str) -> pa.Table:
        table: pa.Table = self.connection.sql(sql).to_arrow_table()
        return table

    def list_schemas(self) -> list[str]:
        rows = self.query(
            "select schema_name from information_schema.schemata where catalog_name = ? order by 1",
            [self.database],
        )
        return [row[0] for row in rows]

    def create_schema(self, schema: str) -> None:
        self.execute(f"create schema if not exists {quote(schema)}")

    def drop_schema(self, schema: str) -> None:
        self.execute(f"drop schema if exists {quote(schema)} cascade")

    def list_relations(self, schema: str) -> list[tuple[str, str]]:
        rows = self.query(
            "select table_name, case when table_type = 'VIEW' then 'view' else 'table' end "
            "from information_schema.tables where table_catalog = ? and table_schema = ? order by 1",
            [self.database, schema],
        )
        return [(row[0], row[1]) for row in rows]

    def relation_exists(self, schema: str, name: str) -> bool:
        return any(relation == name for relation, _ in self.list_relations(schema))

    def load_frame(self, schema: str, table: str, frame: pd.DataFrame, *, replace: bool = True) -> int:
        self.create_schema(schema)
        target = f"{quote(schema)}.{quote(table)}"
        if replace or not self.relation_exists(schema, table):
            statement = f"create or replace table {target} as select * from __quality_frame"
        else:
            statement = f"insert into {target} by name select * from __quality_frame"
        self.connection.register("__quality_frame", frame)
        try:
            self.execute(statement)
        finally:
            self.connection.unregister("__quality_frame")
        return len(frame)

    def load_csv(self, schema: str, table: str, path: Path) -> int:
        fixture = check_csv(path)
        self.create_schema(schema)
        try:
            self.execute(
                f"create or replace table {quote(schema)}.{quote(table)} as "
                "select * from read_csv(?, header = true, auto_detect = true, strict_mode = true)",
                [str(path)],
            )
        except duckdb.Error as error:
            first_line = str(error).strip().splitlines()[0]
            raise FixtureError(f"{path}: DuckDB could not load the file ({first_line}); fix the file.") from None
        return fixture.rows

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")

    def table_sql(self, schema: str, name: str) -> str:
        """The CREATE statement DuckDB keeps for a table or view (constraints included)."""
        rows = self.query(
            "select sql from duckdb_tables() where database_name = ? and schema_name = ? and table_name = ? "
            "union all select sql from duckdb_views() where database_name = ? and schema_name = ? "
            "and view_name = ?",
            [self.database, schema, name] * 2,
        )
        if not rows:
            raise QualityError(f"relation {schema}.{name} does not exist in {self.path}.")
        return str(rows[0][0])

    def sqlalchemy_creator(self, timeout_s: float) -> Callable[[], Any]:
        """GX's connections: cursors of this engine's own connection (one instance, one writer)."""
        from quality.engines.gx_duckdb import duckdb_creator

        return duckdb_creator(self.path, self.connection)

    def sqlalchemy_url(self) -> str:
        return f"duckdb:///{self.path}"

    def close(self) -> None:
        self.connection.close()


def _connect(path: Path, read_only: bool, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as error:
        holder = _LOCK_HOLDER.search(str(error))
        if holder is None:
            raise QualityError(f"cannot open the DuckDB file {path}: {error}") from None
        raise EngineBusyError(
            f"the DuckDB file {path} is in use by another process ({holder['process']}, PID {holder['pid']}); "
            "DuckDB allows one writer at a time. Wait for that run to finish or stop it, or point "
            "QUALITY_DUCKDB_PATH at another file."
        ) from None
