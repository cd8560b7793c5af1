"""Publish backups follow the retention setting: after six publishes only the newest three backup schemas
exist, rollback of the newest publish still works, and `quality reap --keep-backups` applies the same rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.cli import main
from quality.dbt.project import load_project
from quality.dbt.schemas import backup_schema, backup_schemas
from quality.dbt.targets import resolve_target
from quality.engines.duckdb import DuckDBEngine
from quality.wap.gate import GateOptions, run_gate
from quality.wap.rollback import last_published_run, rollback_run

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("backup_retention")]
ROOT = Path(__file__).resolve().parents[2]
RAW, BATCH2 = ROOT / "tests" / "fixtures" / "raw", ROOT / "tests" / "fixtures" / "raw_batch2"


def _orders(batch: Path) -> int:
    return sum(1 for _ in (batch / "orders.csv").open(encoding="utf-8")) - 1


def test_six_publishes_keep_the_newest_three_backups_and_rollback_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(path))
    project = load_project(ROOT / "dbt")
    target = resolve_target(project, "local")
    runs = tmp_path / "runs"
    reports = []
    for batch in [RAW] * 5 + [BATCH2]:  # the same batch again is an idempotent publish; then the next one
        options = GateOptions(fixtures_dir=batch, artifacts_root=runs, run_expectations=False)
        report = run_gate(project, target, options)
        assert report.status == "published", report.error
        reports.append(report)

    made = [backup_schema(report.run_id) for report in reports[1:]]  # the first publish had nothing to back up
    assert [report.dropped_backups for report in reports] == [[], [], [], [], [made[0]], [made[1]]]
    engine = DuckDBEngine(path)
    try:
        assert backup_schemas(engine) == made[-3:]
        # The newest publish loaded batch 2 over batch 1: rolling it back brings batch 1 back.
        assert engine.query("select count(*) from raw.orders") == [(_orders(BATCH2),)]
        restored = rollback_run(engine, last_published_run(target.name, runs, engine))
        assert "raw.orders" in restored
        assert engine.query("select count(*) from raw.orders") == [(_orders(RAW),)]
    finally:
        engine.close()

    monkeypatch.chdir(tmp_path)  # `quality reap` also looks at ./.quality/ephemeral
    assert main(["reap", "--project-dir", str(ROOT / "dbt"), "--target", "local", "--keep-backups", "1"]) == 0
    engine = DuckDBEngine(path)
    try:
        assert backup_schemas(engine) == made[-1:]
    finally:
        engine.close()
