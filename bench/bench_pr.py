"""Benchmark: `quality pr` (the data change review) against one `quality gate` build of the same project.

This repository's dbt project and raw fixtures are copied into a fresh git repository (the review compares
git revisions), one staging model gets a harmless comment, and each round runs, side by side:

    gate        quality gate --fixtures tests/fixtures/raw --no-publish   (one audit build, tests and GX)
    pr_cold     quality pr --base HEAD --no-cache   (base built twice, both batches, then the working tree)
    pr_warm     quality pr --base HEAD              (the base build reused from the cache)

Prints each run, the median per mode and the ratios to the gate.

    uv run python bench/bench_pr.py               # 3 rounds
    uv run python bench/bench_pr.py --rounds 5

Target on a 2-core machine (issue 16): pr / gate <= 2.5.
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
MODES: dict[str, list[str]] = {
    "gate": ["gate", "--fixtures", "tests/fixtures/raw", "--no-publish"],
    "pr_cold": ["pr", "--base", "HEAD", "--no-cache"],
    "pr_warm": ["pr", "--base", "HEAD"],
}
LEAKING_PREFIXES = ("PYTEST_", "DBT_", "QUALITY_", "COV_CORE")
IDENTITY = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_pr_") as scratch:
        repo = _repository(Path(scratch) / "retail")
        _run(repo, MODES["pr_warm"])  # warm-up, not counted: imports, partial parse, the OS file cache, the cache
        seconds = alternating_rounds(list(MODES), args.rounds, lambda mode: (_run(repo, MODES[mode]), ""))
    medians = print_medians(seconds)
    print(f"ratio pr_cold / gate  {medians['pr_cold'] / medians['gate']:.2f}")
    print(f"ratio pr_warm / gate  {medians['pr_warm'] / medians['gate']:.2f}")
    return 0


def _repository(root: Path) -> Path:
    shutil.copytree(ROOT / "dbt", root / "dbt", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    for batch in ("raw", "raw_batch2"):
        shutil.copytree(ROOT / "tests" / "fixtures" / batch, root / "tests" / "fixtures" / batch)
    (root / ".gitignore").write_text(".quality/\nartifacts/\n", encoding="utf-8")
    for args in (["init", "--quiet", "--initial-branch", "main"], [*IDENTITY, "add", "--all"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    subprocess.run(["git", *IDENTITY, "commit", "--quiet", "-m", "feat: the project"], cwd=root, check=True)
    model = root / "dbt" / "models" / "staging" / "stg_orders.sql"
    model.write_text("-- a harmless comment\n" + model.read_text(encoding="utf-8"), encoding="utf-8")
    return root


def _run(repo: Path, command: list[str]) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEAKING_PREFIXES)}
    env["QUALITY_DUCKDB_PATH"] = str(repo / ".quality" / "warehouse.duckdb")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "quality.cli", *command, "--project-dir", "dbt"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"quality {' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return elapsed


if __name__ == "__main__":
    raise SystemExit(main())
