"""ValidationReport and format_failures: plain data in, one readable message out (no GX import)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.errors import HarnessError
from quality.expectations.report import ExpectationResult, HarnessProblem, ValidationReport, format_failures

UNIQUE_FAILED = ExpectationResult(
    model="fct_orders",
    column="order_id",
    expectation="expect_column_values_to_be_unique",
    severity="error",
    success=False,
    unexpected_count=2,
    unexpected_sample=(3, 3),
    description="one row per order",
)
ROWS_WARNED = ExpectationResult(
    model="fct_orders",
    column=None,
    expectation="unexpected_rows",
    severity="warn",
    success=False,
    observed_value=1,
    unexpected_count=1,
    unexpected_sample=({"order_id": 4, "order_total": 10.0, "lines_total": 12.5},),
)
ROW_COUNT_PASSED = ExpectationResult(
    model="fct_orders",
    column=None,
    expectation="expect_table_row_count_to_be_between",
    severity="error",
    success=True,
    observed_value=5,
)
METRIC_ERROR = HarnessProblem(
    model="fct_orders",
    column=None,
    expectation="unexpected_rows",
    message="Catalog Error: Table with name missing does not exist!",
)


def test_failures_warnings_and_ok_follow_severity() -> None:
    report = ValidationReport("run1", results=[UNIQUE_FAILED, ROWS_WARNED, ROW_COUNT_PASSED])

    assert report.failures() == [UNIQUE_FAILED]
    assert report.warnings() == [ROWS_WARNED]
    assert report.ok is False
    assert ValidationReport("run1", results=[ROWS_WARNED, ROW_COUNT_PASSED]).ok is True


def test_a_harness_error_alone_makes_the_report_not_ok_and_raises() -> None:
    report = ValidationReport("run1", results=[ROW_COUNT_PASSED], errors=[METRIC_ERROR])

    assert report.failures() == []
    assert report.ok is False
    with pytest.raises(HarnessError, match="could not be evaluated \\(a harness error, not a data failure\\)"):
        report.raise_for_errors()


def test_format_failures_lists_each_failure_with_observed_value_and_sample() -> None:
    report = ValidationReport(
        "ci_20261125t131000_ab12cd",
        results=[UNIQUE_FAILED, ROWS_WARNED, ROW_COUNT_PASSED],
        errors=[METRIC_ERROR],
        data_docs_index=Path("/tmp/docs/index.html"),
    )

    assert format_failures(report) == "\n".join(
        [
            "Great Expectations run ci_20261125t131000_ab12cd: 1 failed, 1 warning(s), 1 harness error(s) "
            "out of 4 checks.",
            "1 expectation(s) of run ci_20261125t131000_ab12cd could not be evaluated (a harness error, "
            "not a data failure); fix the query or the relation named below and re-run:",
            "- [harness] fct_orders unexpected_rows: Catalog Error: Table with name missing does not exist!",
            "- [FAILED] fct_orders.order_id expect_column_values_to_be_unique",
            "    rule: one row per order",
            "    unexpected: 2",
            "    sample: [3, 3]",
            "- [warn] fct_orders unexpected_rows",
            "    observed: 1",
            "    unexpected: 1",
            "    sample: [{'order_id': 4, 'order_total': 10.0, 'lines_total': 12.5}]",
            "Data Docs: /tmp/docs/index.html",
        ]
    )


def test_format_failures_is_empty_when_everything_passed() -> None:
    assert format_failures(ValidationReport("run1", results=[ROW_COUNT_PASSED])) == ""
