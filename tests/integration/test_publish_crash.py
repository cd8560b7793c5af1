"""A crash at any point of a publish or a rollback leaves prod and its publish record in agreement: both
old or both new. The record is a row of `quality.publish_log` written in the publish's own transaction
(publish.json is a copy written after it), and `quality rollback` reads it first, so it undoes exactly the
run prod holds. The test hook QUALITY_TEST_CRASH_AT=<point> ends the gate with `os._exit` at that point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from quality.dbt.schemas import BACKUP_PREFIX, parse_base
from quality.engines import run_log
from quality.engines.duckdb import DuckDBEngine
from quality.engines.publish import PublishStep, prod_differences
from quality.interrupts import CRASH_ENV, CRASH_EXIT
from tests.integration.real_project import BATCH2, RAW, ROOT
from tests.integration.warehouse import fingerprint

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("publish_crash")]


@dataclass
class Prod:
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "warehouse.duckdb"

    @property
    def runs(self) -> Path:
        return self.folder / "runs"

    @property
    def run_ids(self) -> list[str]:
        return sorted(path.name for path in self.runs.iterdir() if path.is_dir())

    def quality(self, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "QUALITY_DUCKDB_PATH": str(self.path)}
        env.pop(CRASH_ENV, None)
        if crash_at:
            env[CRASH_ENV] = crash_at
        command = [sys.executable, "-m", "quality.cli", *args, "--artifacts-dir", str(self.runs)]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)

    def gate(self, fixtures: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.quality("gate", "--fixtures", str(fixtures), "--no-expectations", crash_at=crash_at)

    def data(self) -> dict[str, str]:
        """Every prod relation (not the publish record, backups, or audit schemas a crash left for `quality
        reap`): DDL and a hash of the rows."""
        prints = fingerprint(self.path).items()
        return {name: value for name, value in prints if _is_prod(name.split(".", 1)[0])}

    def tables(self, *schemas: str) -> list[str]:
        engine = DuckDBEngine(self.path)
        try:
            return [f"{s}.{name}" for s in schemas for name, kind in engine.list_relations(s) if kind == "table"]
        finally:
            engine.close()

    def records(self) -> list[tuple[str, str]]:
        """(run id, status) of every row of the warehouse's publish record, oldest first."""
        engine = DuckDBEngine(self.path)
        try:
            return [(str(r["run_id"]), str(r["status"])) for r in run_log.records(engine, "local")]
        finally:
            engine.close()

    def differences_from_record(self, run_id: str) -> list[str]:
        engine = DuckDBEngine(self.path)
        try:
            record = run_log.read(engine, run_id)
            assert record is not None
            return prod_differences(engine, [PublishStep(**step) for step in record["steps"]])
        finally:
            engine.close()


def _is_prod(schema: str) -> bool:
    return schema != run_log.LOG_SCHEMA and not schema.startswith(BACKUP_PREFIX) and parse_base(schema) is None


@pytest.fixture(scope="module")
def published_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crash_prod")
    result = Prod(folder).gate(RAW)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


@pytest.fixture
def prod(published_once: Path, tmp_path: Path) -> Prod:
    """A copy of the prod the first gate published (batch 1), for one test to crash on."""
    shutil.copytree(published_once, tmp_path / "prod")
    return Prod(tmp_path / "prod")


def test_the_first_publish_writes_its_record_in_the_warehouse_and_copies_it_to_publish_json(prod: Prod) -> None:
    (first,) = prod.run_ids
    assert prod.records() == [(first, "published")]
    assert prod.differences_from_record(first) == []
    assert (prod.runs / first / "publish.json").is_file()


def test_a_crash_before_the_publish_commits_leaves_prod_and_record_both_old(prod: Prod) -> None:
    (first,) = prod.run_ids
    before = prod.data()

    crashed = prod.gate(BATCH2, crash_at="publish_before_commit")

    assert crashed.returncode == CRASH_EXIT, crashed.stdout + crashed.stderr
    second = prod.run_ids[-1]
    assert second != first
    assert prod.data() == before
    assert prod.records() == [(first, "published")]
    assert not (prod.runs / second / "publish.json").exists()
    # Rollback undoes the run prod holds (the first publish made every table: undoing it drops them).
    rolled_back = prod.quality("rollback")
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert f"rolled back run {first}" in rolled_back.stdout
    assert prod.tables("raw", "marts") == []
    assert prod.records() == [(first, "rolled_back")]


