"""Dropped partitions of an incremental model come back with `quality gate --full-refresh <model>`, and only so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.wap.gate import GateReport
from quality.wap.rollback import drop_partitions
from tests.integration.real_project import RAW, gate_locally

pytestmark = pytest.mark.integration


def gate(folder: Path, **options: Any) -> GateReport:
    return gate_locally(RAW, folder / "runs", run_expectations=False, **options)


def orders(warehouse: Path, day: str) -> tuple[int, int]:
    """Rows of fct_orders in all, and on `day`."""
    engine = DuckDBEngine(warehouse)
    try:
        total, on_day = engine.query(
            "select count(*), count(*) filter (where cast(order_date as varchar) = ?) from marts.fct_orders", [day]
        )[0]
        return int(total), int(on_day)
    finally:
        engine.close()


def test_dropped_partitions_are_rebuilt_by_a_full_refresh_of_the_model(tmp_path: Path, warehouse: Path) -> None:
    assert gate(tmp_path).status == "published"
    engine = DuckDBEngine(warehouse)
    try:
        day = engine.query("select cast(min(order_date) as varchar) from marts.fct_orders")[0][0]
    finally:
        engine.close()
    total, oldest_day = orders(warehouse, day)
    engine = DuckDBEngine(warehouse)
    try:
        assert drop_partitions(engine, "marts", "fct_orders", "order_date", [day]) == oldest_day > 0
    finally:
        engine.close()

    incremental = gate(tmp_path)
    # A merge re-reads only recent source rows, so the orders stay missing while their lines (a table,
    # rebuilt every run) are back: the reconciliation test catches it and nothing is published.
    assert incremental.status == "failed"
    assert "assert_order_totals_equal_sum_of_lines" in (incremental.error or "")
    assert orders(warehouse, day) == (total - oldest_day, 0)

    refreshed = gate(tmp_path, full_refresh=("fct_orders",))
    assert refreshed.status == "published", refreshed.error
    assert orders(warehouse, day) == (total, oldest_day)


def test_full_refresh_of_a_model_that_is_not_incremental_is_refused_before_building(
    tmp_path: Path, warehouse: Path
) -> None:

    report = gate(tmp_path, full_refresh=("dim_customers",))

    assert report.status == "error"
    assert "--full-refresh names dim_customers, which is not an incremental model" in (report.error or "")
    assert "incremental models: fct_orders" in (report.error or "")
    assert report.models == [], "nothing was built"
