"""Two `quality gate --target local_databricks` runs of the real project (batch 1, then batch 2) on the local
endpoint: the second publishes the incremental model fct_orders by one MERGE of its audited change (not a
DEEP CLONE), leaving prod equal row for row to the audit build, and `quality rollback` restores batch 1's
prod exactly (RESTORE TO VERSION AS OF the recorded versions), with the Delta record saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.local_databricks import Session, connect, on_local_endpoint, running_endpoint

pytestmark = on_local_endpoint("local_databricks_merge_gate", slow=True)

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "tests" / "fixtures" / "raw"
BATCH2 = ROOT / "tests" / "fixtures" / "raw_batch2"


@dataclass(frozen=True)
class Workdir:
    path: Path

    @property
    def runs(self) -> Path:
        return self.path / "runs"

    def quality(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "quality.cli", *args, "--project-dir", str(ROOT / "dbt")]
        command += ["--target", "local_databricks", "--artifacts-dir", str(self.runs)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "DBT_", "QUALITY_"))}
        return subprocess.run(
            command, cwd=self.path, env=environment, capture_output=True, text=True, timeout=900, check=False
        )

    def publish_json(self, run_id: str) -> dict[str, Any]:
        return dict(json.loads((self.runs / run_id / "publish.json").read_text(encoding="utf-8")))

    def run_ids(self) -> list[str]:
        return sorted(path.name for path in self.runs.glob("*") if path.is_dir())


def snapshot(session: Session, tables: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Every table's rows, as sorted text (order-independent)."""
    return {
        f"{schema}.{name}": sorted(repr(row) for row in session.query(f"select * from main.{schema}.{name}"))
        for schema, name in tables
    }


def session_on(workdir: Workdir) -> Iterator[Session]:
    with (
        running_endpoint(state_dir=workdir.path / ".quality" / "databricks") as endpoint,
        closing(connect(endpoint)) as connection,
    ):
        yield Session(connection, "marts")


def test_the_second_batch_merges_the_incremental_change_and_rollback_restores_the_first(tmp_path: Path) -> None:
    workdir = Workdir(tmp_path)
    first = workdir.quality("gate", "--fixtures", str(RAW))
    assert first.returncode == 0, first.stdout + first.stderr
    (run1,) = workdir.run_ids()
    tables = [(s["prod_schema"], s["prod_name"]) for s in workdir.publish_json(run1)["steps"] if s["kind"] == "table"]
    for session in session_on(workdir):
        before = snapshot(session, tables)

    second = workdir.quality("gate", "--fixtures", str(BATCH2), "--keep-audit")

    assert second.returncode == 0, second.stdout + second.stderr
    run2 = workdir.run_ids()[-1]
    record = workdir.publish_json(run2)
    orders = next(step for step in record["steps"] if step["prod_name"] == "fct_orders")
    assert (record["mode"], orders["method"], orders["method_note"]) == ("clone-with-undo", "merge", None)
    assert orders["merged_inserted"] + orders["merged_updated"] > 0
    prod = f"main.{orders['prod_schema']}.fct_orders"
    audit = f"main.{orders['audit_schema']}.fct_orders"
    for session in session_on(workdir):
        assert session.query(f"select count(*) from (select * from {prod} except all select * from {audit})") == [(0,)]
        assert session.query(f"select count(*) from (select * from {audit} except all select * from {prod})") == [(0,)]
        assert session.query(f"select count(*) from {prod}") == [(orders["rows"],)]
        history = session.query(f"describe history {prod} limit 1")
        assert history[0][3] == "MERGE", "one MERGE commit, not a copy of the table"

    rolled_back = workdir.quality("rollback")

    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert f"rolled back run {run2}" in rolled_back.stdout
    for session in session_on(workdir):
        assert snapshot(session, tables) == before
        statuses = session.query("select run_id, status from main.quality.publish_log order by run_id")
        assert statuses == [(run1, "published"), (run2, "rolled_back")]
