"""The gate's summary names what warned: a 'warned 1' count alone does not say where to look."""

from __future__ import annotations

import pytest

from quality.commands.gate import print_summary, warned_lines
from quality.wap.gate import GateReport


def _expectation(model: str, column: str | None, severity: str, success: bool, **more: object) -> dict[str, object]:
    return {
        "model": model,
        "column": column,
        "expectation": "expect_x",
        "severity": severity,
        "success": success,
        **more,
    }


def _report() -> GateReport:
    report = GateReport(run_id="20261130t120000_abcdef", target="local", status="published")
    report.expectations = [
        _expectation("fct_orders", "order_total", "warn", False, unexpected_count=3, description="no refunds"),
        _expectation("fct_orders", None, "warn", True),
        _expectation("dim_customers", None, "warn", False),
        _expectation("fct_sales", "amount", "error", True),
    ]
    report.tests = [
        {
            "unique_id": "test.retail.unique_fct_orders_order_id.1a2b3c",
            "name": "unique_fct_orders_order_id",
            "resource_type": "test",
            "status": "warn",
            "failures": 2,
            "message": "Got 2 results, configured to warn if != 0",
            "model": "fct_orders",
            "column": "order_id",
        },
        {"name": "not_null_fct_orders_order_id", "resource_type": "test", "status": "pass"},
    ]
    return report


def test_each_warned_expectation_and_test_is_named_with_its_count() -> None:
    assert warned_lines(_report()) == [
        "warned test unique_fct_orders_order_id on model fct_orders, column order_id: 2 failing row(s) "
        "(configured to warn if != 0)",
        "warned expectation expect_x on model fct_orders, column order_total: 3 unexpected (no refunds)",
        "warned expectation expect_x on model dim_customers",
    ]


def test_new_warnings_are_marked_and_their_acceptance_said() -> None:
    report = _report()
    report.warnings = [{"key": "test.retail.unique_fct_orders_order_id.1a2b3c", "new": True}]
    assert warned_lines(report)[0].endswith("(configured to warn if != 0) [new]")
    assert not warned_lines(report)[1].endswith("[new]")
    assert "1 new warning(s) accepted with --accept-new-warnings" not in warned_lines(report)
    report.accepted_new_warnings = True
    assert warned_lines(report)[-1] == "1 new warning(s) accepted with --accept-new-warnings"


def test_the_summary_prints_the_warned_names_under_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(_report())
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    table_end = out.index("published relations")
    named = out.index("warned expectation expect_x on model fct_orders, column order_total: 3 unexpected")
    assert table_end < named < out.index("PUBLISHED")


def test_a_summary_without_warnings_names_none(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(GateReport(run_id="20261130t120000_abcdef", target="local", status="published"))
    assert "warned test" not in capsys.readouterr().out
