"""The invariants planner on small hand-written manifests (no dbt run), and its checks on a DuckDB file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.invariants import plan_invariants, run_invariants
from quality.invariants.date_spine import judge_weekdays
from quality.invariants.model import Relation
from quality.invariants.planner import Plan, engine_columns
from quality.invariants.switches import InvariantConfigError

Columns = dict[str, dict[str, str]]


def node(
    name: str,
    sql: str,
    *,
    resource: str = "model",
    schema: str = "marts",
    depends: tuple[str, ...] = (),
    config: dict[str, Any] | None = None,
    raw: str | None = None,
    meta: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    materialized = "snapshot" if resource == "snapshot" else "table"
    settings = {"materialized": materialized, **(config or {}), "meta": meta or {}}
    return f"{resource}.shop.{name}", {
        "name": name,
        "resource_type": resource,
        "schema": schema,
        "alias": name,
        "config": settings,
        "raw_code": raw if raw is not None else sql,
        "compiled_code": sql,
        "depends_on": {"nodes": list(depends)},
    }


def unique_test(model: str, column: str) -> tuple[str, dict[str, Any]]:
    return f"test.shop.unique_{model}_{column}", {
        "name": f"unique_{model}_{column}",
        "resource_type": "test",
        "test_metadata": {"name": "unique"},
        "attached_node": f"model.shop.{model}",
        "column_name": column,
        "config": {},
    }


SOURCE = {
    "source.shop.raw.orders": {"name": "orders", "source_name": "raw", "schema": "raw", "identifier": "orders"},
}


def manifest(*nodes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"adapter_type": "duckdb"}, "nodes": dict(nodes), "sources": SOURCE}


def plan(columns: Columns, *nodes: tuple[str, dict[str, Any]], project_vars: dict[str, Any] | None = None) -> Plan:
    def lookup(relation: Relation) -> dict[str, str]:
        return columns.get(relation.name, {})

    return plan_invariants(manifest(*nodes), lookup, project_vars)


def planned(result: Plan) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(check.invariant, check.model, check.columns) for check in result.checks}


SNAPSHOT_COLUMNS = {
    "customer_id": "int64",
    "segment": "string",
    "_loaded_at": "timestamp[us]",
    "updated_at": "timestamp[us]",
    "dbt_scd_id": "string",
    "dbt_updated_at": "timestamp[us]",
    "valid_since": "timestamp[us]",
    "valid_until": "timestamp[us]",
}
STG = node(
    "stg_customers",
    'select customer_id, segment, _loaded_at, updated_at from "db"."raw"."customers"',
    schema="staging",
)


def snapshot(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    renamed = {"snapshot_meta_column_names": {"dbt_valid_from": "valid_since", "dbt_valid_to": "valid_until"}}
    return node(
        "snap_customers",
        'select * from "db"."staging"."stg_customers"',
        resource="snapshot",
        schema="snapshots",
        depends=("model.shop.stg_customers",),
        config={"unique_key": "customer_id", **renamed, **config},
    )


def test_a_snapshot_gets_every_scd2_invariant_with_its_renamed_meta_columns_and_load_time_left_out() -> None:
    columns = {"snap_customers": SNAPSHOT_COLUMNS, "stg_customers": {c: "x" for c in ("customer_id", "segment")}}
    result = plan(columns, STG, snapshot({"strategy": "check", "check_cols": ["segment", "_loaded_at"]}))
    assert planned(result) == {
        ("scd2_one_current_version", "snap_customers", ("customer_id", "valid_until")),
        ("scd2_no_overlap", "snap_customers", ("valid_since", "valid_until")),
        ("scd2_no_gaps", "snap_customers", ("valid_since", "valid_until")),
        ("scd2_no_identical_versions", "snap_customers", ("segment",)),
        ("scd2_current_matches_source", "snap_customers", ("segment",)),
    }


def test_the_timestamp_strategy_tracks_every_column_but_meta_key_updated_at_and_load_time() -> None:
    result = plan(
        {"snap_customers": SNAPSHOT_COLUMNS}, STG, snapshot({"strategy": "timestamp", "updated_at": "updated_at"})
    )
    assert ("scd2_no_identical_versions", "snap_customers", ("segment",)) in planned(result)
    # switched to the load time, the snapshot's updated_at column becomes tracked: unchanged rows are versions
    result = plan(
        {"snap_customers": SNAPSHOT_COLUMNS}, STG, snapshot({"strategy": "timestamp", "updated_at": "_loaded_at"})
    )
    assert ("scd2_no_identical_versions", "snap_customers", ("segment", "updated_at")) in planned(result)


DIM_SQL = (
    'with s as (select customer_id, segment, valid_since, valid_until from "db"."snapshots"."snap_customers") '
    "select customer_id, segment, valid_since as effective_from, valid_until as effective_to, "
    "valid_until is null as is_current from s"
)


def test_a_model_passing_a_snapshots_validity_through_is_an_scd2_dimension() -> None:
    dim = node("dim_customers", DIM_SQL, depends=("snapshot.shop.snap_customers",))
    columns = {
        "snap_customers": SNAPSHOT_COLUMNS,
        "dim_customers": {"customer_id": "int64", "segment": "string", "effective_from": "t", "effective_to": "t"},
    }
    result = plan(columns, STG, snapshot({"strategy": "timestamp", "updated_at": "updated_at"}), dim)
    assert {
        ("scd2_no_overlap", "dim_customers", ("effective_from", "effective_to")),
        ("scd2_no_identical_versions", "dim_customers", ("segment",)),
    } <= planned(result)
    current_only = node(
        "dim_current", DIM_SQL.replace("valid_until as effective_to, ", ""), depends=dim[1]["depends_on"]["nodes"]
    )
    result = plan({**columns, "dim_current": columns["dim_customers"]}, STG, snapshot({}), current_only)
    assert not [check for check in result.checks if check.model == "dim_current"]


DATE_COLUMNS = {"date_day": "date32[day]", "day_of_week": "int32", "is_weekend": "bool", "month_start": "date32[day]"}


def test_a_date_spine_is_found_with_its_ends_read_from_vars_and_weekday_columns() -> None:
    raw = "with spine as ({{ dbt_utils.date_spine('day', var('start'), \"cast('2031-01-01' as date)\") }}) select ..."
    dim = node("dim_date", "select date_day, 1 as day_of_week, true as is_weekend, date_day as month_start", raw=raw)
    result = plan({"dim_date": DATE_COLUMNS}, dim, project_vars={"start": "cast('2020-01-01' as date)"})
    assert planned(result) == {
        ("date_spine_contiguous", "dim_date", ("date_day",)),
        ("date_spine_bounds", "dim_date", ("date_day",)),
        ("date_spine_weekday", "dim_date", ("date_day", "day_of_week")),
        ("date_spine_weekday", "dim_date", ("date_day", "is_weekend")),
    }
    bounds = next(check for check in result.checks if check.invariant == "date_spine_bounds")
    assert "2020-01-01" in bounds.rule
    assert "2031-01-01" in bounds.rule


def test_a_fact_with_a_date_and_no_spine_is_no_calendar() -> None:
    fact = node("fct_orders", "select order_id, order_date, day_of_week from x")
    columns = {"fct_orders": {"order_id": "int64", "order_date": "date32[day]", "day_of_week": "int32"}}
    assert not [c for c in plan(columns, fact).checks if c.invariant.startswith("date_spine")]


@pytest.mark.parametrize(
    ("column", "numbering", "ok"),
    [
        ("day_of_week_iso", lambda d: d.isoweekday(), True),
        ("day_of_week_iso", lambda d: d.isoweekday() % 7 + 1, False),  # Sunday=1 under an ISO name
        ("day_of_week", lambda d: d.isoweekday() % 7 + 1, True),  # Spark's dayofweek
        ("weekday", lambda d: d.isoweekday() % 7, True),  # Sunday=0
        ("weekday", lambda d: 3, False),
        ("is_weekend", lambda d: d.isoweekday() >= 6, True),
        ("is_weekend", lambda d: d.isoweekday() % 7 + 1 >= 6, False),  # Friday and Saturday
        ("weekday_name", lambda d: d.strftime("%a"), True),
    ],
)
def test_weekday_numbering_is_judged_against_the_true_weekday(column: str, numbering: Any, ok: bool) -> None:
    days = [date(2024, 1, 1) + timedelta(days=offset) for offset in range(14)]
    wrong, _rule = judge_weekdays(column, [(day, numbering(day)) for day in days])
    assert (not wrong) == ok


STG_ORDERS = node(
    "stg_orders", 'select order_id, status, amount, order_date from "db"."raw"."orders"', schema="staging"
)
CASE = "case when status in ('returned', 'cancelled') then 'lost' else 'kept' end"
ORDER_COLUMNS = {"order_id": "int64", "category": "string"}


def test_a_category_computed_in_two_models_is_compared_on_their_shared_unique_key() -> None:
    first = node("fct_orders", f'select order_id, {CASE} as category from "db"."staging"."stg_orders"')
    second = node(
        "fct_returns",
        f'with o as (select order_id, status from "db"."staging"."stg_orders") select order_id, {CASE} as order_class from o',
    )
    columns = {"fct_orders": ORDER_COLUMNS, "fct_returns": {"order_id": "int64", "order_class": "string"}}
    result = plan(columns, STG_ORDERS, first, second, unique_test("fct_orders", "order_id"))
    (check,) = [c for c in result.checks if c.invariant == "derived_columns_agree"]
    assert check.columns == ("category", "order_class")
    assert "computed from the same expression" in check.rule
    assert "order_id" in check.rule
    # no column unique in either model: nothing to join on, nothing planned
    result = plan(columns, STG_ORDERS, first, second)
    assert not [c for c in result.checks if c.invariant == "derived_columns_agree"]


def test_the_same_name_from_the_same_source_column_is_compared_even_when_the_expressions_differ() -> None:
    first = node("fct_orders", f'select order_id, {CASE} as category from "db"."staging"."stg_orders"')
    other = CASE.replace("'returned', ", "")
    second = node("fct_lines", f'select order_id, {other} as category from "db"."staging"."stg_orders"')
    columns = {"fct_orders": ORDER_COLUMNS, "fct_lines": ORDER_COLUMNS}
    result = plan(columns, STG_ORDERS, first, second, unique_test("fct_orders", "order_id"))
    (check,) = [c for c in result.checks if c.invariant == "derived_columns_agree"]
    assert "the same source column(s) (raw.orders.status)" in check.rule


AMOUNTS = {"amount": "decimal128(18, 2)", "order_date": "date32[day]"}


@pytest.mark.parametrize(
    ("sql", "config", "expected"),
    [
        ("select cast(amount as decimal(18, 2)) as amount, order_date from {stg}", {}, True),
        ("select amount / 100 as amount, order_date from {stg}", {}, True),  # keeps its name: keeps its meaning
        ("select amount * 2 as doubled, order_date from {stg}", {}, False),
        ("select amount, order_date from {stg} where amount > 0", {}, False),  # filtered
        ("select amount, order_date from {stg}", {"materialized": "incremental"}, False),
        ("select sum(amount) as amount, order_date from {stg} group by order_date", {}, True),
        ("select max(amount) as amount, order_date from {stg} group by order_date", {}, False),
    ],
)
def test_measures_are_reconciled_only_through_hops_that_keep_the_total(
    sql: str, config: dict[str, Any], expected: bool
) -> None:
    columns = {
        "stg_orders": AMOUNTS,
        "fct_sales": {"amount": "decimal128(18, 2)", "order_date": "date32[day]"},
        "orders": AMOUNTS,
    }
    mart = node("fct_sales", sql.format(stg='"db"."staging"."stg_orders"'), config=config)
    checks = [c for c in plan(columns, STG_ORDERS, mart).checks if c.model == "fct_sales"]
    assert bool(checks) == expected
    if expected:
        assert "per day of order_date" in checks[0].rule


def test_a_switch_off_needs_a_reason_and_a_known_invariant() -> None:
    columns = {"fct_sales": AMOUNTS, "stg_orders": AMOUNTS}
    sql = 'select amount, order_date from "db"."staging"."stg_orders"'
    meta = {"quality": {"invariants": {"off": ["measures_reconcile"]}}}
    with pytest.raises(
        InvariantConfigError, match=r"model fct_sales: .*switches off measures_reconcile without a reason"
    ):
        plan(columns, STG_ORDERS, node("fct_sales", sql, meta=meta))
    meta = {"quality": {"invariants": {"false": ["measures_reconcile"]}}}  # `off:` as YAML 1.1 reads it
    with pytest.raises(InvariantConfigError, match="without a reason"):
        plan(columns, STG_ORDERS, node("fct_sales", sql, meta=meta))
    meta = {"quality": {"invariants": {"off": ["measure_reconcile"], "reason": "typo"}}}
    with pytest.raises(InvariantConfigError, match="unknown invariant"):
        plan(columns, STG_ORDERS, node("fct_sales", sql, meta=meta))
    meta = {"quality": {"invariants": {"off": ["measures"], "reason": "amounts are cents upstream"}}}
    result = plan(columns, STG_ORDERS, node("fct_sales", sql, meta=meta))
    assert not [c for c in result.checks if c.model == "fct_sales"]
    assert result.skipped == ["measures_reconcile on fct_sales: switched off by fct_sales: amounts are cents upstream"]


def test_scd2_checks_find_overlaps_gaps_identical_versions_and_stale_current_rows_on_duckdb(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    try:
        engine.execute("create schema staging; create schema snapshots")
        engine.execute(
            "create table staging.stg_customers as select * from (values (1, 'a', timestamp '2024-01-03', "
            "timestamp '2024-01-03'), (2, 'z', timestamp '2024-01-01', timestamp '2024-01-01')) "
            "as t(customer_id, segment, _loaded_at, updated_at)"
        )
        engine.execute(
            "create table snapshots.snap_customers as select *, 'id' as dbt_scd_id, updated_at as dbt_updated_at "
            "from (values "
            "(1, 'a', timestamp '2024-01-01', timestamp '2024-01-01', timestamp '2024-01-01', timestamp '2024-01-02'),"
            "(1, 'a', timestamp '2024-01-03', timestamp '2024-01-03', timestamp '2024-01-03', null),"  # gap, identical
            "(2, 'x', timestamp '2024-01-01', timestamp '2024-01-01', timestamp '2024-01-01', null),"
            "(2, 'y', timestamp '2024-01-02', timestamp '2024-01-02', timestamp '2024-01-02', null)"  # 2 current
            ") as t(customer_id, segment, _loaded_at, updated_at, valid_since, valid_until)"
        )
        config = {"strategy": "timestamp", "updated_at": "updated_at"}
        result = run_invariants(engine, plan_invariants(manifest(STG, snapshot(config)), engine_columns(engine)))
        found = {f.invariant: f for f in result.findings}
        assert set(found) == {
            "scd2_one_current_version",
            "scd2_no_overlap",
            "scd2_no_gaps",
            "scd2_no_identical_versions",
            "scd2_current_matches_source",
        }, result.describe()
        assert found["scd2_no_gaps"].examples[0]["customer_id"] == 1
        assert found["scd2_one_current_version"].examples == [{"customer_id": 2, "current_versions": 2}]
        assert found["scd2_current_matches_source"].count == 2  # key 2 twice current, none equal to 'z'
        assert "on model snap_customers, column(s) segment" in found["scd2_no_identical_versions"].describe()
    finally:
        engine.close()
