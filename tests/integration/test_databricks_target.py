"""`quality gate --target ci` against local stand-ins for a Databricks workspace: a closed port, a workspace
that refuses the token, and a host that never answers. Each ends in one clear paragraph, exit 1, in bounded
time (QUALITY_CONNECT_TIMEOUT), before dbt or anything else touches a schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import FakeWorkspace, refusing_port, silent_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "dapi0123456789abcdef0123456789abcdef"  # pragma: allowlist secret


def gate_on_ci_target(host: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")},
        "HOME": str(tmp_path),
        "DATABRICKS_HOST": host,
        "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/abc123",
        "DATABRICKS_TOKEN": TOKEN,
        "DBT_CATALOG": "main",
        "QUALITY_CONNECT_TIMEOUT": "3",
    }
    command = [sys.executable, "-m", "quality.cli", "gate", "--target", "ci", "--artifacts-dir", str(tmp_path / "runs")]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)


def assert_one_clear_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    for phrase in phrases:
        assert phrase in output, output
    assert TOKEN not in output
    assert "Traceback" not in output


def test_unreachable_host(tmp_path: Path) -> None:
    with refusing_port() as port:
        result = gate_on_ci_target(f"http://127.0.0.1:{port}", tmp_path)
    assert_one_clear_error(result, f"127.0.0.1:{port}", "DATABRICKS_HOST")


def test_refused_token(tmp_path: Path) -> None:
    with FakeWorkspace() as fake:
        result = gate_on_ci_target(fake.url, tmp_path)
    assert_one_clear_error(result, "token")


def test_host_that_never_answers(tmp_path: Path) -> None:
    with silent_server() as server:
        result = gate_on_ci_target(f"http://127.0.0.1:{server.port}", tmp_path)
    assert_one_clear_error(result, "did not answer within 3")
