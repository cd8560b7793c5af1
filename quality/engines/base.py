"""The engine protocol: the only abstraction that knows a warehouse exists.

Every other module talks to a warehouse through an `Engine`; only `quality/engines/<name>.py`
knows whether that is DuckDB or Databricks SQL. What differs between engines before any connection
is open (profile, workspace placement, files, GX data source, emulated expectations) is the engine's
kind (`quality/engines/kind.py`), chosen by `quality.engines.kinds.engine_kind(target)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa


class Engine(Protocol):
    """A connection to one warehouse (one DuckDB file, or one Databricks catalog)."""

    name: str  # its engine kind's name (quality.engines.kinds): "duckdb" | "databricks"
    database: str  # DuckDB catalog name (file stem) or Databricks catalog

    def relation_ref(self, schema: str, name: str) -> str:
        """The relation's fully quoted name in this engine's SQL dialect."""

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...
    def fetch_arrow(self, sql: str) -> pa.Table:
        """A query's rows with their column names and types (Arrow), e.g. to compare engines."""

    def list_schemas(self) -> list[str]: ...
    def create_schema(self, schema: str) -> None: ...
    def drop_schema(self, schema: str) -> None:
        """DROP SCHEMA IF EXISTS ... CASCADE."""

    def list_relations(self, schema: str) -> list[tuple[str, str]]:
        """(name, kind) for each relation in the schema; kind is 'table' or 'view'."""

    def relation_exists(self, schema: str, name: str) -> bool: ...
    def load_frame(self, schema: str, table: str, frame: pd.DataFrame, *, replace: bool = True) -> int:
        """Write a DataFrame as a table (replace=False appends to an existing one); returns rows written."""

    def load_csv(self, schema: str, table: str, path: Path) -> int:
        """Load a CSV file (header row) as a table; a malformed file raises FixtureError naming file and line."""

    def transaction(self) -> AbstractContextManager[None]:
        """All statements inside commit together or not at all (DuckDB); best effort on Databricks."""

    def sqlalchemy_url(self) -> str:
        """URL for Great Expectations' SQL data source (no secret is ever logged from it)."""

    def sqlalchemy_creator(self, timeout_s: float) -> Callable[[], Any]:
        """A SQLAlchemy `creator` for GX: this engine's own connection settings, connect time bounded."""

    def close(self) -> None: ...