def test_a_crash_after_the_publish_commits_leaves_prod_and_record_both_new_and_rollback_restores_exactly(
    prod: Prod,
) -> None:
    (first,) = prod.run_ids
    before = prod.data()

    crashed = prod.gate(BATCH2, crash_at="publish_after_commit")

    assert crashed.returncode == CRASH_EXIT, crashed.stdout + crashed.stderr
    second = prod.run_ids[-1]
    assert prod.data() != before, "the second batch reached prod"
    assert prod.records() == [(first, "published"), (second, "published")]
    assert prod.differences_from_record(second) == []
    assert not (prod.runs / second / "publish.json").exists(), "the crash came before the copy"

    rolled_back = prod.quality("rollback")
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert f"rolled back run {second}" in rolled_back.stdout
    assert prod.data() == before
    assert prod.records() == [(first, "published"), (second, "rolled_back")]
    assert (prod.runs / second / "rollback.json").is_file()


def test_a_crash_before_the_rollback_commits_leaves_prod_and_record_both_new(prod: Prod) -> None:
    (first,) = prod.run_ids
    published = prod.gate(BATCH2)
    assert published.returncode == 0, published.stdout + published.stderr
    second = prod.run_ids[-1]
    after = prod.data()

    crashed = prod.quality("rollback", crash_at="rollback_before_commit")

    assert crashed.returncode == CRASH_EXIT, crashed.stdout + crashed.stderr
    assert prod.data() == after
    assert prod.records() == [(first, "published"), (second, "published")]
    assert not (prod.runs / second / "rollback.json").exists()
    rolled_back = prod.quality("rollback")
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert f"rolled back run {second}" in rolled_back.stdout
    assert prod.records() == [(first, "published"), (second, "rolled_back")]


def test_a_run_recorded_only_in_publish_json_is_still_rolled_back_from_it(prod: Prod) -> None:
    """Runs published before the warehouse kept the record: publish.json is their record."""
    (first,) = prod.run_ids
    engine = DuckDBEngine(prod.path)
    try:
        engine.execute(f"drop table {run_log.LOG_SCHEMA}.{run_log.LOG_TABLE}")
    finally:
        engine.close()

    rolled_back = prod.quality("rollback")

    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert f"rolled back run {first}" in rolled_back.stdout
    assert prod.tables("raw", "marts") == []


def test_an_unfinished_publish_on_record_stops_the_gate_before_it_builds_and_doctor_says_what_to_run(
    prod: Prod,
) -> None:
    """On Databricks a crash in clone-with-undo mode leaves a `publishing` row (DuckDB commits publish and
    record together, so the row is written here by hand): the next gate must not spend a build to find it."""
    before = prod.data()
    engine = DuckDBEngine(prod.path)
    try:
        run_log.record_publish(engine, "20261206t000000_crashed", "local", [], status=run_log.PUBLISHING)
    finally:
        engine.close()

    refused = prod.gate(BATCH2)
    doctor = subprocess.run(
        [sys.executable, "-m", "quality.cli", "doctor", "--no-dbt-debug"],
        cwd=ROOT,
        env={**os.environ, "QUALITY_DUCKDB_PATH": str(prod.path), "COLUMNS": "500"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0, output
    assert "has unfinished run(s): 20261206t000000_crashed (publishing)" in output
    assert "Run `quality rollback`" in output
    report = json.loads(sorted(prod.runs.glob("*/report.json"))[-1].read_text(encoding="utf-8"))
    assert "dbt_build" not in report["timings"], "refused before any build"
    assert prod.data() == before
    doctor_output = " ".join(doctor.stdout.split())
    assert doctor.returncode == 1, doctor_output
    assert "publish record" in doctor_output
    assert "unfinished run(s): 20261206t000000_crashed" in doctor_output
