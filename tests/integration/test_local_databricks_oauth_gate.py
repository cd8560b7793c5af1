"""`quality gate --target local_databricks_oauth`: the whole write-audit-publish by OAuth M2M.

The gate starts its own local endpoint in OAuth mode (`quality.emulator.activation`): the process gets the
endpoint's DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET and no token, and the target has no `token` field,
so dbt-databricks, the engine, GX and the publish can only have authenticated by OAuth. The gate runs from a
temporary working directory, as in test_local_databricks_gate.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.local_databricks import on_local_endpoint

pytestmark = on_local_endpoint("local_databricks_oauth_gate", slow=True)

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "tests" / "fixtures" / "raw"
JWT_HEADER = "eyJhbGciOiJIUzI1NiIs"
SECRET = "dose" + "9a" * 32  # pragma: allowlist secret


def test_the_gate_publishes_by_oauth_m2m_with_no_token_anywhere(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "quality.cli", "gate", "--project-dir", str(ROOT / "dbt")]
    command += ["--target", "local_databricks_oauth", "--fixtures", str(RAW), "--artifacts-dir", str(runs)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "DBT_", "QUALITY_LOCAL"))}
    environment["QUALITY_ENDPOINT_CLIENT_SECRET"] = SECRET  # the service principal of the gate's own endpoint

    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=900, check=False
    )

    run_dirs = sorted(path for path in runs.glob("*") if path.is_dir())
    assert len(run_dirs) == 1, result.stdout + result.stderr
    report = json.loads((run_dirs[0] / "report.json").read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert (report["status"], report["error"], report["target"]) == ("published", None, "local_databricks_oauth")
    assert [e["expectation"] for e in report["expectations"] if not e["success"]] == []
    logged = result.stdout + result.stderr
    for path in run_dirs[0].rglob("*"):
        if path.is_file() and path.suffix in {".json", ".log", ".txt"}:
            logged += path.read_text(encoding="utf-8", errors="replace")
    assert JWT_HEADER not in logged, "an OAuth access token was written to the output or the run's artifacts"
    assert SECRET not in logged, "the client secret was written to the output or the run's artifacts"
