"""The DuckDB shim (quality/engines/gx_duckdb.py): GX on duckdb-engine's own connection still returns
empty metrics (the upstream bug), our autocommit connection still fixes it, and only the GX versions
it was tested with are accepted. A GX upgrade that fixes or changes the bug fails here, loudly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from duckdb_engine import ConnectionWrapper
from packaging.version import Version

from quality.engines import gx_duckdb
from quality.errors import HarnessError
from quality.expectations.report import ValidationReport
from quality.expectations.spec import check_suites
from quality.expectations.validate import validate_models

pytestmark = pytest.mark.integration

SCHEMA = "ci_20261125t131000_ab12cd_marts"


def one_expectation_project(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            f"create schema {SCHEMA}; create table {SCHEMA}.fct_orders as select range as order_id from range(3)"
        )
    meta = {"quality": {"expectations": [{"expectation": "expect_table_row_count_to_equal", "kwargs": {"value": 3}}]}}
    node = {
        "unique_id": "model.retail.fct_orders",
        "resource_type": "model",
        "name": "fct_orders",
        "database": "warehouse",
        "schema": SCHEMA,
        "alias": "fct_orders",
        "relation_name": f'"warehouse"."{SCHEMA}"."fct_orders"',
        "config": {"meta": meta},
        "meta": meta,
        "columns": {},
    }
    return f"duckdb:///{path}", {"nodes": {node["unique_id"]: node}, "sources": {}}


def validate(url: str, manifest: dict[str, Any]) -> ValidationReport:
    return validate_models(check_suites(manifest), manifest, url, data_docs_dir=None, run_name="shim")


def duckdb_engine_connection(path: Path, shared: object = None) -> Callable[[], Any]:
    """What duckdb-engine itself would connect with (minus its user agent): transactions and all."""
    return lambda: ConnectionWrapper(duckdb.connect(str(path)))


def test_installed_gx_is_in_the_range_the_shim_was_tested_with() -> None:
    version = gx_duckdb.installed_gx_version()

    assert gx_duckdb.gx_version_supported(version), (
        f"great_expectations {version} is outside the shim's tested range {gx_duckdb.TESTED_GX_RANGE}: "
        "run this module's other tests against it, then adjust quality/engines/gx_duckdb.py"
    )


def test_on_duckdb_engines_own_connection_gx_returns_empty_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents the upstream bug: GX fetches after leaving `with engine.connect()`, whose ROLLBACK
    discards DuckDB's pending result."""
    monkeypatch.setattr(gx_duckdb, "duckdb_creator", duckdb_engine_connection)
    url, manifest = one_expectation_project(tmp_path)

    report = validate(url, manifest)

    assert report.results == [], (
        "GX now validates DuckDB on duckdb-engine's own connection: the upstream bug looks fixed. "
        "Drop _AutocommitConnection from quality/engines/gx_duckdb.py (keep the shared-instance creator) "
        "and this test, or widen TESTED_GX_RANGE."
    )
    [problem] = report.errors
    assert (problem.model, problem.expectation) == ("fct_orders", "expect_table_row_count_to_equal")
    assert problem.message == "list index out of range"


def test_on_the_autocommit_connection_the_same_expectation_passes(tmp_path: Path) -> None:
    url, manifest = one_expectation_project(tmp_path)

    report = validate(url, manifest)

    assert report.errors == []
    assert [(r.expectation, r.success, r.observed_value) for r in report.results] == [
        ("expect_table_row_count_to_equal", True, 3)
    ]


def test_an_untested_gx_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gx_duckdb, "installed_gx_version", lambda: Version("1.25.0"))

    with pytest.raises(HarnessError, match=r"great_expectations 1\.25\.0 is installed, .* >=1\.24,<1\.25 only"):
        gx_duckdb.check_gx_version()
