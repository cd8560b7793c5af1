"""An ephemeral GX context and the one SQL data source it validates through (DuckDB or Databricks).

Nothing is written to disk except the Data Docs site, when one is asked for. Data sources never wait
unboundedly on a warehouse: Databricks connections get a socket timeout and a bounded retry budget, both
QUALITY_CONNECT_TIMEOUT when it is set (else DATABRICKS_CONNECT_TIMEOUT_S).

Auth: an `Engine` hands GX connections made with its own connector arguments (`sqlalchemy_creator`), so a
token, an OAuth service principal (M2M) or a user login (U2M) all reach GX, and the URL GX sees holds no
OAuth secret. A bare `databricks://token:...@host` URL can only carry a token.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.datasource.fluent.databricks_sql_datasource import DatabricksSQLDatasource
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from sqlalchemy.engine import make_url

from quality.engines.base import Engine
from quality.engines.gx_duckdb import check_gx_version, duckdb_creator, duckdb_path
from quality.errors import EngineBusyError, HarnessError, TargetError

DATASOURCE_NAME = "quality"
DATA_DOCS_SITE = "quality"
DATABRICKS_CONNECT_TIMEOUT_S = 30.0  # per socket operation and retry budget; GX tests the connection when adding


def ephemeral_context(data_docs_dir: Path | None) -> AbstractDataContext:
    """An in-memory context without progress bars; with a filesystem Data Docs site when asked."""
    sites: dict[str, Any] = {}
    if data_docs_dir is not None:
        sites[DATA_DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir.resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def add_datasource(context: AbstractDataContext, target: str | Engine) -> SQLDatasource:
    """Register the warehouse: an `Engine`, or its URL (duckdb:///<path> or databricks://...)."""
    url = target if isinstance(target, str) else target.sqlalchemy_url()
    timeout_s = databricks_connect_timeout_s()
    # An Engine hands GX its own connections; a bare URL gets connections made from the URL alone.
    creator = None if isinstance(target, str) else target.sqlalchemy_creator(timeout_s)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "duckdb":
        return _add_duckdb(context, url, creator)
    if scheme == "databricks":
        return _add_databricks(context, url, creator or databricks_creator(url, timeout_s), timeout_s)
    raise HarnessError(
        f"GX validation supports duckdb:///<path> and databricks:// URLs, got a {scheme!r} URL; "
        "pass the Engine of the run (its sqlalchemy_url()) instead."
    )


def databricks_connect_timeout_s() -> float:
    """QUALITY_CONNECT_TIMEOUT when set (the harness-wide connect timeout), else DATABRICKS_CONNECT_TIMEOUT_S."""
    from quality.engines.factory import connect_timeout_s

    return connect_timeout_s(default=DATABRICKS_CONNECT_TIMEOUT_S)


def _add_duckdb(context: AbstractDataContext, url: str, creator: Callable[[], Any] | None) -> SQLDatasource:
    check_gx_version()
    path = duckdb_path(url)
    if not path.is_file():
        raise HarnessError(f"DuckDB file {path} does not exist; build the models before validating them.")
    try:
        datasource = SQLDatasource(
            name=DATASOURCE_NAME,
            connection_string=url,
            create_temp_table=False,
            kwargs={"creator": creator or duckdb_creator(path)},
        )
        return context.data_sources.add_sql(datasource)
    except Exception as error:
        raise _root_quality_error(error) or HarnessError(
            f"GX could not open DuckDB file {path}: {_first_line(error)}"
        ) from error


def _add_databricks(
    context: AbstractDataContext, url: str, creator: Callable[[], Any], timeout_s: float
) -> SQLDatasource:
    parsed = make_url(url)
    if "schema" not in parsed.query:
        # GX refuses a Databricks URL without `schema`; every asset names its own, so any schema will do.
        parsed = parsed.update_query_dict({"schema": "default"})
        url = parsed.render_as_string(hide_password=False)
    try:
        datasource = DatabricksSQLDatasource(
            name=DATASOURCE_NAME,
            connection_string=url,
            create_temp_table=False,
            kwargs={"creator": creator},
        )
        return context.data_sources.add_databricks_sql(datasource)
    except Exception as error:
        message = _first_line(error).replace(parsed.password or "\0", "***")
        raise TargetError(
            f"GX could not reach the Databricks SQL warehouse at {parsed.host} within "
            f"{timeout_s:g} s ({message}). Check DATABRICKS_HOST, DATABRICKS_HTTP_PATH "
            "and the credentials (token or OAuth client), and that the warehouse is running."
        ) from None


def databricks_creator(url: str, timeout_s: float) -> Callable[[], Any]:
    """A SQLAlchemy `creator` for databricks-sql-connector with a bounded connect time.

    The databricks dialect drops the URL's port and passes no timeout; GX builds its engine as
    `create_engine(url, connect_args={"http_path": ...}, **kwargs)`, so `connect_args` cannot be
    extended through GX and a `creator` is the one way in.
    """
    from databricks import sql as databricks_sql

    parsed = make_url(url)
    arguments: dict[str, Any] = {
        "server_hostname": parsed.host,
        "http_path": parsed.query.get("http_path"),
        "access_token": parsed.password,
        "catalog": parsed.query.get("catalog"),
        "schema": parsed.query.get("schema"),
        "_port": parsed.port or 443,
        "_socket_timeout": timeout_s,
        "_retry_stop_after_attempts_count": 2,
        "_retry_stop_after_attempts_duration": timeout_s,
    }

    def connect() -> Any:
        return databricks_sql.connect(**arguments)

    return connect


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


def close_datasource(datasource: SQLDatasource) -> None:
    """Close every connection GX opened, so the DuckDB file is released when validation ends."""
    execution_engine = datasource.get_execution_engine()
    connection = getattr(execution_engine, "_connection", None)
    if connection is not None:
        connection.close()
    execution_engine.close()
    datasource.get_engine().dispose()
