"""An ephemeral GX context and the one SQL data source it validates through (its engine kind's: DuckDB or
Databricks, `EngineKind.gx_datasource`).

Nothing is written to disk except the Data Docs site, when one is asked for. Data sources never wait
unboundedly on a warehouse: Databricks connections get a socket timeout and a bounded retry budget, both
QUALITY_CONNECT_TIMEOUT when it is set (else DATABRICKS_CONNECT_TIMEOUT_S).

Auth: an `Engine` hands GX connections made with its own connector arguments (`sqlalchemy_creator`), so a
token, an OAuth service principal (M2M) or a user login (U2M) all reach GX, and the URL GX sees holds no
OAuth secret. A bare `databricks://token:...@host` URL can only carry a token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource

from quality.engines.base import Engine
from quality.engines.connectivity import connect_timeout_s
from quality.engines.kinds import kind_for_url, kinds, url_scheme
from quality.errors import HarnessError

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
    """Register the warehouse: an `Engine`, or its URL (duckdb:///<path> or databricks://...); the data source
    is the one of the URL's engine kind (`EngineKind.gx_datasource`)."""
    url = target if isinstance(target, str) else target.sqlalchemy_url()
    timeout_s = databricks_connect_timeout_s()
    # An Engine hands GX its own connections; a bare URL gets connections made from the URL alone.
    creator = None if isinstance(target, str) else target.sqlalchemy_creator(timeout_s)
    kind = kind_for_url(url)
    if kind is None:
        supported = " and ".join(known.url_example for known in kinds())
        raise HarnessError(
            f"GX validation supports {supported} URLs, got a {url_scheme(url)!r} URL; "
            "pass the Engine of the run (its sqlalchemy_url()) instead."
        )
    datasource: SQLDatasource = kind.gx_datasource(context, url, creator, timeout_s, name=DATASOURCE_NAME)
    return datasource


def databricks_connect_timeout_s() -> float:
    """QUALITY_CONNECT_TIMEOUT when set (the harness-wide connect timeout), else DATABRICKS_CONNECT_TIMEOUT_S."""
    return connect_timeout_s(default=DATABRICKS_CONNECT_TIMEOUT_S)


def close_datasource(datasource: SQLDatasource) -> None:
    """Close every connection GX opened, so the DuckDB file is released when validation ends."""
    execution_engine = datasource.get_execution_engine()
    connection = getattr(execution_engine, "_connection", None)
    if connection is not None:
        connection.close()
    execution_engine.close()
    datasource.get_engine().dispose()
