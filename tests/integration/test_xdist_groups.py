"""The suite's `--dist loadgroup` (pyproject addopts) really keeps an `xdist_group` on one worker.

pytest 9.2 with xdist 3.8 drops the grouping silently (pytest-xdist#1386): every worker would then
rebuild the expensive module fixtures of tests/integration/test_gate.py and test_prod_lifecycle.py.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

GROUPED = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("shared_fixture")

@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    with open(f"worker_{n}.txt", "w") as handle:
        handle.write(os.environ["PYTEST_XDIST_WORKER"])
"""

UNGROUPED = """
import time

def test_a():
    time.sleep(0.3)

def test_b():
    time.sleep(0.3)
"""


def test_a_group_runs_on_one_worker_under_the_suites_dist_mode(pytester: pytest.Pytester) -> None:
    suite_options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]
    assert "--dist loadgroup" in suite_options["ini_options"]["addopts"]
    pytester.makepyfile(test_grouped=GROUPED, test_other=UNGROUPED)

    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=8)
    workers = {(pytester.path / f"worker_{n}.txt").read_text() for n in range(6)}
    assert len(workers) == 1, f"the group was split over workers {sorted(workers)}"
