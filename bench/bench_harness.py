"""Harness overhead, measured side by side in one run (run on demand, never in CI):

1. `quality gate --no-expectations` vs a raw `dbt build` of the same project on the same raw data
   (target ratio <= 1.15);
2. the integration suite with `-n 2` vs `-n 0` (target: -n 2 at least 1.6x faster), with --suite.

    uv run python bench/bench_harness.py [--orders 100000] [--repeats 3] [--suite]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

from bench.timing import timed_command

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_raw(path: Path, orders: int) -> None:
    from quality.engines.duckdb import DuckDBEngine
    from quality.harness.generate import load_generated

    engine = DuckDBEngine(path)
    load_generated(engine, "raw", orders, 42)
    engine.close()


def timed(command: list[str], env: dict[str, str]) -> float:
    return timed_command(command, ROOT, env)


def overhead(orders: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        raw_db, gate_db = Path(scratch, "dbt_build.duckdb"), Path(scratch, "gate.duckdb")
        load_raw(raw_db, orders)
        load_raw(gate_db, orders)
        base = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
        dbt = [
            sys.executable,
            "-m",
            "dbt.cli.main",
            "build",
            "--project-dir",
            "dbt",
            "--profiles-dir",
            "dbt",
            "--target-path",
            str(Path(scratch, "target")),
            "--log-path",
            str(Path(scratch, "logs")),
        ]
        gate = [
            sys.executable,
            "-m",
            "quality.cli",
            "gate",
            "--no-expectations",
            "--no-backup",
            "--artifacts-dir",
            str(Path(scratch, "runs")),
        ]
        raw_env, gate_env = {**base, "QUALITY_DUCKDB_PATH": str(raw_db)}, {**base, "QUALITY_DUCKDB_PATH": str(gate_db)}
        timed(dbt, raw_env)  # warm-up: first build creates the tables; later ones run incrementally, as in prod
        timed(gate, gate_env)  # warm-up: fills the prod parse cache
        raw_times, gate_times = [], []
        for _ in range(repeats):  # alternate so both see the same machine load
            raw_times.append(timed(dbt, raw_env))
            gate_times.append(timed(gate, gate_env))
        raw_median, gate_median = statistics.median(raw_times), statistics.median(gate_times)
        print(f"orders={orders} repeats={repeats}")
        print(f"raw dbt build               median {raw_median:6.2f}s  runs {[round(t, 2) for t in raw_times]}")
        print(f"quality gate (no GX)        median {gate_median:6.2f}s  runs {[round(t, 2) for t in gate_times]}")
        print(f"ratio gate / raw dbt build  {gate_median / raw_median:.2f}   (target <= 1.15)")


def timed_cpu(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and everything it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(command, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def suite() -> None:
    base = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    command = [sys.executable, "-m", "pytest", "tests/integration", "-q", "-p", "no:cacheprovider"]
    serial, serial_cpu = timed_cpu([*command, "-n", "0"], base)
    parallel, parallel_cpu = timed_cpu([*command, "-n", "2"], base)
    # -n 0 is not one core: dbt threads, DuckDB and the tests' subprocesses already overlap, so the
    # best -n 2 can do on 2 cores is the CPU seconds over 2.
    print(
        f"integration suite -n 0      {serial:6.1f}s wall  {serial_cpu:6.1f}s CPU ({serial_cpu / serial:.2f} cores busy)"
    )
    print(
        f"integration suite -n 2      {parallel:6.1f}s wall  {parallel_cpu:6.1f}s CPU ({parallel_cpu / parallel:.2f} cores busy)"
    )
    print(f"speed-up -n 2 vs -n 0       {serial / parallel:.2f}x  (target >= 1.6x)")
    bound = serial / max(serial_cpu / (os.cpu_count() or 1), 1e-9)
    print(
        f"bound on {os.cpu_count()} cores           {bound:.2f}x  (-n 0 wall / its CPU seconds spread over every core)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--suite", action="store_true", help="also time the integration suite -n 2 vs -n 0")
    args = parser.parse_args()
    overhead(args.orders, args.repeats)
    if args.suite:
        suite()


if __name__ == "__main__":
    main()
