"""dbt-duckdb's in-process state: the one place that reaches into the adapter's internals.

After an in-process `dbtRunner` command, dbt-duckdb keeps its DuckDB instance open (class attributes of
`DuckDBConnectionManager`), holding the file read-write, so no process could open it read-only.
"""

from __future__ import annotations

import gc


def release_dbt_duckdb() -> None:
    """Close the DuckDB instance an in-process dbt-duckdb keeps open after a build; a no-op without
    dbt-duckdb or with no instance."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
            DuckDBConnectionManager._ENV = None
    # A connection dbt-duckdb opened and then failed to set up (an extension it could not install) is held
    # only by the traceback of dbt's error: collected, it releases the file.
    gc.collect()
