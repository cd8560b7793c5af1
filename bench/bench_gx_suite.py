"""GX validation of the project's own fct_order_lines suite vs hand-written SQL of the same ten checks.

Generates N orders of raw data (default 1e7) into a temporary DuckDB file, builds the project there with
dbt (no tests), then times, alternating, `validate_models` on the suite declared in
dbt/models/marts/facts/_facts.yml and the same checks written by hand. Prints medians and the ratio
(target: GX <= 1.5 x hand SQL). `bench/bench_gx.py` does the same on a synthetic table in seconds.

    uv run python bench/bench_gx_suite.py [--orders 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LINES = "marts.fct_order_lines"
# Each query counts the rows that break one expectation of the suite (0 everywhere on generated data).
HAND_SQL = {
    "one line per raw order line": f"""
        select count(*) from (select count(*) as n from {LINES}) as f
        cross join (select count(*) as n from raw.order_lines) as s where f.n <> s.n""",
    "unique (order_id, line_number)": f"""
        select count(*) from (select order_id, line_number from {LINES}
        group by order_id, line_number having count(*) > 1)""",
    "net = gross - discount": f"select count(*) from {LINES} where net_amount <> gross_amount - discount_amount",
    "newest order date": f"""
        select count(*) from (select max(order_date) as newest from {LINES}) as f
        cross join (select max(cast(ordered_at as date)) as newest from raw.orders) as s
        where f.newest is null or f.newest < s.newest""",
    "customer version of the order": f"""
        select count(*) from {LINES} as l inner join marts.fct_orders as o on l.order_id = o.order_id
        where l.customer_key <> o.customer_key""",
    "customer_key not null": f"select count(*) from {LINES} where customer_key is null",
    "quantity 1..100": f"select count(*) from {LINES} where quantity < 1 or quantity > 100",
    "unit_price 0.01..10000": f"select count(*) from {LINES} where unit_price < 0.01 or unit_price > 10000",
    "discount_amount >= 0": f"select count(*) from {LINES} where discount_amount < 0",
    "net_amount >= 0": f"select count(*) from {LINES} where net_amount < 0",
}


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def build(folder: Path, orders: int) -> tuple[Path, dict[str, Any], float, float]:
    from quality.dbt.project import load_project
    from quality.dbt.runner import DbtInvoker
    from quality.dbt.targets import resolve_target
    from quality.engines.duckdb import DuckDBEngine
    from quality.harness.generate import load_generated

    path = folder / "warehouse.duckdb"
    os.environ["QUALITY_DUCKDB_PATH"] = str(path)
    engine = DuckDBEngine(path)
    generate_s, _ = timed(lambda: load_generated(engine, "raw", orders, 42))
    engine.close()
    project = load_project(ROOT / "dbt")
    dbt = DbtInvoker(project, resolve_target(project, "local"), folder / "target", quiet=True)
    build_s, run = timed(
        lambda: dbt.run(["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"])
    )
    return path, run.manifest(), generate_s, build_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from quality.expectations.spec import check_suites
    from quality.expectations.validate import format_failures, validate_models

    with tempfile.TemporaryDirectory() as scratch:
        path, manifest, generate_s, build_s = build(Path(scratch), args.orders)
        suites = [suite for suite in check_suites(manifest) if suite.name == "fct_order_lines"]
        checks = sum(len(suite.specs) for suite in suites)
        if checks != len(HAND_SQL):
            raise SystemExit(f"the suite has {checks} expectations, HAND_SQL {len(HAND_SQL)}: keep them in step")
        url = f"duckdb:///{path}"

        def run_gx() -> Any:
            return validate_models(suites, manifest, url, data_docs_dir=None, run_name="bench")

        def run_sql() -> dict[str, float]:
            with duckdb.connect(str(path)) as connection:
                counts = {
                    name: timed(lambda sql=sql: connection.execute(sql).fetchall()) for name, sql in HAND_SQL.items()
                }
            broken = {name: rows for name, (_s, rows) in counts.items() if rows != [(0,)]}
            if broken:
                raise SystemExit(f"hand SQL finds violations on generated data: {broken}")
            return {name: seconds for name, (seconds, _rows) in counts.items()}

        report = run_gx()  # warm-up, and correctness: every check passes on generated data
        if not report.ok:
            raise SystemExit(f"GX run is not clean:\n{format_failures(report)}")
        run_sql()
        gx_times, sql_times, per_check = [], [], []
        for _ in range(args.repeat):  # alternate, so both see the same machine load
            gx_times.append(timed(run_gx)[0])
            sql_s, by_check = timed(run_sql)
            sql_times.append(sql_s)
            per_check.append(by_check)
        with duckdb.connect(str(path)) as connection:
            lines = connection.execute(f"select count(*) from {LINES}").fetchone()

    gx_s, sql_s = statistics.median(gx_times), statistics.median(sql_times)
    print(f"orders: {args.orders:,}  fct_order_lines rows: {lines[0] if lines else 0:,}")
    print(f"generate raw: {generate_s:.1f} s  dbt build (no tests): {build_s:.1f} s")
    print(f"GX validate_models ({checks} checks, median of {args.repeat}): {gx_s:.2f} s  runs: {_fmt(gx_times)}")
    print(f"hand-written SQL   ({checks} checks, median of {args.repeat}): {sql_s:.2f} s  runs: {_fmt(sql_times)}")
    print(f"ratio GX / SQL: {gx_s / sql_s:.2f} (target <= 1.5)")
    for name in HAND_SQL:
        print(f"  sql {name:<32} {statistics.median(run[name] for run in per_check):.3f} s")
    return 0


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    raise SystemExit(main())
