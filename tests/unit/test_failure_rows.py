"""A failing unit test names its differing rows, expected and actual, never only dbt's arrows or its
generic "check the data types" text (issue 16, item 5a). The diffs are rendered by daff exactly as dbt-core
1.11 renders them (`TestRunner._get_daff_diff` and `_render_daff_diff`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import daff

from quality.dbt.failure_rows import explain, parse
from quality.dbt.runner import DbtRun, NodeResult, describe_failures
from quality.dbt.targets import Target


def dbt_message(expected: list[list[Any]], actual: list[list[Any]]) -> str:
    """The run result message dbt writes for a failing unit test (colours off)."""
    flags = daff.CompareFlags()
    flags.ordered = False
    alignment = daff.Coopy.compareTables(daff.PythonTableView(expected), daff.PythonTableView(actual), flags).align()
    diff = daff.TableDiff(alignment, flags)
    table = daff.PythonTableView([])
    diff.hilite(table)
    rendered = re.sub(r"\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])", "", daff.TerminalDiffRender().render(table))
    return f"\n\nactual differs from expected:\n\n{rendered}\n"


HEADER = ["order_id", "status", "amount"]


def test_a_changed_row_reads_as_the_expected_row_and_the_actual_one() -> None:
    message = dbt_message(
        [HEADER, [1, "placed", "10.00"], [2, "shipped", "4.00"]],
        [HEADER, [1, "placed", "10.00"], [2, "shipped", "3.00"]],
    )
    assert "→" in message, message  # what dbt shows: `→ ,2 ,shipped ,4.00→3.00`
    assert explain(message) == [
        "1 row(s) differ from the expected rows:",
        "  expected: order_id=2, status=shipped, amount=4.00",
        "  actual:   order_id=2, status=shipped, amount=3.00   (differs in amount)",
    ]


def test_missing_and_extra_rows_are_named_with_their_values_commas_and_spaces_kept() -> None:
    message = dbt_message(
        [HEADER, [1, "placed", "10.00"], [5, "a, b", "2.00"]],
        [HEADER, [1, "placed", "10.00"], [7, " padded ", "9.00"]],
    )
    diff = parse(message)
    assert diff is not None, message
    assert (diff.missing, diff.extra, diff.changed) == (
        [{"order_id": "5", "status": "a, b", "amount": "2.00"}],
        [{"order_id": "7", "status": "padded", "amount": "9.00"}],
        [],
    )
    assert explain(message) == [
        "2 row(s) differ from the expected rows:",
        "  missing (expected, not produced): order_id=5, status=a, b, amount=2.00",
        "  extra (produced, not expected): order_id=7, status=padded, amount=9.00",
    ]


def test_a_long_diff_is_cut_and_counted() -> None:
    expected = [HEADER, *([n, "placed", "1.00"] for n in range(15))]
    actual = [HEADER, *([n, "placed", "2.00"] for n in range(15))]
    lines = explain(dbt_message(expected, actual)) or []
    assert lines[0] == "15 row(s) differ from the expected rows:"
    assert lines[-1] == "  ... and 5 more differing row(s)"
    assert len(lines) == 1 + 2 * 10 + 1


def test_the_generic_data_types_hint_gives_way_to_the_database_error() -> None:
    message = (
        "An error occurred during execution of unit test 'fct_sales_bad_type'. There may be an error in the unit "
        "test definition: check the data types.\n Runtime Error\n  Conversion Error: Could not convert string "
        '"abc" to DECIMAL(18,2)'
    )
    assert explain(message) == [
        "the unit test's rows could not be compared: Runtime Error",
        'Conversion Error: Could not convert string "abc" to DECIMAL(18,2)',
    ]
    assert explain("Got 3 results, configured to fail if != 0") is None


def node(message: str) -> NodeResult:
    return NodeResult(
        unique_id="unit_test.shop.fct_sales.fct_sales_casts_amount",
        name="fct_sales_casts_amount",
        resource_type="unit_test",
        status="fail",
        execution_time=0.1,
        rows_affected=None,
        message=message,
        failures=1,
        schema=None,
        compiled_path=None,
        tested_model="fct_sales",
    )


def test_the_plugin_and_gate_failure_text_shows_the_rows() -> None:
    message = dbt_message([HEADER, [2, "shipped", "4.00"]], [HEADER, [2, "shipped", "3.00"]])
    run = DbtRun(args=("build",), success=False, nodes=(node(message),), target_path=Path("."), elapsed=1.0)
    text = describe_failures(
        run, Target(name="local", engine="duckdb", schema="main", duckdb_path=Path("shop.duckdb")), "ci_base"
    )
    assert (
        "  - unit_test fct_sales_casts_amount on model fct_sales [fail]: 1 row(s) differ from the expected rows:\n"
        "        expected: order_id=2, status=shipped, amount=4.00\n"
        "        actual:   order_id=2, status=shipped, amount=3.00   (differs in amount)\n"
    ) in text
