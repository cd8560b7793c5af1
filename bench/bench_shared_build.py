"""Benchmark: `pytest` serially vs `pytest -n 2` on a small dbt project, with one build shared by the workers.

A copy of tests/fixtures/sample_project gets what `quality init` writes (its example test included) plus
two more tests that read the build, so four tests read one build. Each round runs, side by side in one
run of this script and in this repository's venv:

    serial        pytest
    n2            pytest -n 2                      (the workers share one read-only build)
    n2_per_worker pytest -n 2 --build-per-worker   (each worker builds the whole project, as before)

and counts the `dbt build` invocations of each run in dbt's own logs. Prints each run, the median per
mode, the ratios to serial and the builds per run.

    uv run python bench/bench_shared_build.py               # 3 rounds
    uv run python bench/bench_shared_build.py --rounds 5

Target on a 2-core machine: n2 / serial <= 1.0 and exactly one build per run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.timing import alternating_rounds, print_medians

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "sample_project"
MODES: dict[str, list[str]] = {
    "serial": [],
    "n2": ["-n", "2"],
    "n2_per_worker": ["-n", "2", "--build-per-worker"],
}
READERS = """
def test_every_customer_has_a_row(ephemeral_schema, dbt_build):
    rows = ephemeral_schema.engine.query(f'select count(*) from "{ephemeral_schema.base}_marts".customers')
    assert rows[0][0] > 0


def test_orders_are_staged(ephemeral_schema, dbt_build):
    rows = ephemeral_schema.engine.query(f'select count(*) from "{ephemeral_schema.base}_staging".stg_orders')
    assert rows[0][0] > 0
"""
# Settings of this checkout or of an outer pytest that must not leak into the project under test.
LEAKING_PREFIXES = ("PYTEST_", "DBT_", "QUALITY_", "COV_CORE")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode (default 3)")
    args = parser.parse_args(argv)
    builds: dict[str, list[int]] = {mode: [] for mode in MODES}

    def one_run(mode: str) -> tuple[float, str]:
        elapsed, count = _run(project, MODES[mode])
        builds[mode].append(count)
        return elapsed, f"  dbt builds {count}"

    with tempfile.TemporaryDirectory(prefix="bench_shared_build_") as scratch:
        project = _project(Path(scratch) / "jaffle")
        _run(project, [])  # warm-up, not counted: imports, dbt's partial-parse state, the OS file cache
        seconds = alternating_rounds(list(MODES), args.rounds, one_run, width=14)
    medians = print_medians(seconds, 14, lambda mode: f"  builds per run {sorted(set(builds[mode]))}")
    print(f"ratio n2 / serial             {medians['n2'] / medians['serial']:.2f}")
    print(f"ratio n2_per_worker / serial  {medians['n2_per_worker'] / medians['serial']:.2f}")
    print(f"ratio n2 / n2_per_worker      {medians['n2'] / medians['n2_per_worker']:.2f}")
    return 0


def _project(root: Path) -> Path:
    """The sample project after `quality init`, with four tests that read the build."""
    from quality.onboarding import scaffold

    shutil.copytree(SAMPLE, root)
    (root / "pyproject.toml").write_text('[project]\nname = "jaffle"\nversion = "0.1.0"\n', encoding="utf-8")
    scaffold.apply(scaffold.plan(root, root))
    (root / "tests" / "test_readers.py").write_text(READERS, encoding="utf-8")
    return root


def _run(project: Path, flags: list[str]) -> tuple[float, int]:
    """Wall time of one pytest run and the `dbt build` invocations in its artifacts."""
    artifacts = project / "artifacts"
    shutil.rmtree(artifacts, ignore_errors=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEAKING_PREFIXES)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *flags]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or "4 passed" not in result.stdout:
        raise SystemExit(f"pytest {' '.join(flags)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    count = sum(log.read_text(encoding="utf-8").count("Command `cli build`") for log in artifacts.rglob("dbt.log"))
    return elapsed, count


if __name__ == "__main__":
    raise SystemExit(main())
