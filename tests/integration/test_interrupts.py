"""SIGTERM at any step of `quality gate`: exit 130, report status "interrupted", and prod either untouched or
fully published, exactly as the report says. The test hook QUALITY_TEST_PAUSE_AT makes the gate wait at a
known step (and say so in a file) until the signal has arrived, so nothing races."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.warehouse import fingerprint

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("interrupts")]
ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "tests" / "fixtures" / "raw"
BATCH2 = ROOT / "tests" / "fixtures" / "raw_batch2"


def _gate(folder: Path, fixtures: Path, pause_at: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "QUALITY_DUCKDB_PATH": str(folder / "warehouse.duckdb")}
    if pause_at:
        env["QUALITY_TEST_PAUSE_AT"] = f"{pause_at}:{folder / 'paused'}"
    command = [sys.executable, "-m", "quality.cli", "gate", "--fixtures", str(fixtures), "--no-expectations"]
    return subprocess.Popen(
        [*command, "--artifacts-dir", str(folder / "runs")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _interrupt_when_paused(process: subprocess.Popen[str], marker: Path) -> tuple[int, str]:
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the gate never reached the step"
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    return process.returncode, out + err


def _report(folder: Path, newest: int = -1) -> dict[str, Any]:
    reports = sorted((folder / "runs").glob("*/report.json"))
    loaded: dict[str, Any] = json.loads(reports[newest].read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("interrupted_prod")
    first = _gate(folder, RAW)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out + err
    return folder


def test_sigterm_during_dbt_build_exits_130_and_leaves_prod_untouched(prod: Path) -> None:
    before = fingerprint(prod / "warehouse.duckdb")
    (prod / "paused").unlink(missing_ok=True)

    code, output = _interrupt_when_paused(_gate(prod, BATCH2, "dbt_build"), prod / "paused")

    assert code == 130, output
    report = _report(prod)
    assert (report["status"], report["step"], report["published"]) == ("interrupted", "dbt_build", [])
    assert report["error"] == "SIGTERM during dbt_build; nothing was published: prod is untouched."
    assert f"interrupted: {report['error']}" in " ".join(output.split())
    assert "report it" not in output
    assert len(report["dropped_schemas"]) == 6, "the audit schemas are dropped"
    assert fingerprint(prod / "warehouse.duckdb") == before


def test_sigterm_during_publish_exits_130_after_publishing_everything_the_report_lists(prod: Path) -> None:
    (prod / "paused").unlink(missing_ok=True)

    code, output = _interrupt_when_paused(_gate(prod, BATCH2, "publish"), prod / "paused")

    assert code == 130, output
    report = _report(prod)
    published = report["published"]
    assert (report["status"], report["step"]) == ("interrupted", "publish")
    assert report["error"] == (
        f"SIGTERM during publish; all {len(published)} relation(s) of this run were published to prod "
        "(see publish.json)."
    )
    assert "report it" not in output
    record = json.loads((Path(report["artifacts_dir"]) / "publish.json").read_text(encoding="utf-8"))
    assert record["steps"] == published
    orders = sum(1 for _ in (BATCH2 / "orders.csv").open(encoding="utf-8")) - 1
    rows = {f"{s['prod_schema']}.{s['prod_name']}": s["rows"] for s in published}
    assert rows["raw.orders"] == orders, "the second batch reached prod"
    engine_rows = _count(prod / "warehouse.duckdb", "raw.orders")
    assert engine_rows == orders


def _count(path: Path, table: str) -> int:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        (count,) = connection.execute(f"select count(*) from {table}").fetchone() or (0,)
        return int(count)
