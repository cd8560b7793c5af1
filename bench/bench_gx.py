"""GX validation (quality.expectations.validate) vs the same checks in hand-written SQL, side by side.

Builds an `fct_order_lines`-shaped table (default 10 M rows) and its `fct_orders` in a temporary DuckDB
file, then times, alternating, `validate_models` and plain SQL for six checks: not-null key, unique
compound key, values between, value set, row count, and a reconciliation `unexpected_rows` query.
Prints the median of each and their ratio (target: GX <= 1.5 x hand SQL), plus per-check SQL times;
`--declared` also times GX validating every expectation as declared (no violation queries).

    uv run python bench/bench_gx.py [--rows 10000000] [--repeat 3] [--declared]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

SCHEMA = "bench_marts"
STATUSES = ("placed", "shipped", "returned")
LINES_PER_ORDER = 4

BUILD_SQL = f"""
create schema {SCHEMA};
create table {SCHEMA}.fct_order_lines as
select
    range // {LINES_PER_ORDER} as order_id,
    range % {LINES_PER_ORDER} + 1 as line_no,
    (range * 7919) % 50000 as product_id,
    cast(((range * 31) % 9900 + 100) / 100.0 as decimal(18, 2)) as amount,
    ['placed', 'shipped', 'returned'][range % 3 + 1] as status,
    date '2026-01-01' + cast(range % 365 as integer) as order_date
from range({{rows}});
create table {SCHEMA}.fct_orders as
select order_id, sum(amount) as order_total from {SCHEMA}.fct_order_lines group by order_id;
"""

RECONCILIATION = (
    "select o.order_id, o.order_total, l.lines_total from {ref:fct_orders} o join ("
    "select order_id, sum(amount) as lines_total from {batch} group by order_id"
    ") l on l.order_id = o.order_id where o.order_total <> l.lines_total"
)

HAND_SQL = {
    "not_null order_id": f"select count(*) from {SCHEMA}.fct_order_lines where order_id is null",
    "unique (order_id, line_no)": (
        f"select count(*) from (select order_id, line_no from {SCHEMA}.fct_order_lines "
        "group by order_id, line_no having count(*) > 1)"
    ),
    "amount between 0 and 10000": (f"select count(*) from {SCHEMA}.fct_order_lines where amount < 0 or amount > 10000"),
    "status in set": (
        f"select count(*) from {SCHEMA}.fct_order_lines where status not in ('placed', 'shipped', 'returned')"
    ),
    "row count": f"select count(*) from {SCHEMA}.fct_order_lines",
    "reconciliation": (
        f"select count(*) from ({RECONCILIATION})".replace("{ref:fct_orders}", f"{SCHEMA}.fct_orders").replace(
            "{batch}", f"{SCHEMA}.fct_order_lines"
        )
    ),
}


def node(name: str, expectations: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    meta = {"quality": {"expectations": expectations}} if expectations else {}
    return {
        "unique_id": f"model.bench.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": "bench",
        "database": "warehouse",
        "schema": SCHEMA,
        "alias": name,
        "relation_name": f'"warehouse"."{SCHEMA}"."{name}"',
        "config": {"meta": meta},
        "meta": meta,
        "columns": {column: {"name": column, "meta": {}} for column in columns},
    }


def bench_manifest() -> dict[str, Any]:
    expectations: list[dict[str, Any]] = [
        {"expectation": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
        {"expectation": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["order_id", "line_no"]}},
        {
            "expectation": "expect_column_values_to_be_between",
            "kwargs": {"column": "amount", "min_value": 0, "max_value": 10000},
        },
        {
            "expectation": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "status", "value_set": list(STATUSES)},
        },
        {"expectation": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"expectation": "unexpected_rows", "query": RECONCILIATION},
    ]
    columns = ["order_id", "line_no", "product_id", "amount", "status", "order_date"]
    lines = node("fct_order_lines", expectations, columns)
    orders = node("fct_orders", [], ["order_id", "order_total"])
    return {"nodes": {lines["unique_id"]: lines, orders["unique_id"]: orders}, "sources": {}}


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--declared", action="store_true", help="also time GX without violation queries")
    args = parser.parse_args()

    import_s, _ = timed(lambda: __import__("quality.expectations.validate"))
    from quality.expectations.spec import check_suites
    from quality.expectations.validate import format_failures, validate_models

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warehouse.duckdb"
        with duckdb.connect(str(path)) as connection:
            build_s, _ = timed(lambda: connection.execute(BUILD_SQL.replace("{rows}", str(args.rows))))
        manifest = bench_manifest()
        suites = check_suites(manifest)
        url = f"duckdb:///{path}"

        def run_gx(pushdown: bool = True) -> Any:
            return validate_models(suites, manifest, url, data_docs_dir=None, run_name="bench", pushdown=pushdown)

        def run_sql() -> dict[str, float]:
            with duckdb.connect(str(path)) as connection:
                return {name: timed(_query(connection, sql))[0] for name, sql in HAND_SQL.items()}

        report = run_gx()  # warm-up (and correctness: every check must pass on this data)
        if not report.ok or len(report.results) != len(HAND_SQL):
            raise SystemExit(f"GX run is not clean:\n{format_failures(report)}\n{report.results}")
        run_sql()
        gx_times, declared_times, sql_times, per_check = [], [], [], []
        for _ in range(args.repeat):
            gx_times.append(timed(run_gx)[0])
            sql_s, checks = timed(run_sql)
            sql_times.append(sql_s)
            per_check.append(checks)
            if args.declared:
                declared_times.append(timed(lambda: run_gx(pushdown=False))[0])

    gx_s, sql_s = statistics.median(gx_times), statistics.median(sql_times)
    print(f"rows: {args.rows:,}  build: {build_s:.2f} s  GX import: {import_s:.2f} s (once per process)")
    print(f"GX validate_models (6 checks, median of {args.repeat}): {gx_s:.2f} s  runs: {_fmt(gx_times)}")
    print(f"hand-written SQL   (6 checks, median of {args.repeat}): {sql_s:.2f} s  runs: {_fmt(sql_times)}")
    print(f"ratio GX / SQL: {gx_s / sql_s:.2f} (target <= 1.5)")
    if declared_times:
        declared_s = statistics.median(declared_times)
        print(f"GX as declared, pushdown=False (median): {declared_s:.2f} s  runs: {_fmt(declared_times)}")
        print(f"ratio GX as declared / SQL: {declared_s / sql_s:.2f}")
    for name in HAND_SQL:
        print(f"  sql {name:<28} {statistics.median(run[name] for run in per_check):.3f} s")
    return 0


def _query(connection: duckdb.DuckDBPyConnection, sql: str) -> Callable[[], Any]:
    return lambda: connection.execute(sql).fetchall()


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    raise SystemExit(main())
