"""Warnings are not a way through (issue 16, item 4): through `quality gate` on a small project, a warning
the last publish did not have fails the gate naming it, `--accept-new-warnings` publishes and records it, and
a warning the last publish had does not fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from quality.cli import main
from quality.engines.duckdb import DuckDBEngine
from tests.integration.mini_project import plain
from tests.integration.warehouse import fingerprint

pytestmark = pytest.mark.integration

# sale_id 1, 2, 3 with amounts 10.50, 20.00, 5.25 (mini_project.SALES_CSV)
OLD_WARNING = "data_tests: [unique, {accepted_values: {arguments: {values: [1, 2]}, config: {severity: warn}}}]"
NEW_TEST_WARNING = (
    "data_tests: [{accepted_values: {arguments: {values: [10.5]}, config: {warn_if: '>1', error_if: '>5'}}}]"
)
NEW_EXPECTATION_WARNING = """
              - expectation: expect_column_values_to_be_between
                kwargs: {max_value: 15}
                severity: warn
                description: a sale above 15 is unusual"""


def gate(root: Path, *args: str) -> int:
    project, runs = str(root / "dbt"), str(root / "runs")
    return main(["gate", "--project-dir", project, "--artifacts-dir", runs, "--fixtures", "fixtures", *args])


def last_run(root: Path) -> Path:
    """The newest run folder (two runs in one second sort by their random part: order by start instead)."""
    return max((root / "runs").glob("*/report.json"), key=lambda path: read(path)["started_at"]).parent


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def query(root: Path, sql: str, params: list[Any] | None = None) -> list[tuple[object, ...]]:
    engine = DuckDBEngine(root / "shop.duckdb")
    try:
        if sql.startswith("drop"):
            engine.execute(sql)
            return []
        return engine.query(sql, params)
    finally:
        engine.close()


def add_new_warnings(project: Path) -> None:
    schema = project / "models" / "schema.yml"
    text = schema.read_text(encoding="utf-8")
    amount = "      - name: amount\n        data_type: decimal(18,2)\n"
    assert amount in text
    text = text.replace(amount, f"{amount}        {NEW_TEST_WARNING}\n")
    bound = "                kwargs: {min_value: 0}"
    assert bound in text
    schema.write_text(text.replace(bound, bound + NEW_EXPECTATION_WARNING), encoding="utf-8")


@pytest.fixture
def shop(shop: Path) -> Path:
    """The mini project (conftest's `shop`) with OLD_WARNING in place of fct_sales.sale_id's tests."""
    schema = shop / "dbt" / "models" / "schema.yml"
    text = schema.read_text(encoding="utf-8")
    assert "data_tests: [unique]" in text
    schema.write_text(text.replace("data_tests: [unique]", OLD_WARNING), encoding="utf-8")
    return shop


def test_new_warnings_fail_the_gate_until_accepted_and_old_ones_do_not(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first publish has no baseline: its warning is reported and recorded, not a failure.
    assert gate(shop) == 0, capsys.readouterr().out
    first = read(last_run(shop) / "report.json")
    (old,) = first["warnings"]
    assert (old["kind"], old["model"], old["column"], old["count"], old["new"]) == (
        "test",
        "fct_sales",
        "sale_id",
        1,
        False,
    )
    assert first["warnings_baseline"] is None
    out = plain(capsys.readouterr().out)
    assert (
        "warned test accepted_values_fct_sales_sale_id__1__2 on model fct_sales, column sale_id: 1 failing row(s)"
        in out
    )

    # The same warning at the next gate is an old one: it publishes.
    assert gate(shop) == 0
    second = read(last_run(shop) / "report.json")
    assert (second["status"], second["warnings_baseline"]) == ("published", first["run_id"])
    assert [w["new"] for w in second["warnings"]] == [False]
    capsys.readouterr()

    # A test whose warn_if trips and a GX expectation of severity warn, new: the gate fails naming them.
    add_new_warnings(shop / "dbt")
    before = fingerprint(shop / "shop.duckdb")
    assert gate(shop) == 1
    failed = read(last_run(shop) / "report.json")
    assert failed["status"] == "failed"
    error = failed["error"]
    assert f"2 new warning(s), which the last publish (run {second['run_id']}) did not have:" in error
    assert (
        "  - test accepted_values_fct_sales_amount__10_5 on model fct_sales, column amount: 2 failing row(s) "
        "(configured to warn if >1) [new]"
    ) in error
    assert (
        "  - expectation expect_column_values_to_be_between on model fct_sales, column amount: 1 unexpected "
        "(a sale above 15 is unusual) [new]"
    ) in error
    assert "pass --accept-new-warnings to publish with them" in error
    assert "accepted_values_fct_sales_sale_id" not in error, "the old warning is not a new one"
    assert "Nothing was published" in error
    assert fingerprint(shop / "shop.duckdb") == before
    out = plain(capsys.readouterr().out)
    assert "2 failing row(s) (configured to warn if >1) [new]" in out
    assert "column sale_id: 1 failing row(s) [new]" not in out

    # Accepted: published, and the acceptance is on record in report.json, publish.json and the warehouse.
    assert gate(shop, "--accept-new-warnings") == 0
    accepted = last_run(shop)
    report, record = read(accepted / "report.json"), read(accepted / "publish.json")
    assert (report["status"], report["accepted_new_warnings"], record["accepted_new_warnings"]) == (
        "published",
        True,
        True,
    )
    assert sorted((w["name"], w["new"]) for w in record["warnings"]) == [
        ("accepted_values_fct_sales_amount__10_5", True),
        ("accepted_values_fct_sales_sale_id__1__2", False),
        ("expect_column_values_to_be_between", True),
    ]
    assert "2 new warning(s) accepted with --accept-new-warnings" in plain(capsys.readouterr().out)
    kept = query(shop, "select warnings from quality.publish_warnings where run_id = ?", [report["run_id"]])
    assert len(json.loads(str(kept[0][0]))) == 3

    # Accepted once, they are the last publish's warnings: the next gate publishes without the flag.
    assert gate(shop) == 0
    assert [w["new"] for w in read(last_run(shop) / "report.json")["warnings"]] == [False, False, False]


def test_a_published_run_without_a_warnings_record_falls_back_to_its_report(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gate(shop) == 0
    query(shop, "drop table quality.publish_warnings")
    assert gate(shop) == 0, capsys.readouterr().out
    assert [w["new"] for w in read(last_run(shop) / "report.json")["warnings"]] == [False]
