"""The package as a user installs it: the built wheel, `uv add`ed into a fresh project, without our lock.

A copy of tests/fixtures/sample_project (a plain dbt project: seeds, models, unique/not_null tests, none of
our macros) becomes a uv project; `quality init` adds what the harness needs; then `pytest -n 2` and
`quality gate` must pass with nothing else done. uv resolves from the package registry (its cache is the
default one, so CI's cache helps); the test is skipped only when the registry cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "fixtures" / "sample_project"
NETWORK_ERRORS = ("dns error", "error sending request", "Failed to fetch", "Could not connect", "Connection refused")
# Settings of this checkout or of the outer pytest that must not leak into the user's project.
LEAKING_PREFIXES = ("PYTEST_", "DBT_", "QUALITY_", "UV_PROJECT", "VIRTUAL_ENV", "COV_CORE")


def _user_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEAKING_PREFIXES)}
    return {**env, "UV_NO_PROGRESS": "1", "UV_LOCK_TIMEOUT": "600", "NO_COLOR": "1", "COLUMNS": "120"}


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_user_env(), capture_output=True, text=True, timeout=timeout, check=False)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.skip("uv is not on PATH: the packaging test installs the wheel the way users do, with uv")
    return found


@pytest.fixture(scope="module")
def wheel(uv: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _ok(_run([uv, "build", "--wheel", "--out-dir", str(out), str(REPO)], cwd=out))
    (built,) = out.glob("dbt_quality_harness-*.whl")
    return built


@pytest.fixture(scope="module")
def user_project(uv: str, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample dbt project as a fresh uv project with the wheel added (resolved without our lock)."""
    root = tmp_path_factory.mktemp("user") / "jaffle"
    shutil.copytree(SAMPLE, root)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    _ok(_run([uv, "init", "--bare", "--no-workspace", "--python", python, "--name", "jaffle"], cwd=root))
    added = _run([uv, "add", str(wheel)], cwd=root)
    if added.returncode != 0 and any(error in added.stderr for error in NETWORK_ERRORS):
        pytest.skip(f"the package registry is unreachable, so `uv add` cannot resolve: {added.stderr.strip()[-300:]}")
    _ok(added)
    return root


def test_uv_add_of_the_wheel_resolves_with_the_pytest_cap(user_project: Path) -> None:
    lock = (user_project / "uv.lock").read_text(encoding="utf-8")
    pytest_version = lock.split('\nname = "pytest"\nversion = "', 1)[1].split('"', 1)[0]
    assert tuple(int(part) for part in pytest_version.split(".")[:2]) < (9, 2)


def test_init_then_pytest_and_the_gate_pass_with_nothing_else_to_do(uv: str, user_project: Path) -> None:
    first = _ok(_run([uv, "run", "quality", "init"], cwd=user_project))
    assert "wrote 7 file(s)" in first
    assert "nothing to change" in _ok(_run([uv, "run", "quality", "init"], cwd=user_project))

    tests = _ok(_run([uv, "run", "pytest", "-n", "2", "-p", "no:cacheprovider"], cwd=user_project))
    assert "2 passed" in tests

    gate = _ok(_run([uv, "run", "quality", "gate"], cwd=user_project))
    assert "PUBLISHED" in gate
    assert list((user_project / ".quality").glob("ephemeral/*.duckdb")) == []  # every workspace was dropped

    # The data change review that `quality init` wired into the PR workflow runs on the user's project too.
    identity = ["-c", "user.name=User", "-c", "user.email=user@example.invalid"]
    _ok(_run(["git", "init", "--quiet", "--initial-branch", "main"], cwd=user_project))
    _ok(_run(["git", *identity, "add", "--all"], cwd=user_project))
    _ok(_run(["git", *identity, "commit", "--quiet", "-m", "feat: the project"], cwd=user_project))
    review = _ok(_run([uv, "run", "quality", "pr", "--base", "HEAD"], cwd=user_project))
    assert "PASSED, every data change is declared" in review
