"""`.github/scripts/slim_ci.py` end to end on the embedded engine: a prod manifest as state, a changed model,
the changes built in an ephemeral `pr<N>` schema base from the raw fixtures, then dropped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from quality.dbt.project import load_project
from quality.dbt.runner import DbtInvoker
from quality.dbt.targets import resolve_target
from tests.integration.mini_project import FCT_SALES, write_mini_project
from tests.unit.test_workflows import slim_ci

pytestmark = pytest.mark.integration

ARGS = ["--state-dir", "state", "--schema-prefix", "pr42", "--fixtures", "fixtures", "--project-dir", "dbt"]
SELECTED = (
    "@state:new @state:modified.body @state:modified.configs @state:modified.persisted_descriptions "
    "@state:modified.macros @state:modified.contract --indirect-selection cautious"
)
DBT_LOG_LINE = re.compile(r"^(\x1b\[0m)?\d\d:\d\d:\d\d ")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mini project with the manifest of its published code in state/local, as the deploy uploads it."""
    write_mini_project(tmp_path)
    monkeypatch.chdir(tmp_path)  # relative paths, as the PR workflow passes them; ./.quality for the workspace
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(tmp_path / "shop.duckdb"))
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)  # a fork: no secrets, the embedded engine
    project = load_project(tmp_path / "dbt")
    DbtInvoker(project, resolve_target(project, "local"), tmp_path / "state" / "local", quiet=True).parse()
    return tmp_path


def change_fct_sales(shop: Path, sql: str) -> None:
    (shop / "dbt" / "models" / "marts" / "fct_sales.sql").write_text(sql, encoding="utf-8")


def built(shop: Path) -> dict[str, str]:
    """unique_id -> status of the slim build, from its run_results.json."""
    (results,) = (shop / "artifacts" / "slim-ci").glob("pr42_*/target/run_results.json")
    return {r["unique_id"]: r["status"] for r in json.loads(results.read_text(encoding="utf-8"))["results"]}


def script_lines(output: str) -> list[str]:
    """What slim_ci.py itself printed, without dbt's own log lines (`<ansi reset>hh:mm:ss  ...`)."""
    return [line for line in output.splitlines() if not DBT_LOG_LINE.match(line)]


def assert_nothing_left(shop: Path) -> None:
    assert list((shop / ".quality" / "ephemeral").glob("*.duckdb")) == [], "the pr42 workspace is dropped"


def test_a_changed_model_is_built_with_its_parents_and_tests_and_passes(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change_fct_sales(shop, FCT_SALES + " where amount >= 0")

    assert slim_ci().main(ARGS) == 0

    lines = script_lines(capsys.readouterr().out)
    state = (shop / "state" / "local").resolve()
    assert re.fullmatch(
        rf"slim CI on target 'local' \(duckdb at .+\) in schema base pr42_\d{{8}}t\d{{6}}_\w+: "
        rf"dbt build --select {re.escape(SELECTED)} --state {re.escape(str(state))}",
        lines[0],
    ), lines[0]
    assert lines[1:] == ["3 node(s) run, 0 failed"]
    statuses = built(shop)
    assert {uid.rsplit(".", 1)[0] if uid.startswith("test.") else uid: s for uid, s in statuses.items()} == {
        "model.shop.stg_sales": "success",
        "model.shop.fct_sales": "success",
        "test.shop.unique_fct_sales_sale_id": "pass",
    }
    assert_nothing_left(shop)


def test_a_change_that_breaks_a_test_exits_1_naming_the_failed_test(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change_fct_sales(shop, FCT_SALES + " union all select 1 as sale_id, cast(1 as decimal(18, 2)) as amount")

    assert slim_ci().main(ARGS) == 1

    lines = script_lines(capsys.readouterr().out)
    assert lines[1:] == [
        "3 node(s) run, 1 failed",
        "  fail: test.shop.unique_fct_sales_sale_id.b56f71d5ff: Got 1 result, configured to fail if != 0",
    ]
    assert_nothing_left(shop)
