"""`quality gate --target local_databricks` publishing in the atomic mode, end to end offline: a first gate
into an empty prod with `QUALITY_DATABRICKS_PUBLISH=atomic` (the harness never turns catalog commits on by
itself) creates every prod table with catalog commits; the next gate finds them (`catalogManaged` in
DESCRIBE DETAIL) and publishes in one `BEGIN ATOMIC` block, which the endpoint runs all-or-nothing.

Two gates, about 75-95 s each, from a temporary working directory (the endpoint keeps its warehouse in
`.quality/databricks` of the working directory, so prod outlives the first gate).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from quality.engines.publish import MODE_ENV
from tests.integration.local_databricks import Session, connect, on_local_endpoint, running_endpoint

pytestmark = on_local_endpoint("local_databricks_atomic_gate", slow=True)

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "tests" / "fixtures" / "raw"


def _gate(workdir: Path, mode: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "quality.cli", "gate", "--project-dir", str(ROOT / "dbt")]
    command += ["--target", "local_databricks", "--fixtures", str(RAW), "--artifacts-dir", str(workdir / "runs")]
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABRICKS_", "DBT_", "QUALITY_LOCAL", "QUALITY_TEST"))
    }
    environment[MODE_ENV] = mode
    return subprocess.run(
        command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def gates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Both gates' publish.json, oldest first."""
    workdir = tmp_path_factory.mktemp("gate_atomic")
    for mode in ("atomic", "auto"):
        result = _gate(workdir, mode)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = sorted(path for path in (workdir / "runs").glob("*") if path.is_dir())
    return workdir, [json.loads((run / "publish.json").read_text(encoding="utf-8")) for run in runs]


@pytest.fixture(scope="module")
def prod(gates: tuple[Path, list[dict[str, Any]]]) -> Iterator[Session]:
    """A session on a new endpoint over the warehouse folder the gates' endpoints kept."""
    workdir, _ = gates
    state = workdir / ".quality" / "databricks"
    with running_endpoint(state_dir=state) as endpoint, closing(connect(endpoint)) as connection:
        yield Session(connection, "quality")


def test_the_second_gate_detects_catalog_commits_and_publishes_atomically(
    gates: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, published = gates
    assert [run["mode"] for run in published] == ["atomic", "atomic"]
    reason = published[1]["mode_reason"]
    assert reason.startswith("SQL warehouse, and all "), reason
    assert reason.endswith("are managed Delta tables with catalog commits"), reason
    steps = published[1]["steps"]
    assert {step["mode"] for step in steps} == {"atomic"}
    tables = [step for step in steps if step["kind"] == "table"]
    assert tables
    assert all(step["existed"] for step in tables), "the second gate wrote tables the first made"


def test_prod_and_the_record_have_catalog_commits_and_both_runs_are_published(
    gates: tuple[Path, list[dict[str, Any]]], prod: Session
) -> None:
    _, published = gates
    tables = [step for step in published[1]["steps"] if step["kind"] == "table"]
    for step in [*tables[:3], {"prod_schema": "quality", "prod_name": "publish_log"}]:
        detail = prod.query(f"describe detail main.`{step['prod_schema']}`.`{step['prod_name']}`")
        assert "catalogManaged" in detail[0][-1], step["prod_name"]
    statuses = prod.query("select run_id, status from main.quality.publish_log order by published_at")
    assert [status for _, status in statuses] == ["published", "published"]
