"""`quality doctor`: every check passes on the embedded engine; a missing variable or a refused token fails with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.doctor import Check, run_checks
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
