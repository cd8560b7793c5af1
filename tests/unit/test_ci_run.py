""".ci/run's verdict on a pytest run, from the junit report it writes: a copy of the script runs with `uv` and
`python3 -m pip` stubbed (the stub `uv run pytest` writes the given report and exits with the given code)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.local_databricks import ENDPOINT_SKIP_REASON

ROOT = Path(__file__).resolve().parents[2]
UV_STUB = """#!/bin/sh
[ "$1" = run ] || exit 0
while [ $# -gt 0 ]; do [ "$1" = --junitxml ] && cp "$FAKE_JUNIT" "$2"; shift; done
exit "$FAKE_STATUS"
"""
PYTHON_STUB = f"""#!/bin/sh
[ "$1 $2" = "-m pip" ] && exit 0
exec {sys.executable} "$@"
"""


def junit(*cases: str) -> str:
    skipped = sum("<skipped" in case for case in cases)
    return (
        f'<testsuites><testsuite name="pytest" tests="{len(cases)}" skipped="{skipped}" failures="0" errors="0">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    )


PASSED = '<testcase classname="tests.unit.test_a" name="test_ok" />'
ENDPOINT_SKIP = (
    '<testcase classname="tests.integration.test_local_databricks_gate" name="test_gate">'
    f'<skipped type="pytest.skip" message="{ENDPOINT_SKIP_REASON}: HTTPS_PROXY is set">skip</skipped></testcase>'
)
OTHER_SKIP = (
    '<testcase classname="tests.integration.test_x" name="test_y">'
    '<skipped type="pytest.skip" message="needs a workspace">skip</skipped></testcase>'
)


def ci_run(tmp_path: Path, report: str, status: int) -> subprocess.CompletedProcess[str]:
    repo, stubs = tmp_path / "repo", tmp_path / "bin"
    (repo / ".ci").mkdir(parents=True)
    stubs.mkdir()
    for name in ("run", "junit_verdict.py"):
        shutil.copy(ROOT / ".ci" / name, repo / ".ci" / name)
    for name, text in (("uv", UV_STUB), ("python3", PYTHON_STUB)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    (tmp_path / "junit.xml").write_text(report)
    environment = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "FAKE_STATUS": str(status)}
    environment["FAKE_JUNIT"] = str(tmp_path / "junit.xml")
    return subprocess.run(
        ["bash", str(repo / ".ci" / "run")], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_test_skipped_for_want_of_the_endpoint_fails_the_run_naming_it(tmp_path: Path) -> None:
    result = ci_run(tmp_path, junit(PASSED, ENDPOINT_SKIP, OTHER_SKIP), 0)

    assert result.returncode == 1
    assert "tests.integration.test_local_databricks_gate::test_gate" in result.stderr
    assert "CI failure: 1 tests that run against the local Databricks endpoint were skipped" in result.stderr
    assert "test_y" not in result.stderr


@pytest.mark.parametrize(
    ("cases", "status", "code", "said"),
    [
        ((PASSED, OTHER_SKIP), 0, 0, "CI: 1 tests passed"),
        ((OTHER_SKIP,), 0, 1, "CI failure: no test ran and passed"),
        ((PASSED,), 1, 1, ""),
        ((), 5, 1, "CI failure: pytest collected no tests"),
    ],
)
def test_the_other_rules_stay(tmp_path: Path, cases: tuple[str, ...], status: int, code: int, said: str) -> None:
    result = ci_run(tmp_path, junit(*cases), status)

    assert result.returncode == code, result.stdout + result.stderr
    assert said in result.stdout + result.stderr


def test_the_verdict_knows_the_skip_reason_the_endpoint_tests_give() -> None:
    text = (ROOT / ".ci" / "junit_verdict.py").read_text()

    assert f'ENDPOINT_SKIP = "{ENDPOINT_SKIP_REASON}"' in text
