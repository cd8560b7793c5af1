"""`quality gate --target local_databricks`: the whole write-audit-publish through the real dbt-databricks
adapter on the local endpoint the gate starts itself, with the audit schemas dropped and prod kept in the
endpoint's warehouse folder (read back here by another endpoint on that folder).

The gate runs once for the module (about 70 s), from a temporary working directory: the endpoint keeps its
warehouse in `.quality/databricks` of the working directory, and the repository's own must stay untouched.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local_databricks import Session, connect, on_local_endpoint, running_endpoint

pytestmark = on_local_endpoint("local_databricks_gate", slow=True)

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "tests" / "fixtures" / "raw"


@dataclass(frozen=True)
class GateRun:
    result: subprocess.CompletedProcess[str]
    workdir: Path
    run_dir: Path

    def json(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.run_dir / name).read_text(encoding="utf-8")))

    @property
    def warehouse(self) -> Path:
        return self.workdir / ".quality" / "databricks"


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> GateRun:
    workdir = tmp_path_factory.mktemp("gate_local_databricks")
    runs = workdir / "runs"
    command = [sys.executable, "-m", "quality.cli", "gate", "--project-dir", str(ROOT / "dbt")]
    command += ["--target", "local_databricks", "--fixtures", str(RAW), "--artifacts-dir", str(runs)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "DBT_", "QUALITY_LOCAL"))}
    result = subprocess.run(
        command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=600, check=False
    )
    run_dirs = sorted(path for path in runs.glob("*") if path.is_dir())
    assert len(run_dirs) == 1, result.stdout + result.stderr
    return GateRun(result, workdir, run_dirs[0])


@pytest.fixture(scope="module")
def prod(gate: GateRun) -> Iterator[Session]:
    """A session on a new endpoint over the warehouse folder the gate's endpoint kept."""
    with running_endpoint(state_dir=gate.warehouse) as endpoint, closing(connect(endpoint)) as connection:
        yield Session(connection, "raw")


def fixture_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def test_the_gate_publishes(gate: GateRun) -> None:
    report = gate.json("report.json")

    assert gate.result.returncode == 0, gate.result.stdout + gate.result.stderr
    assert (report["status"], report["error"], report["target"]) == ("published", None, "local_databricks")
    assert "PUBLISHED" in gate.result.stdout


def test_the_runs_manifest_was_written_by_dbt_databricks(gate: GateRun) -> None:
    assert gate.json("manifest.json")["metadata"]["adapter_type"] == "databricks"


def test_every_node_built_and_every_test_and_expectation_passed(gate: GateRun) -> None:
    report = gate.json("report.json")

    assert [m["unique_id"] for m in report["models"] if m["status"] not in {"success", "no-op"}] == []
    assert [t["unique_id"] for t in report["tests"] if t["status"] != "pass"] == []
    assert [(e["model"], e["expectation"]) for e in report["expectations"] if not e["success"]] == []
    assert report["raw_tables"] == {path.stem: fixture_rows(path) for path in sorted(RAW.glob("*.csv"))}


def test_the_audit_schemas_are_dropped(gate: GateRun, prod: Session) -> None:
    report = gate.json("report.json")
    schemas = [row[0] for row in prod.query("show schemas in main")]

    assert len(report["dropped_schemas"]) == 6
    assert all(schema.startswith(f"{report['audit_base']}_") for schema in report["dropped_schemas"])
    assert [schema for schema in schemas if schema.startswith("audit_")] == []


def test_prod_holds_every_published_relation_and_the_raw_rows(gate: GateRun, prod: Session) -> None:
    steps = gate.json("publish.json")["steps"]
    listed = {
        (schema, name, kind)
        for schema, name, kind in prod.query(
            "select table_schema, table_name, table_type from main.information_schema.tables"
        )
    }

    assert [
        (s["prod_schema"], s["prod_name"])
        for s in steps
        if (s["prod_schema"], s["prod_name"], "MANAGED" if s["kind"] == "table" else "VIEW") not in listed
    ] == []
    counts = {path.stem: prod.query(f"select count(*) from main.raw.{path.stem}")[0][0] for path in RAW.glob("*.csv")}
    assert counts == {path.stem: fixture_rows(path) for path in RAW.glob("*.csv")}


def test_the_publish_record_is_a_delta_table_in_the_catalog_and_publish_json_its_copy(
    gate: GateRun, prod: Session
) -> None:
    """The endpoint's Delta tables have no catalog commits, so the gate publishes clone-with-undo and says why;
    its record is a row of main.quality.publish_log, `published`, with the steps publish.json copies."""
    copy = gate.json("publish.json")
    [(status, steps)] = prod.query(
        "select status, steps from main.quality.publish_log where run_id = ?", [gate.run_dir.name]
    )

    assert (copy["mode"], status, copy["status"]) == ("clone-with-undo", "published", "published")
    assert "no prod table exists yet" in copy["mode_reason"]
    assert json.loads(steps) == copy["steps"]
    assert {step["mode"] for step in copy["steps"]} == {"clone-with-undo"}
    assert "published in mode clone-with-undo" in gate.result.stdout + gate.result.stderr


def test_the_publish_keeps_its_warnings_in_the_catalog_for_the_next_gate(gate: GateRun, prod: Session) -> None:
    """quality.publish_warnings is written on Databricks too (a Delta table next to publish_log), so the next
    gate of a Databricks job, whose run folders are gone, knows the last publish's warnings."""
    copy = gate.json("publish.json")
    [(kept,)] = prod.query("select warnings from main.quality.publish_warnings where run_id = ?", [gate.run_dir.name])

    assert json.loads(kept) == copy["warnings"]
    assert copy["accepted_new_warnings"] is False
    assert "recording its warnings in the warehouse failed" not in gate.result.stdout + gate.result.stderr
