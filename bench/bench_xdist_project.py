"""Benchmark: this repository's plugin-fixture tests of its dbt project (`dbt/`), serially vs `pytest -n 2`.

The selection is what a user of the retail project runs against its models through the plugin's fixtures:

    tests/integration/test_ci_lane.py        the `tag:ci` lane, built in the worker's own workspace (`dbt`)
    tests/integration/test_retail_models.py  the shared `dbt_build`, each model's GX suite (`gx`), `invariants`

Each round runs both modes, alternating which goes first, side by side in one run of this script and in this
repository's venv, after one untimed warm-up run of each (imports, dbt's partial-parse state, the OS file
cache):

    serial   pytest <selection>
    n2       pytest -n 2 <selection>        (`--dist loadgroup` from pyproject; one shared build)

Prints each run's wall time, the median per mode and the ratio serial / n2 (the speed-up of -n 2).

    uv run python bench/bench_xdist_project.py               # 5 rounds
    uv run python bench/bench_xdist_project.py --rounds 7

Run on demand, never in CI. Target on a 2-core machine: serial / n2 >= 1.6.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELECTION = ["tests/integration/test_ci_lane.py", "tests/integration/test_retail_models.py"]
MODES: dict[str, list[str]] = {"serial": [], "n2": ["-n", "2"]}
# Settings of this shell or of an outer pytest that must not leak into the runs measured.
LEAKING_PREFIXES = ("PYTEST_", "DBT_", "QUALITY_", "COV_CORE")
TARGET = 1.6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="runs of each mode (default 5)")
    args = parser.parse_args(argv)
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench_xdist_project_") as scratch:
        artifacts = Path(scratch) / "artifacts"
        expected = _collected()
        for flags in MODES.values():  # warm-up, not counted
            _run(flags, artifacts, expected)
        for round_number in range(1, args.rounds + 1):
            order = list(MODES) if round_number % 2 else list(reversed(MODES))
            for mode in order:
                elapsed = _run(MODES[mode], artifacts, expected)
                seconds[mode].append(elapsed)
                print(f"round {round_number}  {mode:6} {elapsed:6.1f} s", flush=True)
    medians = {mode: statistics.median(values) for mode, values in seconds.items()}
    print()
    print(f"selection: {' '.join(SELECTION)} ({expected} tests), {os.cpu_count()} cores, load {_load()}")
    for mode, values in seconds.items():
        print(f"{mode:6} median {medians[mode]:6.1f} s  runs {[round(value, 1) for value in values]}")
    print(f"ratio serial / n2  {medians['serial'] / medians['n2']:.2f}  (target >= {TARGET})")
    return 0


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(LEAKING_PREFIXES)}


def _collected() -> int:
    """How many tests the selection holds: every timed run must pass exactly these."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only", *SELECTION]
    result = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, check=False)
    found = re.search(r"(\d+) tests? collected", result.stdout)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"collecting {' '.join(SELECTION)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return int(found.group(1))


def _run(flags: list[str], artifacts: Path, expected: int) -> float:
    """Wall time of one pytest run of the selection, from start to exit; it must pass every test."""
    shutil.rmtree(artifacts, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--artifacts-dir",
        str(artifacts),
        *flags,
        *SELECTION,
    ]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or f"{expected} passed" not in result.stdout:
        raise SystemExit(f"pytest {' '.join(flags)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return elapsed


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
