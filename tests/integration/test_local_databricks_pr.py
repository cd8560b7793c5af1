"""`quality pr --target local_databricks`: the data change review through the real dbt-databricks adapter, on
Spark SQL (the local Databricks SQL endpoint). No file to cache there: the base is built twice, the working
tree once, every relation compared in the catalog, and every schema the review made is dropped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.hooks.conftest import GIT_IDENTITY, commit_all, init_repo
from tests.integration.local_databricks import Session, connect, on_local_endpoint, running_endpoint
from tests.integration.real_project import copy_repository_layout

pytestmark = on_local_endpoint("local_databricks_pr", slow=True)


def test_an_undeclared_unit_change_fails_on_spark_sql_and_every_review_schema_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "retail"
    copy_repository_layout(repo)
    (repo / ".gitignore").write_text(".quality/\nartifacts/\n", encoding="utf-8")
    for name, value in GIT_IDENTITY.items():
        monkeypatch.setenv(name, value)
    init_repo(repo)
    commit_all(repo, "feat: the project")
    model = repo / "dbt" / "models" / "staging" / "stg_payments.sql"
    text = model.read_text(encoding="utf-8")
    model.write_text(text.replace("cast(amount as decimal", "cast(amount / 100 as decimal"), encoding="utf-8")

    command = [sys.executable, "-m", "quality.cli", "pr", "--project-dir", "dbt", "--base", "HEAD"]
    command += ["--target", "local_databricks", "--no-against-prod"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "DBT_", "QUALITY_LOCAL"))}
    result = subprocess.run(
        command, cwd=repo, env=environment, capture_output=True, text=True, timeout=900, check=False
    )

    assert result.returncode == 1, result.stdout + result.stderr
    (review_file,) = (repo / "artifacts" / "pr").glob("*/review.json")
    review = json.loads(review_file.read_text(encoding="utf-8"))
    undeclared = {(f["model"], f["change"]): f for f in review["findings"] if not f["declared"]}
    assert undeclared[("stg_payments", "column amount")]["rows"] == 345
    assert undeclared[("stg_payments", "column amount")]["examples"][0] == "payment_id=1: 90.29 -> 0.90"
    assert ("fct_orders", "column amount_paid") in undeclared
    assert review["base_cached"] is False
    with running_endpoint(state_dir=repo / ".quality" / "databricks") as endpoint, closing(connect(endpoint)) as c:
        schemas = [row[0] for row in Session(c, "main").query("show schemas in main")]
    assert [s for s in schemas if s.startswith(("prbase_", "prrerun_", "prhead_"))] == []
