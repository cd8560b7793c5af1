"""Benchmark: generate N raw orders into a scratch DuckDB file, then run a full `dbt build` on it.

For each N (default 1e6 and 1e7) the generator and the build each run in their own child process,
so wall time and peak RSS (from `os.wait4`, the child's own rusage) are measured per step and per N.
Prints one line per step and the ratios between the largest and the smallest N.

    uv run python bench/bench_build.py                      # 1e6 and 1e7 orders
    uv run python bench/bench_build.py --orders 100000 1000000

Target on a 2-core machine: 1e7 orders build in under 2 minutes and under 4 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = ROOT / "dbt"
DEFAULT_ORDERS = (1_000_000, 10_000_000)
SEED = 42


@dataclass(frozen=True)
class Measurement:
    step: str
    orders: int
    seconds: float
    peak_rss_mb: float


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.child == "generate":
        return _generate(args.database, args.orders[0])
    if args.child == "build":
        return _build(args.database, args.work_dir)
    results: list[Measurement] = []
    for orders in sorted(args.orders):
        with tempfile.TemporaryDirectory(prefix="bench_build_") as scratch:
            work_dir = Path(scratch)
            database = work_dir / "warehouse.duckdb"
            for step in ("generate", "build"):
                measurement = _measure(step, orders, database, work_dir)
                results.append(measurement)
                print(
                    f"{step:8} {orders:>12,} orders  {measurement.seconds:8.1f} s  "
                    f"peak RSS {measurement.peak_rss_mb:8.0f} MB",
                    flush=True,
                )
    _print_ratios(results)
    return 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, nargs="+", default=list(DEFAULT_ORDERS), help="order counts")
    parser.add_argument("--child", choices=("generate", "build"), help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _measure(step: str, orders: int, database: Path, work_dir: Path) -> Measurement:
    command = [
        sys.executable,
        __file__,
        "--child",
        step,
        "--orders",
        str(orders),
        "--database",
        str(database),
        "--work-dir",
        str(work_dir),
    ]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{step} of {orders:,} orders failed with exit code {process.returncode}")
    return Measurement(step, orders, seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def _generate(database: Path, orders: int) -> int:
    from quality.engines.duckdb import DuckDBEngine
    from quality.harness.generate import load_generated

    engine = DuckDBEngine(database)
    engine.execute("set enable_progress_bar = false")
    try:
        counts = load_generated(engine, "raw", orders, SEED)
    finally:
        engine.close()
    print("         rows: " + ", ".join(f"{name} {rows:,}" for name, rows in counts.items()), flush=True)
    return 0


def _build(database: Path, work_dir: Path) -> int:
    from dbt.cli.main import dbtRunner

    os.environ["QUALITY_DUCKDB_PATH"] = str(database)
    result = dbtRunner().invoke(
        [
            "--quiet",
            "build",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(work_dir / "target"),
            "--log-path",
            str(work_dir / "logs"),
        ]
    )
    if result.exception is not None:
        raise result.exception
    return 0 if result.success else 1


def _print_ratios(results: list[Measurement]) -> None:
    counts = sorted({m.orders for m in results})
    if len(counts) < 2:
        return
    small, large = counts[0], counts[-1]
    by_key = {(m.step, m.orders): m for m in results}
    print(f"ratios {large:,} / {small:,} orders (x{large / small:g} data):")
    for step in ("generate", "build"):
        first, last = by_key[(step, small)], by_key[(step, large)]
        print(
            f"  {step:8} time x{last.seconds / first.seconds:.2f}  peak RSS x{last.peak_rss_mb / first.peak_rss_mb:.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
