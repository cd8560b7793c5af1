"""Great Expectations on Databricks SQL: its data source, connecting within the harness's bound.

GX's Databricks data source tests its connection when it is added; against a warehouse that never
answers it must give up within `timeout_s` (a socket timeout and a bounded retry budget) and say so
without leaking the token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from great_expectations.datasource.fluent.databricks_sql_datasource import DatabricksSQLDatasource
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from sqlalchemy.engine import make_url

from quality.errors import TargetError


def add_databricks_datasource(
    context: Any, url: str, creator: Callable[[], Any], timeout_s: float, *, name: str
) -> SQLDatasource:
    parsed = make_url(url)
    if "schema" not in parsed.query:
        # GX refuses a Databricks URL without `schema`; every asset names its own, so any schema will do.
        parsed = parsed.update_query_dict({"schema": "default"})
        url = parsed.render_as_string(hide_password=False)
    try:
        datasource = DatabricksSQLDatasource(
            name=name,
            connection_string=url,
            create_temp_table=False,
            kwargs={"creator": creator},
        )
        added: SQLDatasource = context.data_sources.add_databricks_sql(datasource)
        return added
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


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
