"""`quality gate` on the local Databricks endpoint vs on DuckDB, measured side by side in one run (on demand,
never in CI): target local_databricks <= 2x DuckDB.

Each round runs, for each engine in turn, two gates of this project on the raw fixtures in a fresh working
folder (its own prod, `.quality/` caches and run folders): the first publishes into an empty prod, the
second onto the first's (incremental merge, snapshot, clone of prod state, publish over existing tables).
The local_databricks gate starts its endpoint itself (`quality gate --target local_databricks`), so its
time includes the endpoint's start, as a user's run does. `--repo` measures another checkout of this
project (e.g. main) with the same script, so a branch and its base can be compared in one run.

    uv run python bench/bench_gate_engines.py [--repeats 2] [--repo PATH ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.timing import timed_command

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("local", "local_databricks")


def gate(repo: Path, target: str, folder: Path) -> float:
    """One `quality gate` run in `folder` (its working directory), in seconds; exits on a failed gate."""
    command = [
        str(repo / ".venv" / "bin" / "quality"),
        "gate",
        "--target",
        target,
        "--project-dir",
        str(repo / "dbt"),
        "--profiles-dir",
        str(repo / "dbt"),
        "--fixtures",
        str(repo / "tests" / "fixtures" / "raw"),
        "--artifacts-dir",
        str(folder / "runs"),
    ]
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DATABRICKS_", "DBT_"))}
    environment |= {"DO_NOT_TRACK": "1", "QUALITY_DUCKDB_PATH": str(folder / "prod.duckdb")}
    return timed_command(command, folder, environment)


def one_round(repo: Path) -> dict[str, list[float]]:
    """Per engine: the first gate (empty prod) and the second (onto the first's prod), in seconds."""
    times: dict[str, list[float]] = {}
    for target in ENGINES:
        with tempfile.TemporaryDirectory(prefix=f"bench-gate-{target}-") as scratch:
            times[target] = [gate(repo, target, Path(scratch)) for _ in range(2)]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="rounds; medians are reported")
    parser.add_argument(
        "--repo", type=Path, action="append", help="checkout(s) to measure, alternating per round (default: this one)"
    )
    args = parser.parse_args()
    repos = [path.resolve() for path in args.repo] if args.repo else [ROOT]
    results: dict[Path, list[dict[str, list[float]]]] = {repo: [] for repo in repos}
    for number in range(1, args.repeats + 1):
        for repo in repos:
            times = one_round(repo)
            results[repo].append(times)
            shown = ", ".join(f"{t} {times[t][0]:.1f} + {times[t][1]:.1f} s" for t in ENGINES)
            print(f"round {number} {repo}: {shown}", flush=True)
    print()
    for repo, rounds in results.items():
        first = {t: statistics.median(r[t][0] for r in rounds) for t in ENGINES}
        second = {t: statistics.median(r[t][1] for r in rounds) for t in ENGINES}
        duckdb, databricks = first["local"] + second["local"], first["local_databricks"] + second["local_databricks"]
        print(f"{repo} (median of {len(rounds)} rounds):")
        print(
            f"  first gate (empty prod): DuckDB {first['local']:.1f} s, local_databricks "
            f"{first['local_databricks']:.1f} s -> {first['local_databricks'] / first['local']:.2f}x"
        )
        print(
            f"  second gate (onto prod): DuckDB {second['local']:.1f} s, local_databricks "
            f"{second['local_databricks']:.1f} s -> {second['local_databricks'] / second['local']:.2f}x"
        )
        print(f"  both: DuckDB {duckdb:.1f} s, local_databricks {databricks:.1f} s -> {databricks / duckdb:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
