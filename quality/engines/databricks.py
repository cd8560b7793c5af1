"""The Databricks engine: a SQL warehouse through databricks-sql-connector, relations named in Unity Catalog.

Every relation is addressed as `` `catalog`.`schema`.`name` `` (backticks, a backtick inside a name doubled).
The SQL session opens lazily, on the first statement, with bounded connector timeouts (socket timeout and
retry budget; the connector's defaults are 900 s each). `quality.engines.connectivity.preflight_databricks`
is meant to run first: it explains an unreachable host or a refused token in seconds. `open_session` then
opens the session under a deadline of its own: when the REST API answers but the SQL endpoint fails (a TLS
error, HTTP 500, a hang), the connector retries for its whole budget (8 attempts within 300 s here, measured
246 s), so the caller stops waiting at the deadline and says which half of the workspace is broken.

Secrets: the token and the OAuth client secret appear only in the arguments handed to the connector and in
`sqlalchemy_url()`; `repr()`, `redacted_url()` and every error raised here show `***` instead.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
import pyarrow as pa

from quality.engines.connectivity import (
    Say,
    credentials,
    first_line,
    parse_host,
    redact,
    say_on_stderr,
    wait_with_progress,
    warehouse_id_from_http_path,
)
from quality.engines.raw_csv import check_csv
from quality.errors import FixtureError, QualityError, TargetError

DEFAULT_SOCKET_TIMEOUT_S = 60.0  # per socket send/recv/connect; long queries are polled, so this is no query limit
DEFAULT_RETRY_ATTEMPTS = 8  # connector range 1..60
DEFAULT_RETRY_DURATION_S = 300.0  # covers a SQL warehouse cold start; connector range 1..86400
MAX_PARAMS_PER_INSERT = 10_000  # bound parameters per INSERT statement (rows per batch = this // columns)
USER_AGENT_ENTRY = "dbt-quality-harness"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


class Cursor(Protocol):
    """The slice of a DB-API cursor the engine uses (databricks.sql.client.Cursor fits it)."""

    def execute(self, operation: str, parameters: Any = None) -> Any: ...
    def fetchall(self) -> Sequence[Sequence[Any]]: ...
    def fetchall_arrow(self) -> pa.Table: ...
    def close(self) -> None: ...


class Connection(Protocol):
    """The slice of a DB-API connection the engine uses (databricks.sql.client.Connection fits it)."""

    def cursor(self) -> Cursor: ...
    def close(self) -> None: ...


ConnectFn = Callable[..., Connection]


def quote_identifier(name: str) -> str:
    """`name` as a Databricks SQL identifier: in backticks, inner backticks doubled."""
    return "`" + name.replace("`", "``") + "`"


class DatabricksEngine:
    """An `Engine` over one Unity Catalog catalog on a Databricks SQL warehouse.

    `connect` replaces `databricks.sql.connect` (same keyword arguments), e.g. to inject a fake connection
    in tests; the engine calls it once, on the first statement.
    """

    name = "databricks"

    def __init__(
        self,
        host: str,
        http_path: str,
        catalog: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        auth_type: str | None = None,
        socket_timeout_s: float = DEFAULT_SOCKET_TIMEOUT_S,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        retry_duration_s: float = DEFAULT_RETRY_DURATION_S,
        max_params_per_insert: int = MAX_PARAMS_PER_INSERT,
        connect: ConnectFn | None = None,
        connection_parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.address = parse_host(host)
        if not catalog:
            raise TargetError(
                f"no Unity Catalog catalog is set for {self.address.display}; set DBT_CATALOG (e.g. main)."
            )
        self.http_path = http_path
        self.database = catalog
        # A token, an OAuth service principal (M2M), or with `auth_type: oauth` and no secret a user login (U2M).
        self._credentials = credentials(token, client_id, client_secret, self.address.display, auth_type=auth_type)
        self._sdk_config: Any = None  # one databricks-sdk Config per engine: one OAuth login, refreshed by the SDK
        self._sdk_config_lock = threading.Lock()
        self.socket_timeout_s = socket_timeout_s
        self.retry_attempts = retry_attempts
        self.retry_duration_s = retry_duration_s
        self.max_params_per_insert = max_params_per_insert
        self._connect = connect
        # The profile's `connection_parameters` (e.g. `use_sea`), passed to the connector as dbt-databricks does.
        self.connection_parameters = dict(connection_parameters or {})
        self._connection: Connection | None = None
        self._wrap: Callable[[Connection], Connection] | None = None

    def guard_connections(self, wrap: Callable[[Connection], Connection]) -> None:
        """Wrap every connector connection (the engine's session and `sqlalchemy_creator`'s), e.g. with a
        statement check that refuses writes (`quality.engines.read_only`); the open session too."""
        self._wrap = wrap
        if self._connection is not None:
            self._connection = wrap(self._connection)

    def __repr__(self) -> str:
        return (
            f"DatabricksEngine(host={self.address.display!r}, http_path={self.http_path!r}, "
            f"catalog={self.database!r}, auth={self._credentials.auth_type!r})"
        )

    # --- names -------------------------------------------------------------------------------------
    def schema_ref(self, schema: str) -> str:
        """`` `catalog`.`schema` ``"""
        return f"{quote_identifier(self.database)}.{quote_identifier(schema)}"

    def relation_ref(self, schema: str, name: str) -> str:
        """`` `catalog`.`schema`.`name` ``"""
        return f"{self.schema_ref(schema)}.{quote_identifier(name)}"

    # --- statements --------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with closing(self._session().cursor()) as cursor:
            cursor.execute(sql, list(params) if params else None)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with closing(self._session().cursor()) as cursor:
            cursor.execute(sql, list(params) if params else None)
            return [tuple(row) for row in cursor.fetchall()]

    def fetch_arrow(self, sql: str) -> pa.Table:
        with closing(self._session().cursor()) as cursor:
            cursor.execute(sql)
            table: pa.Table = cursor.fetchall_arrow()
            return table

    def list_schemas(self) -> list[str]:
        return sorted(str(row[0]) for row in self.query(f"SHOW SCHEMAS IN {quote_identifier(self.database)}"))

    def create_schema(self, schema: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema_ref(schema)}")

    def drop_schema(self, schema: str) -> None:
        self.execute(f"DROP SCHEMA IF EXISTS {self.schema_ref(schema)} CASCADE")

    def list_relations(self, schema: str) -> list[tuple[str, str]]:
        """(name, 'table' | 'view'); Unity Catalog keeps names in lower case, so `schema` is matched lowered."""
        rows = self.query(
            f"SELECT table_name, table_type FROM {self._information_schema()}.tables "
            "WHERE table_schema = ? ORDER BY table_name",
            [schema.lower()],
        )
        return [(str(name), "view" if kind == "VIEW" else "table") for name, kind in rows]

    def relation_exists(self, schema: str, name: str) -> bool:
        rows = self.query(
            f"SELECT 1 FROM {self._information_schema()}.tables WHERE table_schema = ? AND table_name = ?",
            [schema.lower(), name.lower()],
        )
        return bool(rows)

    # --- loading -----------------------------------------------------------------------------------
    def load_frame(self, schema: str, table: str, frame: pd.DataFrame, *, replace: bool = True) -> int:
        """Create a Delta table typed from the frame's columns and fill it with batched multi-row INSERTs.

        Values travel as bound parameters (`?`), at most `max_params_per_insert` per statement. That is
        fine for fixture sizes (thousands of rows); bulk data belongs in a volume and `COPY INTO`.
        `replace=False` keeps an existing table and appends.
        """
        if frame.shape[1] == 0:
            raise QualityError(f"cannot load a frame without columns into {schema}.{table}; give it columns.")
        columns = [str(name) for name in frame.columns]
        types = [sql_type(frame.iloc[:, i]) for i in range(frame.shape[1])]
        relation = self.relation_ref(schema, table)
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
        definition = ", ".join(f"{quote_identifier(c)} {t}" for c, t in zip(columns, types, strict=True))
        self.create_schema(schema)
        self.execute(f"{verb} {relation} ({definition}) USING DELTA")
        rows = [[parameter_value(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        for statement, params in insert_statements(relation, columns, rows, self.max_params_per_insert):
            self.execute(statement, params)
        return len(frame)

    def load_csv(self, schema: str, table: str, path: Path) -> int:
        """Load a CSV fixture (header row); ISO dates and timestamps become DATE / TIMESTAMP, as on DuckDB."""
        check_csv(path)  # a malformed file raises FixtureError naming file and line
        return self.load_frame(schema, table, read_fixture_csv(path))

    # --- Delta time travel -------------------------------------------------------------------------
    def table_versions(self, schema: str) -> dict[str, int]:
        """The current Delta version of every Delta table in the schema (from `DESCRIBE HISTORY`)."""
        rows = self.query(
            f"SELECT table_name FROM {self._information_schema()}.tables WHERE table_schema = ? "
            "AND table_type IN ('MANAGED', 'EXTERNAL') AND data_source_format = 'DELTA' ORDER BY table_name",
            [schema.lower()],
        )
        versions: dict[str, int] = {}
        for (name,) in rows:
            history = self.query(f"DESCRIBE HISTORY {self.relation_ref(schema, str(name))} LIMIT 1")
            if history:
                versions[str(name)] = int(history[0][0])
        return versions

    def delta_restore(self, schema: str, table: str, version: int) -> None:
        """`RESTORE TABLE ... TO VERSION AS OF <version>` (the rollback of a publish)."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise QualityError(
                f"cannot restore {schema}.{table} to version {version!r}: a Delta version is an integer >= 0; "
                "take it from `DESCRIBE HISTORY` or the publish record."
            )
        self.execute(f"RESTORE TABLE {self.relation_ref(schema, table)} TO VERSION AS OF {version}")

    def table_features(self, schema: str, table: str) -> list[str]:
        """The Delta table features of a table (`tableFeatures` of `DESCRIBE DETAIL`), e.g. `catalogManaged`
        when catalog commits are on (what multi-statement transactions need)."""
        detail = self.fetch_arrow(f"DESCRIBE DETAIL {self.relation_ref(schema, table)}")
        if "tableFeatures" not in detail.column_names or detail.num_rows == 0:
            return []
        return [str(feature) for feature in (detail.column("tableFeatures")[0].as_py() or [])]

    def table_kinds(self, schema: str) -> dict[str, tuple[str, str]]:
        """(table_type, data_source_format) of every table of the schema, e.g. ('MANAGED', 'DELTA')."""
        rows = self.query(
            f"SELECT table_name, table_type, data_source_format FROM {self._information_schema()}.tables "
            "WHERE table_schema = ?",
            [schema.lower()],
        )
        return {str(name): (str(kind), str(source or "")) for name, kind, source in rows}

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        """(column name, full data type) of a relation, in order."""
        rows = self.query(
            f"SELECT column_name, full_data_type FROM {self._information_schema()}.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema.lower(), table.lower()],
        )
        return [(str(name), str(kind).lower()) for name, kind in rows]

    @property
    def is_sql_warehouse(self) -> bool:
        """The http_path names a SQL warehouse (`/sql/1.0/warehouses/<id>`), where `BEGIN ATOMIC ... END`
        runs; a cluster needs Databricks Runtime 18+, which the harness does not check."""
        return warehouse_id_from_http_path(self.http_path) is not None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A no-op: each statement commits on its own. A publish that can be one transaction sends one
        `BEGIN ATOMIC ... END` statement instead (`quality.engines.publish`)."""
        yield

    # --- URLs for SQLAlchemy / Great Expectations --------------------------------------------------
    def sqlalchemy_url(self, schema: str | None = None) -> str:
        """`databricks://token:<token>@<host>:<port>?http_path=...&catalog=...[&schema=...]`.

        It holds the token: log `redacted_url()` instead. With OAuth there is no token to put in the URL;
        pass `sqlalchemy_connect_args()` (which carries the credentials provider) to the engine as well.
        """
        return self._url(schema, self._credentials.token)

    def redacted_url(self, schema: str | None = None) -> str:
        """`sqlalchemy_url()` with the token shown as `***`."""
        return self._url(schema, "***" if self._credentials.token else None)

    def sqlalchemy_creator(self, timeout_s: float) -> Callable[[], Connection]:
        """A SQLAlchemy `creator` for GX: this engine's connector arguments (profile connection parameters and
        OAuth included) with a bounded connect time; GX cannot pass them through the URL."""
        arguments = {
            **self.connect_arguments(),
            "_socket_timeout": timeout_s,
            "_retry_stop_after_attempts_count": 2,
            "_retry_stop_after_attempts_duration": timeout_s,
        }
        connect = self._connect or _connector_connect()

        wrap = self._wrap

        def create() -> Connection:
            connection = connect(**arguments)
            return wrap(connection) if wrap is not None else connection

        return create

    def sqlalchemy_connect_args(self) -> dict[str, Any]:
        """Connector arguments that the URL cannot carry: timeouts, port, and the OAuth credentials provider."""
        arguments = self._limits()
        if not self._credentials.token:
            arguments["credentials_provider"] = self._oauth_header_factory
        return arguments

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    # --- internals ---------------------------------------------------------------------------------
    def _information_schema(self) -> str:
        return f"{quote_identifier(self.database)}.information_schema"

    def _url(self, schema: str | None, secret: str | None) -> str:
        query = {"http_path": self.http_path, "catalog": self.database}
        if schema:
            query["schema"] = schema
        user = f"token:{quote(secret, safe='*')}@" if secret else ""
        return f"databricks://{user}{self.address.hostname}:{self.address.port}?{urlencode(query)}"

    def _limits(self) -> dict[str, Any]:
        return {
            **self.connection_parameters,
            "_port": self.address.port,
            "_socket_timeout": self.socket_timeout_s,
            "_retry_stop_after_attempts_count": self.retry_attempts,
            "_retry_stop_after_attempts_duration": self.retry_duration_s,
        }

    def connect_arguments(self) -> dict[str, Any]:
        """The keyword arguments for `databricks.sql.connect` (they hold the secret: never log them)."""
        arguments: dict[str, Any] = {
            "server_hostname": self.address.hostname,
            "http_path": self.http_path,
            "catalog": self.database,
            "user_agent_entry": USER_AGENT_ENTRY,
            **self._limits(),
        }
        if self._credentials.token:
            arguments["access_token"] = self._credentials.token
        else:
            arguments["credentials_provider"] = self._oauth_header_factory
        return arguments

    @property
    def auth_type(self) -> str:
        """How this engine authenticates: pat, oauth-m2m or oauth-u2m."""
        return self._credentials.auth_type

    def _oauth_header_factory(self) -> Callable[[], dict[str, str]]:
        """The connector's `credentials_provider`: OAuth through databricks-sdk unified auth (`oauth-m2m` for a
        service principal, `external-browser` for a user login with the SDK's token cache). Every connection
        of the engine (its session, GX's) shares one SDK config, so one login serves them all."""
        with self._sdk_config_lock:
            if self._sdk_config is None:
                from databricks.sdk.config import Config

                self._sdk_config = Config(
                    host=self.address.url,
                    **self._credentials.sdk_settings(),
                    http_timeout_seconds=self.socket_timeout_s,
                    retry_timeout_seconds=max(1, int(self.retry_duration_s)),
                )
            header_factory: Callable[[], dict[str, str]] = self._sdk_config.authenticate
        return header_factory

    def _session(self) -> Connection:
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def open_session(
        self,
        timeout_s: float,
        *,
        started: float | None = None,
        warehouse_state: str | None = None,
        say: Say = say_on_stderr,
    ) -> None:
        """Open the SQL session now, giving up `timeout_s` after `started` (monotonic; default now).

        Meant after a preflight that the REST API passed: a failure here means the SQL endpoint does not
        answer, and the message says so (with the warehouse's state from the preflight, when known). The
        connect runs in a daemon thread that is abandoned at the deadline.
        """
        if self._connection is not None:
            return
        connect = self._connect or _connector_connect()  # imports must not count against the deadline
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                outcome["connection"] = connect(**self.connect_arguments())
            except BaseException as error:  # handed to the caller's thread
                outcome["error"] = error
            finally:
                done.set()

        threading.Thread(target=work, name="databricks-sql-session", daemon=True).start()
        what = f"a SQL session on the warehouse at {self.address.display}"
        if not wait_with_progress(done, timeout_s, what, say, started=started):
            raise TargetError(self._no_session_message(f"no session within {timeout_s:g} s", warehouse_state))
        if "error" in outcome:
            error = outcome["error"]
            cause = f"{type(error).__name__}: {first_line(error)}"
            raise TargetError(redact(self._no_session_message(cause, warehouse_state), *self._credentials.secrets))
        connection: Connection = outcome["connection"]
        self._connection = self._wrap(connection) if self._wrap is not None else connection

    def _no_session_message(self, cause: str, warehouse_state: str | None) -> str:
        warehouse_id = warehouse_id_from_http_path(self.http_path)
        if warehouse_id and warehouse_state:
            which = f"SQL warehouse {warehouse_id} (state {warehouse_state})"
        else:
            which = f"the SQL endpoint at DATABRICKS_HTTP_PATH={self.http_path}"
        advice = (
            "it is not running: start it in the workspace (a cold start takes minutes) or raise "
            "QUALITY_CONNECT_TIMEOUT, then retry."
            if warehouse_state and warehouse_state != "RUNNING"
            else f"check that DATABRICKS_HTTP_PATH ({self.http_path}) is the HTTP path on the warehouse's "
            "Connection details page, and the warehouse's state and this identity's permission to use it."
        )
        return (
            f"the Databricks REST API at {self.address.display} answers, but {which} did not open a SQL "
            f"session ({cause}): {advice}"
        )

    def _open(self) -> Connection:
        connect = self._connect or _connector_connect()
        try:
            connection = connect(**self.connect_arguments())
        except Exception as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise TargetError(
                redact(
                    f"cannot open a SQL session on Databricks at {self.address.display} "
                    f"({type(error).__name__}: {detail}). Check DATABRICKS_HOST, DATABRICKS_HTTP_PATH "
                    f"({self.http_path}) and the credentials, and that the SQL warehouse exists and this "
                    "identity may use it.",
                    *self._credentials.secrets,
                )
            ) from None
        return self._wrap(connection) if self._wrap is not None else connection


def _connector_connect() -> ConnectFn:
    from databricks import sql as databricks_sql

    connect: ConnectFn = databricks_sql.connect
    return connect


def insert_statements(
    relation: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], max_params: int
) -> Iterator[tuple[str, list[Any]]]:
    """`INSERT INTO relation (cols) VALUES (?, ...), ...` statements with their flattened parameters."""
    per_batch = max(1, max_params // max(1, len(columns)))
    column_list = ", ".join(quote_identifier(c) for c in columns)
    placeholders = "(" + ", ".join("?" for _ in columns) + ")"
    for start in range(0, len(rows), per_batch):
        batch = rows[start : start + per_batch]
        values = ", ".join(placeholders for _ in batch)
        yield f"INSERT INTO {relation} ({column_list}) VALUES {values}", [v for row in batch for v in row]


def parameter_value(value: Any) -> Any:
    """A pandas/numpy cell as a plain Python value the connector can bind (missing values become None)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple, dict)):
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def sql_type(series: pd.Series) -> str:
    """The Databricks SQL type for a column, from its dtype or (for object columns) its values."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP"
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind == "decimal":
        return _decimal_type(series)
    return {
        "boolean": "BOOLEAN",
        "integer": "BIGINT",
        "floating": "DOUBLE",
        "mixed-integer-float": "DOUBLE",
        "date": "DATE",
        "datetime": "TIMESTAMP",
        "datetime64": "TIMESTAMP",
    }.get(kind, "STRING")


def _decimal_type(series: pd.Series) -> str:
    exponents = [value.as_tuple().exponent for value in series.dropna() if isinstance(value, decimal.Decimal)]
    scale = max([-e for e in exponents if isinstance(e, int)] + [0])
    return f"DECIMAL(38, {min(scale, 38)})"


def read_fixture_csv(path: Path) -> pd.DataFrame:
    """Read a checked CSV: only empty fields are NULL (as DuckDB reads them); ISO dates/timestamps are typed."""
    try:
        frame = pd.read_csv(path, encoding="utf-8", keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise FixtureError(f"{path}: pandas could not read the file ({first_line}); fix the file.") from None
    for column in frame.columns:
        frame[column] = _typed_iso_column(frame[column])
    return frame


def _typed_iso_column(series: pd.Series) -> pd.Series:
    if pd.api.types.infer_dtype(series, skipna=True) != "string":
        return series
    values = [str(value) for value in series.dropna()]
    if not values:
        return series
    for pattern, parse in ((_ISO_DATE, dt.date.fromisoformat), (_ISO_TIMESTAMP, dt.datetime.fromisoformat)):
        if all(pattern.fullmatch(value) for value in values):
            try:
                parsed = [None if pd.isna(value) else parse(str(value)) for value in series]
            except ValueError:  # e.g. 2024-02-30: keep the column as text
                return series
            return pd.Series(parsed, index=series.index, dtype=object, name=series.name)
    return series
