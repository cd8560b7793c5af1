"""Databricks SQL's kind: a remote catalog, every ephemeral workspace in the target's own catalog."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from quality.engines.connectivity import Say, connect_timeout_s
from quality.engines.kind import EngineKind
from quality.engines.target import DatabricksSettings, Target

if TYPE_CHECKING:
    from quality.engines.base import Engine


class DatabricksKind(EngineKind):
    name = "databricks"
    sqlalchemy_dialect = "databricks"
    url_example = "databricks://"
    label = "Databricks"
    fidelity_role = "candidate"
    compiles_offline = True
    distributions = ("dbt-databricks",)
    sqlglot_dialect = "databricks"
    runs_prod = True
    dispatch_prefixes = ("databricks", "spark", "default")  # dbt-databricks' parent adapter is dbt-spark
    # dbt-spark outputs reach the same Databricks workspaces (a host is where the data is).
    workspace_host_types = frozenset({"databricks", "spark"})

    def target_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        return {"databricks": settings_from_output(output)}

    def open(self, target: Target, *, read_only: bool, say: Say) -> Engine | None:
        """Databricks SQL after a bounded preflight: the REST preflight and the SQL session open share one
        deadline, QUALITY_CONNECT_TIMEOUT (`connect_timeout_s()`), and `say` hears that it still waits."""
        if target.databricks is None:
            return None
        from quality.engines.connectivity import preflight_databricks
        from quality.engines.databricks import DatabricksEngine

        settings = target.databricks
        _import_clients()  # seconds of cold imports must not count against the network deadline
        timeout_s, started = connect_timeout_s(), time.monotonic()
        state = preflight_databricks(
            settings.host,
            settings.http_path,
            token=settings.token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            auth_type=settings.auth_type,
            target=target.name,
            timeout_s=timeout_s,
            say=say,
        )
        engine = DatabricksEngine(
            host=settings.host,
            http_path=settings.http_path,
            catalog=settings.catalog,
            token=settings.token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            auth_type=settings.auth_type,
            connection_parameters=settings.connection_parameters,
        )
        try:
            engine.open_session(timeout_s, started=started, warehouse_state=state, say=say)
        except BaseException:
            engine.close()
            raise
        return engine

    def quote_identifier(self, name: str) -> str:
        """In backticks, inner backticks doubled."""
        return "`" + name.replace("`", "``") + "`"

    def gx_datasource(
        self, context: Any, url: str, creator: Callable[[], Any] | None, timeout_s: float, *, name: str
    ) -> Any:
        from quality.engines.gx_databricks import add_databricks_datasource, databricks_creator

        return add_databricks_datasource(
            context, url, creator or databricks_creator(url, timeout_s), timeout_s, name=name
        )


def settings_from_output(output: dict[str, Any]) -> DatabricksSettings:
    host = str(output.get("host") or "").removeprefix("https://").rstrip("/")
    return DatabricksSettings(
        host=host,
        http_path=str(output.get("http_path") or ""),
        catalog=str(output.get("catalog") or "main"),
        schema=str(output.get("schema") or "default"),
        token=output.get("token") or None,
        client_id=output.get("client_id") or None,
        client_secret=output.get("client_secret") or None,
        auth_type=str(output.get("auth_type") or "").strip() or None,
        connection_parameters=dict(output.get("connection_parameters") or {}),
    )


def _import_clients() -> None:
    import databricks.sdk
    from databricks import sql

    del databricks, sql
