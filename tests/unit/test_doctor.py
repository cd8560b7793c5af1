"""`quality doctor`: every check passes on the embedded engine; a missing variable or a refused token fails with its fix."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from quality.onboarding.doctor import Check, run_checks
from tests.fakes import DEFAULT_TOKEN, DEFAULT_WAREHOUSE_ID, FakeWorkspace

pytestmark = pytest.mark.usefixtures("hermetic_databricks_env")

PROJECT = Path(__file__).resolve().parents[2] / "dbt"


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_the_embedded_engine_passes_every_check_dbt_debug_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))

    checks = by_name(run_checks(PROJECT, None, "local", debug=True))

    assert {name: check.status for name, check in checks.items() if name != "pre-commit hooks"} == dict.fromkeys(
        [
            "python",
            "dbt-core",
            "great-expectations",
            "sqlalchemy",
            "dbt-databricks",
            "dbt-duckdb",
            "duckdb",
            "dbt project",
            "target",
            "connection",
            "publish record",
            "dbt debug",
        ],
        "ok",
    )
    assert checks["pre-commit hooks"].status in {"ok", "warn"}


def test_a_missing_env_var_fails_the_target_check_naming_it_and_nothing_connects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABRICKS_HTTP_PATH", f"/sql/1.0/warehouses/{DEFAULT_WAREHOUSE_ID}")

    checks = by_name(run_checks(PROJECT, None, "prod", debug=True))

    assert checks["target"].status == "fail"
    assert "DATABRICKS_HOST" in checks["target"].detail
    assert "connection" not in checks
    assert "dbt debug" not in checks


def test_a_refused_token_fails_the_connection_with_its_fix_and_stops_there(
    fake_workspace: FakeWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", fake_workspace.url)
    monkeypatch.setenv("DATABRICKS_HTTP_PATH", f"/sql/1.0/warehouses/{DEFAULT_WAREHOUSE_ID}")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-expired-token")
    monkeypatch.setenv("DBT_CATALOG", "main")
    monkeypatch.setenv("QUALITY_CONNECT_TIMEOUT", "5")

    checks = by_name(run_checks(PROJECT, None, "prod", debug=True))

    assert checks["target"].status == "ok"
    connection = checks["connection"]
    assert connection.status == "fail"
    assert "refused the credentials (HTTP 401" in connection.detail
    assert "check DATABRICKS_TOKEN" in connection.detail
    assert "dapi-expired-token" not in connection.detail
    assert DEFAULT_TOKEN not in connection.detail
    assert "dbt debug" not in checks, "no dbt debug against a workspace that refused us"


def test_a_warehouse_whose_rest_api_answers_but_sql_endpoint_fails_stops_at_the_connection_in_time(
    fake_workspace: FakeWorkspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", fake_workspace.url)  # plain HTTP: the connector's TLS handshake fails
    monkeypatch.setenv("DATABRICKS_HTTP_PATH", f"/sql/1.0/warehouses/{DEFAULT_WAREHOUSE_ID}")
    monkeypatch.setenv("DATABRICKS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("DBT_CATALOG", "main")
    monkeypatch.setenv("QUALITY_CONNECT_TIMEOUT", "3")

    started = time.monotonic()
    checks = by_name(run_checks(PROJECT, None, "dev", debug=True))
    elapsed = time.monotonic() - started

    assert elapsed < 13.0
    connection = checks["connection"]
    assert connection.status == "fail"
    assert connection.detail.startswith(
        f"the Databricks REST API at 127.0.0.1:{fake_workspace.port} answers, but SQL warehouse "
        f"{DEFAULT_WAREHOUSE_ID} (state RUNNING) did not open a SQL session (no session within 3 s): "
    )
    assert "dbt debug" not in checks
    assert "still waiting for a SQL session on the warehouse at 127.0.0.1:" in capsys.readouterr().err
