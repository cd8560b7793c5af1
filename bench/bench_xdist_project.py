"""Benchmark: this repository's plugin-fixture tests of its dbt project (`dbt/`), serially vs `pytest -n 2`.

The selection is what a user of the retail project runs against its models through the plugin's fixtures:

    tests/integration/test_ci_lane.py        the `tag:ci` lane, built in the worker's own workspace (`dbt`)
    tests/integration/test_retail_models.py  the shared `dbt_build`, each model's GX suite (`gx`), `invariants`

Each round runs every mode, in alternating order, side by side in one run of this script, after one untimed
warm-up run of each (imports, dbt's partial-parse state, the OS file cache):

    serial   pytest <selection>
    n2       pytest -n 2 <selection>        (`--dist loadgroup` from pyproject; one shared build)

With `--repo` (repeatable) the modes run in each checkout named, with its own venv (`<repo>/.venv`), e.g.
a checkout of the commit before a change beside this one: both see the same machine load. Prints each run's
wall and CPU seconds (user + system of pytest and every process it started), the medians per mode, the
ratio serial / n2 (the speed-up of -n 2) and the CPU seconds -n 2 adds (second imports, xdist). On a machine
whose cores are busy with other work, -n 2 finds no idle core and the wall ratio tells little; the CPU
seconds still show what -n 2 costs.

    uv run python bench/bench_xdist_project.py                                  # 5 rounds, this checkout
    uv run python bench/bench_xdist_project.py --rounds 3 --repo ../before --repo .
    uv run python bench/bench_xdist_project.py --suite --rounds 1 --no-warm-up  # the whole test suite

`--suite` measures what README command 2 runs, the repository's whole test suite (pyproject's testpaths),
instead of the selection; with the pre-commit mirror settings of `.ci/run` in the environment (GIT_CONFIG_*,
PRE_COMMIT_HOME), as its hook tests need them. Paths given as arguments replace the selection.

Run on demand, never in CI. Target on an otherwise idle 2-core machine: serial / n2 >= 1.6.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELECTION = ["tests/integration/test_ci_lane.py", "tests/integration/test_retail_models.py"]
MODES: dict[str, list[str]] = {"serial": [], "n2": ["-n", "2"]}
# Settings of this shell or of an outer pytest that must not leak into the runs measured.
LEAKING_PREFIXES = ("PYTEST_", "DBT_", "QUALITY_", "COV_CORE")
TARGET = 1.6


@dataclass(frozen=True)
class Mode:
    repo: Path
    name: str
    flags: list[str]
    label: str

    @property
    def python(self) -> str:
        venv = self.repo / ".venv" / "bin" / "python"
        return str(venv) if venv.is_file() else sys.executable


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="runs of each mode (default 5)")
    parser.add_argument("--repo", type=Path, action="append", help="a checkout to measure (default: this one)")
    parser.add_argument("--suite", action="store_true", help="the whole test suite (README command 2's)")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false", help="no untimed run first")
    parser.add_argument("--first", choices=list(MODES), default="serial", help="the mode run first in round 1")
    parser.add_argument("paths", nargs="*", help="tests to run instead of the selection")
    args = parser.parse_args(argv)
    selection = [] if args.suite else args.paths or SELECTION
    repos = [repo.resolve() for repo in args.repo or [ROOT]]
    order = sorted(MODES, key=lambda name: name != args.first)
    modes = [
        Mode(repo, name, MODES[name], name if len(repos) == 1 else f"{repo.name}:{name}")
        for repo in repos
        for name in order
    ]
    wall: dict[str, list[float]] = {mode.label: [] for mode in modes}
    cpu: dict[str, list[float]] = {mode.label: [] for mode in modes}
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="bench_xdist_project_") as scratch:
        artifacts = Path(scratch) / "artifacts"
        expected = {repo: _collected(repo, _python(repo), selection) for repo in repos}
        for mode in modes if args.warm_up else ():  # warm-up, not counted
            _run(mode, artifacts, expected[mode.repo], selection)
        for round_number in range(1, args.rounds + 1):
            for mode in modes if round_number % 2 else list(reversed(modes)):
                seconds, cpu_seconds = _run(mode, artifacts, expected[mode.repo], selection)
                wall[mode.label].append(seconds)
                cpu[mode.label].append(cpu_seconds)
                print(
                    f"round {round_number}  {mode.label:24} {seconds:6.1f} s wall  {cpu_seconds:6.1f} s CPU", flush=True
                )
    print()
    described = " ".join(selection) or "the whole suite"
    print(f"selection: {described}; {os.cpu_count()} cores; load before {load_before}, after {_load()}")
    for mode in modes:
        print(
            f"{mode.label:24} median {statistics.median(wall[mode.label]):6.1f} s wall "
            f"{statistics.median(cpu[mode.label]):6.1f} s CPU  runs {[round(v, 1) for v in wall[mode.label]]}"
        )
    for repo in repos:
        serial, n2 = (next(m.label for m in modes if m.repo == repo and m.name == name) for name in ("serial", "n2"))
        ratio = statistics.median(wall[serial]) / statistics.median(wall[n2])
        extra = statistics.median(cpu[n2]) - statistics.median(cpu[serial])
        print(f"{repo.name}: ratio serial / n2 {ratio:.2f} (target >= {TARGET}); -n 2 adds {extra:+.1f} s CPU")
    return 0


def _python(repo: Path) -> str:
    return Mode(repo, "", [], "").python


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(LEAKING_PREFIXES)}


def _collected(repo: Path, python: str, selection: Sequence[str]) -> int:
    """How many tests the selection holds: every timed run must pass exactly these."""
    command = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only", *selection]
    result = subprocess.run(command, cwd=repo, env=_env(), capture_output=True, text=True, check=False)
    found = re.search(r"(\d+)(?:/\d+)? tests? collected", result.stdout)  # "1235/1240 tests collected" when deselected
    if result.returncode != 0 or found is None:
        raise SystemExit(f"collecting in {repo} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return int(found.group(1))


def _run(mode: Mode, artifacts: Path, expected: int, selection: Sequence[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one pytest run of the selection, from start to exit; it must pass every test."""
    shutil.rmtree(artifacts, ignore_errors=True)
    command = [mode.python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--artifacts-dir", str(artifacts)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [*command, *mode.flags, *selection], cwd=mode.repo, env=_env(), capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0 or f"{expected} passed" not in result.stdout:
        raise SystemExit(f"{mode.label} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
