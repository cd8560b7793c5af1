"""The incremental model of the real project (fct_orders, unique_key order_id) is published by MERGE of its
audited change on DuckDB, in the publish's one transaction: prod ends equal to the audited table row for
row and with its constraints, the record says how many rows were inserted and updated, and rollback
restores the previous prod exactly. A full refresh that drops rows prod has is published whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.wap.gate import GateReport
from quality.wap.rollback import last_published_run, rollback_run
from tests.integration.real_project import BATCH2, RAW, gate_locally
from tests.integration.warehouse import fingerprint

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("merge_publish")]


def gate(folder: Path, fixtures: Path, **options: Any) -> GateReport:
    return gate_locally(fixtures, folder / "runs", run_expectations=False, **options)


def step_of(report: GateReport, name: str) -> dict[str, object]:
    return next(step for step in report.published if step["prod_name"] == name)


def test_the_incremental_model_is_merged_equal_to_its_audit_build_and_rolls_back_exactly(
    tmp_path: Path, warehouse: Path
) -> None:
    first = gate(tmp_path, RAW)
    assert first.status == "published", first.error
    assert step_of(first, "fct_orders")["method"] == "replace"
    assert "is new in prod" in str(step_of(first, "fct_orders")["method_note"])
    before = fingerprint(warehouse)

    second = gate(tmp_path, BATCH2, keep_audit=True)

    assert second.status == "published", second.error
    orders = step_of(second, "fct_orders")
    assert (orders["method"], orders["mode"]) == ("merge", "transaction")
    inserted, updated = int(orders["merged_inserted"]), int(orders["merged_updated"])  # type: ignore[call-overload]
    assert inserted > 0
    assert updated >= 0
    others = [step for step in second.published if step["kind"] == "table" and step is not orders]
    assert {step["method"] for step in others} == {"replace"}
    audit_schema = str(orders["audit_schema"])
    engine = DuckDBEngine(warehouse)
    try:
        prod, audit = '"marts"."fct_orders"', f'"{audit_schema}"."fct_orders"'
        assert engine.query(f"select count(*) from (select * from {prod} except all select * from {audit})") == [(0,)]
        assert engine.query(f"select count(*) from (select * from {audit} except all select * from {prod})") == [(0,)]
        assert engine.query(f"select count(*) from {prod}") == [(orders["rows"],)]
        assert "order_id BIGINT NOT NULL" in engine.table_sql("marts", "fct_orders"), "it keeps its constraints"
        previous = before["marts.fct_orders"].split("|")[0]
        assert engine.table_sql("marts", "fct_orders") == previous
    finally:
        engine.close()

    engine = DuckDBEngine(warehouse)
    try:
        rollback_run(engine, last_published_run("local", tmp_path / "runs", engine))
    finally:
        engine.close()
    after = {k: v for k, v in fingerprint(warehouse).items() if k in before and not k.startswith("quality.")}
    assert after == {k: v for k, v in before.items() if not k.startswith("quality.")}


def test_a_full_refresh_that_lacks_a_prod_row_is_published_whole_and_says_why(tmp_path: Path, warehouse: Path) -> None:
    """A full refresh rebuilds fct_orders from the sources: a prod row they do not have (here one added by
    hand) would survive a MERGE, so the table is replaced whole, and the step says why."""
    assert gate(tmp_path, RAW).status == "published"
    engine = DuckDBEngine(warehouse)
    try:
        engine.execute(
            "insert into marts.fct_orders select * replace (-order_id as order_id) from marts.fct_orders limit 1"
        )
    finally:
        engine.close()

    refreshed = gate(tmp_path, RAW, full_refresh=("fct_orders",))

    assert refreshed.status == "published", refreshed.error
    orders = step_of(refreshed, "fct_orders")
    assert orders["method"] == "replace"
    assert "lacks 1 row(s) prod has (a full refresh?)" in str(orders["method_note"])
