"""Fixtures of the integration tests: the local Databricks endpoint a module's tests share, and a schema of
each test's own on it; an embedded DuckDB warehouse of the test's own.

A module that needs its own kind of endpoint (every DATABRICKS_* variable set, OAuth, a state folder)
defines its own `endpoint` fixture, which takes precedence over this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from quality.emulator.endpoint import LocalEndpoint
from tests.integration.local_databricks import Session, connect, running_endpoint, unique_schema


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """warehouse.duckdb in tmp_path, the `local` target's file (QUALITY_DUCKDB_PATH); the test runs from
    tmp_path (the commands' caches and artifact folders)."""
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(warehouse))
    monkeypatch.chdir(tmp_path)
    return warehouse


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    """One started endpoint for the module; this process trusts its certificate and reaches it."""
    with running_endpoint() as started:
        yield started


@pytest.fixture(scope="module")
def connection(endpoint: LocalEndpoint) -> Iterator[Any]:
    """A databricks-sql-connector session on the module's endpoint, as dbt-databricks opens one."""
    with closing(connect(endpoint)) as opened:
        yield opened


@pytest.fixture
def session(connection: Any, request: pytest.FixtureRequest) -> Iterator[Session]:
    """The module's connection and a schema of this test's own (named after the module), dropped after."""
    prefix = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_local_databricks_")
    session = Session(connection, unique_schema(prefix))
    session.execute(f"create schema main.{session.schema}")
    yield session
    session.execute(f"drop schema if exists main.{session.schema} cascade")
