"""Spark SQL through Sail: Sail's Arrow Flight SQL server in this process, one ADBC connection per thread.

Sail's catalog is shared by all its Flight SQL connections, so what one dbt thread creates the others
see, as on a SQL warehouse. Managed tables are Delta tables under `spark-warehouse/` of the working
directory (Sail takes no warehouse setting over Flight SQL): the endpoint's process runs in its state
folder. The session time zone is the process' (the endpoint runs with TZ=UTC, as SQL warehouses do).

Why Flight SQL and not Spark Connect: the Spark Connect client (`pyspark-client`) makes
`import great_expectations` exit the process (pyspark's `_find_spark_home` calls `sys.exit(-1)` when
GX imports `pyspark.sql.connect` without a Spark home), so it cannot share an environment with GX.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from quality.errors import QualityError

_ERROR_CLASS = re.compile(r"\[([A-Z][A-Z0-9_]+(?:\.[A-Z0-9_]+)?)\]")
_FLIGHT_PREFIX = re.compile(r"^(?:[A-Z_]+: )?\[FlightSQL\] (?:[a-z ]+ error: )*")
_FLIGHT_SUFFIX = re.compile(r"\s*\((?:[A-Za-z]+; )*[A-Za-z]+\)\s*$")
_SQL_STATE = {
    "TABLE_OR_VIEW_NOT_FOUND": "42P01",
    "SCHEMA_NOT_FOUND": "42704",
    "UNRESOLVED_COLUMN": "42703",
    "PARSE_SYNTAX_ERROR": "42601",
    "DELTA_NOT_NULL_CONSTRAINT_VIOLATED": "23502",
    "DELTA_VIOLATE_CONSTRAINT_WITH_VALUES": "23001",
}
# Run on every connection. DataFusion checks that an aggregate's physical input schema equals its logical one,
# nullability included; on Sail 0.7.2 that check rejects valid Spark SQL with "Internal error: Physical input
# schema should be the same as the one converted from logical input schema", e.g. an aggregate over a column
# computed as `a IS DISTINCT FROM b` in a CTE (quality.wap.diff's query). The check only guards planner bugs.
_CONNECTION_SETTINGS = ("SET datafusion.execution.skip_physical_aggregate_schema_check = true",)


# Sail errors that carry no bracketed class, with the class Databricks gives the same mistake.
_UNBRACKETED = (("error in SQL parser", "PARSE_SYNTAX_ERROR"), ("cannot resolve attribute", "UNRESOLVED_COLUMN"))


class SparkSqlError(Exception):
    """A statement Spark SQL refused: Databricks' error class and SQLSTATE where known."""

    def __init__(self, message: str, error_class: str | None = None, sql_state: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_class = error_class
        self.sql_state = sql_state


class EmulatorError(QualityError):
    """The local Databricks endpoint could not start or run."""


@dataclass
class SparkSql:
    """One Sail Flight SQL server and a connection to it per thread."""

    catalog: str
    _server: Any = None
    _uri: str = ""
    _local: threading.local = field(default_factory=threading.local)
    _connections: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        try:
            from pysail.flight import FlightSqlServer
        except ImportError as error:
            raise EmulatorError(
                f"the local Databricks endpoint needs Sail (the `pysail` package), which is not importable "
                f"({error}). Install the project with `uv sync --frozen`, which includes it."
            ) from error
        os.environ["SAIL_CATALOG__LIST"] = (
            f'[{{name="{self.catalog}", type="memory", initial_database=["default"], '
            f'initial_database_comment="default database"}}]'
        )
        os.environ.setdefault("RUST_LOG", "error")
        self._server = FlightSqlServer("127.0.0.1", 0)
        self._server.start(background=True)
        host, port = self._server.listening_address
        self._uri = f"grpc://{host}:{port}"

    def run(self, sql: str) -> pa.Table:
        """Run one statement; its rows as Arrow (a command's own result rows for DDL and DML)."""
        cursor = self._connection().cursor()
        try:
            cursor.execute(sql)
            table: pa.Table = cursor.fetch_arrow_table()
            return table
        except Exception as error:  # ADBC raises its DB-API hierarchy; keep message and class only
            raise spark_error(error) from None
        finally:
            with contextlib.suppress(Exception):
                cursor.close()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if not self._uri:
                raise EmulatorError("the Spark SQL engine of the local endpoint is not running")
            import adbc_driver_flightsql.dbapi as flight_sql

            connection = flight_sql.connect(self._uri, autocommit=True)
            for setting in _CONNECTION_SETTINGS:
                with contextlib.closing(connection.cursor()) as cursor:
                    cursor.execute(setting)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def stop(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(Exception):  # the server may already be gone; nothing to keep
                connection.close()
        server, self._server, self._uri = self._server, None, ""
        if server is not None:
            server.stop()


def spark_error(error: Exception) -> SparkSqlError:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    message = _FLIGHT_SUFFIX.sub("", _FLIGHT_PREFIX.sub("", text))
    match = _ERROR_CLASS.search(message)
    error_class = match.group(1) if match else next((c for p, c in _UNBRACKETED if message.startswith(p)), None)
    if error_class and f"[{error_class}]" not in message:
        message = f"[{error_class}] {message}"
    return SparkSqlError(message, error_class, _SQL_STATE.get(error_class or ""))
