"""Open the engine a target names."""

from __future__ import annotations

import math
import os
import time

from quality.engines.base import Engine
from quality.engines.connectivity import DEFAULT_TIMEOUT_S, Say, say_on_stderr
from quality.errors import TargetError
from quality.targets import Target


def open_engine(target: Target, *, read_only: bool = False, say: Say = say_on_stderr) -> Engine:
    """A connection to the target's warehouse: DuckDB file, or Databricks SQL after a bounded preflight.

    On Databricks the REST preflight and the SQL session open share one deadline, QUALITY_CONNECT_TIMEOUT
    (`connect_timeout_s()`), and `say` hears every few seconds that it still waits.
    `read_only=True` gives a `ReadOnlyEngine` on every engine: only reads are ever sent (refused in the
    client otherwise); a DuckDB file is also opened read-only.
    """
    engine = _open(target, read_only=read_only, say=say)
    if not read_only:
        return engine
    from quality.engines.read_only import ReadOnlyEngine

    return ReadOnlyEngine(engine)


def _open(target: Target, *, read_only: bool, say: Say) -> Engine:
    if target.engine == "duckdb" and target.duckdb_path is not None:
        from quality.engines.duckdb import DuckDBEngine

        return DuckDBEngine(target.duckdb_path, read_only=read_only, config=target.output.get("config_options"))
    if target.engine == "databricks" and target.databricks is not None:
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
    raise TargetError(f"{target.describe()} has no connection settings the harness understands.")


def _import_clients() -> None:
    import databricks.sdk
    from databricks import sql

    del databricks, sql


def connect_timeout_s(default: float = DEFAULT_TIMEOUT_S) -> float:
    """Seconds to wait for the workspace: QUALITY_CONNECT_TIMEOUT, a positive number, else `default`."""
    text = os.environ.get("QUALITY_CONNECT_TIMEOUT", "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise TargetError(
            f"QUALITY_CONNECT_TIMEOUT={text!r} is not a number of seconds; set it to a positive number, "
            f"e.g. QUALITY_CONNECT_TIMEOUT=30, or unset it for the default ({DEFAULT_TIMEOUT_S:g} s)."
        )
    return seconds
