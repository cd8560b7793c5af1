"""`quality fidelity` on this project, measured (run on demand, never in CI): target <= 60 s on 2 cores.

Side by side in one run: the whole fidelity run (two batches on two engines, plus the comparison), each
engine's builds, and so the ratio of the local Databricks endpoint's build time to DuckDB's; the peak
memory of the harness process and of the endpoint process (its own process, measured as a child).

    uv run python bench/bench_fidelity.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One fidelity run in a fresh process (dbt keeps state per process); prints its timings as JSON.
_ONE_RUN = """
import json, resource, sys, time
from pathlib import Path
from quality.emulator.activation import activate_for
from quality.fidelity.compare import Batches, run_fidelity
from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target

started = time.perf_counter()
project = load_project("dbt")
endpoint = activate_for("local_databricks", state_dir=None)
reference, candidate = resolve_target(project, "local"), resolve_target(project, "local_databricks")
report = run_fidelity(project, reference, candidate, Batches(Path("tests/fixtures/raw")), artifacts_root=Path(sys.argv[1]))
total = time.perf_counter() - started
endpoint.stop()
print(json.dumps({
    "total": total, "equal": report.equal, "relations": report.relations, "rows": report.rows,
    "seconds": report.seconds, "endpoint_start": endpoint.started_in_s,
    "harness_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "endpoint_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def one_run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as artifacts:
        result = subprocess.run(
            [sys.executable, "-c", _ONE_RUN, artifacts], cwd=ROOT, capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        raise SystemExit(f"fidelity run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    parsed: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for number in range(1, args.repeats + 1):
        started = time.perf_counter()
        run = one_run()
        runs.append(run)
        print(f"run {number}: {time.perf_counter() - started:.1f} s wall, equal={run['equal']}", flush=True)

    def median(pick: str) -> float:
        return statistics.median(float(r["seconds"][pick]) for r in runs)  # type: ignore[index]

    duckdb = median("batch 1 local") + median("batch 2 local")
    databricks = median("batch 1 local_databricks") + median("batch 2 local_databricks")
    total = statistics.median(float(r["total"]) for r in runs)  # type: ignore[arg-type]
    print(f"\nfidelity run (median of {args.repeats}): {total:.1f} s  (target <= 60 s: {total / 60:.2f}x of it)")
    print(
        f"  builds, two batches: DuckDB {duckdb:.1f} s, local Databricks endpoint {databricks:.1f} s "
        f"-> endpoint/DuckDB {databricks / duckdb:.2f}x"
    )
    print(
        f"  parse: {median('parse local') + median('parse local_databricks'):.1f} s, compare: {median('compare'):.1f} s, "
        f"endpoint start: {statistics.median(float(r['endpoint_start']) for r in runs):.1f} s"
    )  # type: ignore[arg-type]
    print(
        f"  peak RSS: harness {max(float(r['harness_rss_mb']) for r in runs):.0f} MB, "  # type: ignore[arg-type]
        f"endpoint {max(float(r['endpoint_rss_mb']) for r in runs):.0f} MB"
    )  # type: ignore[arg-type]
    print(f"  relations {runs[0]['relations']}, rows {runs[0]['rows']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
