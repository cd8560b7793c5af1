"""Fixtures of the integration tests: the local Databricks endpoint a module's tests share, and a schema of
each test's own on it; an embedded DuckDB warehouse of the test's own; the mini project (`shop`).

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
from tests.integration.mini_project import write_mini_project


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mini project under tmp_path (project in dbt/, fixtures in fixtures/, its DuckDB file shop.duckdb),
    run from there on its default target."""
    write_mini_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(tmp_path / "shop.duckdb"))
    monkeypatch.delenv("DBT_TARGET", raising=False)
    return tmp_path


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
