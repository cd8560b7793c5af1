"""Public dbt projects of shapes our own sample does not have, adopted as a new user adopts theirs (issue 17).

Each is a small copy under tests/fixtures/public_projects/<name>/ with its licence (the README there names
the source repository, commit and licence); its SQL is as published, only trimmed. On a copy in a fresh
folder: `quality init` (in-process, as `uv run quality init` runs it), then `pytest` in that folder (a
subprocess, as the user runs it), then `quality gate`, each as the user would run it there: they pass, or,
where the harness must refuse, its one message names the cause and the fix, and the fix works.

- jaffle_shop_data_paths (dbt-labs/jaffle-shop-classic before dbt 1.0 renamed its folders): raw CSVs in
  `data/`, read through the pre-1.0 key `data-paths` (models under `source-paths`), no profiles.yml.
- dagster_dbt_snapshot (a dbt-duckdb project of dagster-dbt's tests): a `{% snapshot %}` block configured
  the old way, `config(target_schema='main', unique_key=..., strategy='check', ...)`.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from quality.cli import main
from tests.integration.test_plugin import _ephemeral_leftovers
from tests.integration.test_seeds_in_raw_schema import _query

pytestmark = pytest.mark.integration

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "public_projects"
# Settings of this checkout's own runs that a user's fresh project never sees.
AMBIENT = ("DBT_TARGET", "DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "QUALITY_DUCKDB_PATH", "QUALITY_KEEP_RUNS")


def plain(text: str) -> str:
    """Console output as one line: the console wraps long lines."""
    return " ".join(text.split())


def only_report(root: Path) -> dict[str, Any]:
    (path,) = (root / "artifacts" / "runs").glob("*/report.json")
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def adopt(
    name: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """The public project as a user's repository (dbt_project.yml at its root, a bare pyproject.toml, as
    `uv init --bare` leaves it), after `quality init` there; returns what init printed. pytester has made
    the folder the working directory and given it a HOME of its own (no ~/.dbt/profiles.yml)."""
    for variable in AMBIENT:
        monkeypatch.delenv(variable, raising=False)
    shutil.copytree(PUBLIC / name, pytester.path, dirs_exist_ok=True)
    (pytester.path / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0.1.0"\n', encoding="utf-8")
    assert main(["init"]) == 0
    return plain(capsys.readouterr().out)


def gate(pytester: pytest.Pytester) -> tuple[int, str]:
    """`quality gate` in the project folder, in a process of its own as the user runs it (this one then
    holds no connection to the warehouse file the test reads next)."""
    done = pytester.run(sys.executable, "-m", "quality.cli", "gate", timeout=300)
    return done.ret, plain(done.stdout.str() + done.stderr.str())


def test_raw_csvs_in_a_data_folder_read_through_data_paths_build_test_and_publish(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    init = adopt("jaffle_shop_data_paths", pytester, monkeypatch, capsys)
    assert "wrote 7 file(s)" in init
    profile = yaml.safe_load((pytester.path / "profiles.yml").read_text(encoding="utf-8"))  # it had none
    assert profile["jaffle_shop"]["target"] == "local"

    tests = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    tests.assert_outcomes(passed=2)
    tests.stdout.fnmatch_lines(["quality: raw fixtures: none (*); raw data: the project's seeds"])
    assert _ephemeral_leftovers(pytester.path) == []

    code, out = gate(pytester)

    assert code == 0, out
    report = only_report(pytester.path)
    assert report["status"] == "published"
    assert [test["status"] for test in report["tests"]].count("pass") == len(report["tests"]) == 20
    published = {f"{step['prod_schema']}.{step['prod_name']}": step["rows"] for step in report["published"]}
    assert published == {
        "main.raw_customers": 10,  # the seeds of data/, the trimmed copy's rows
        "main.raw_orders": 11,
        "main.raw_payments": 11,
        "main.stg_customers": None,  # views
        "main.stg_orders": None,
        "main.stg_payments": None,
        "main.customers": 10,
        "main.orders": 11,
    }
    warehouse = pytester.path / ".quality" / "warehouse.duckdb"
    assert _query(warehouse, "select sum(amount) from main.orders") == [
        [230.0]
    ]  # the payments of data/raw_payments.csv, in cents, / 100


SNAPSHOT_FILE = Path("snapshots") / "orders_snapshot.sql"


def test_an_old_style_snapshot_is_refused_with_its_file_line_and_the_fix_that_keeps_its_schema(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    init = adopt("dagster_dbt_snapshot", pytester, monkeypatch, capsys)
    snapshot = pytester.path / SNAPSHOT_FILE
    # init cannot route it (it never rewrites a file) and says so before the first run does
    assert f"note: snapshots configured with target_schema ({SNAPSHOT_FILE.as_posix()}:5): " in init
    refusal = (
        "snapshot orders_snapshot would be built in schema 'main', outside the ephemeral base '{base}': it is "
        f"configured with target_schema ('main', {snapshot}:5), which dbt uses as written, bypassing "
        "generate_schema_name, so the harness cannot route it. Remove target_schema from its config "
        "(dbt >= 1.9): the snapshot then lands in the target's own schema ('main'), where it lands now, "
        "through generate_schema_name."
    )

    tests = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--schema-prefix", "dev")

    tests.assert_outcomes(errors=2)  # both example tests need the build; nothing was built
    output = plain(tests.stdout.str())
    (base,) = set(re.findall(r"outside the ephemeral base '(dev_\w+)'", output))
    assert refusal.format(base=base) in output
    assert "Traceback" not in output
    assert _ephemeral_leftovers(pytester.path) == []

    code, out = gate(pytester)

    assert code == 1
    report = only_report(pytester.path)
    assert report["error"] == refusal.format(base=report["audit_base"])
    assert report["models"] == [], "refused before dbt built anything"

    # The fix the message gives, as the user applies it; the snapshot stays where their own runs put it.
    text = snapshot.read_text(encoding="utf-8")
    snapshot.write_text(text.replace("        target_schema='main',\n", ""), encoding="utf-8")
    shutil.rmtree(pytester.path / "artifacts" / "runs")

    code, out = gate(pytester)  # builds and tests it as pytest does, in the audit schema, then publishes

    assert code == 0, out
    report = only_report(pytester.path)
    assert report["status"] == "published"
    published = {step["prod_name"]: step["prod_schema"] for step in report["published"]}
    assert published == {"raw_orders": "main", "orders": "main", "orders_snapshot": "main"}
    warehouse = pytester.path / ".quality" / "warehouse.duckdb"
    rows = _query(warehouse, "select order_id, status from main.orders_snapshot where dbt_valid_to is null order by 1")
    assert rows == [[1, "returned"], [2, "completed"], [3, "completed"]]
