"""The gate's summary names what warned: a 'warned 1' count alone does not say where to look."""

from __future__ import annotations

import pytest

from quality.commands.gate import print_summary, warned_lines
from quality.gate import GateReport


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
        {"name": "unique_fct_orders_order_id", "resource_type": "test", "status": "warn"},
        {"name": "not_null_fct_orders_order_id", "resource_type": "test", "status": "pass"},
    ]
    return report


def test_each_warned_expectation_and_test_is_named() -> None:
    assert warned_lines(_report()) == [
        "warned expectation: fct_orders.order_total expect_x (3 unexpected): no refunds",
        "warned expectation: dim_customers expect_x",
        "warned test: unique_fct_orders_order_id",
    ]


def test_the_summary_prints_the_warned_names_under_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(_report())
    out = capsys.readouterr().out
    table_end = out.index("published relations")
    named = out.index("warned expectation: fct_orders.order_total expect_x (3 unexpected): no refunds")
    assert table_end < named < out.index("PUBLISHED")


def test_a_summary_without_warnings_names_none(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(GateReport(run_id="20261130t120000_abcdef", target="local", status="published"))
    assert "warned expectation" not in capsys.readouterr().out
