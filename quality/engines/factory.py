"""Open the engine a target names."""

from __future__ import annotations

import os

from quality.engines.base import Engine
from quality.engines.connectivity import DEFAULT_TIMEOUT_S
from quality.errors import TargetError
from quality.targets import Target


def open_engine(target: Target, *, read_only: bool = False) -> Engine:
    """A connection to the target's warehouse: DuckDB file, or Databricks SQL after a bounded preflight."""
    if target.engine == "duckdb" and target.duckdb_path is not None:
        from quality.engines.duckdb import DuckDBEngine

        return DuckDBEngine(target.duckdb_path, read_only=read_only)
    if target.engine == "databricks" and target.databricks is not None:
        from quality.engines.connectivity import preflight_databricks
        from quality.engines.databricks import DatabricksEngine

        settings = target.databricks
        preflight_databricks(
            settings.host,
            settings.http_path,
            token=settings.token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            timeout_s=float(os.environ.get("QUALITY_CONNECT_TIMEOUT", DEFAULT_TIMEOUT_S)),
        )
        return DatabricksEngine(
            host=settings.host,
            http_path=settings.http_path,
            catalog=settings.catalog,
            token=settings.token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            connection_parameters=settings.connection_parameters,
        )
    raise TargetError(f"{target.describe()} has no connection settings the harness understands.")
