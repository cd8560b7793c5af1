"""Which warnings are new, and the gate's message for them (issue 16, item 4); the gate itself is in
tests/integration/test_gate_warnings.py."""

from __future__ import annotations

from quality.wap.gate_warnings import Baseline, collect, failure, mark_new

TESTS = [
    {
        "unique_id": "test.shop.accepted_values_fct_sales_sale_id__1__2.eb2c57afab",
        "name": "accepted_values_fct_sales_sale_id__1__2",
        "status": "warn",
        "failures": 1,
        "message": "Got 1 result, configured to warn if != 0",
        "model": "fct_sales",
        "column": "sale_id",
    },
    {"unique_id": "test.shop.unique_fct_sales_sale_id.b56f71d5ff", "name": "unique", "status": "pass"},
]
EXPECTATIONS = [
    {"model": "fct_sales", "column": None, "expectation": "unexpected_rows", "severity": "warn", "success": False,
     "observed_value": 2, "unexpected_count": None, "description": "late sales"},
    {"model": "fct_sales", "column": "amount", "expectation": "x", "severity": "error", "success": False},
]  # fmt: skip


def test_warnings_are_the_warned_tests_and_failed_warn_expectations_with_their_counts() -> None:
    found = collect(TESTS, EXPECTATIONS)
    assert [(w.key, w.count) for w in found] == [
        ("test.shop.accepted_values_fct_sales_sale_id__1__2.eb2c57afab", 1),
        ("expectation:fct_sales::unexpected_rows:late sales", 2),
    ]
    assert found[1].describe() == "expectation unexpected_rows on model fct_sales: observed 2 (late sales)"


def test_no_publish_yet_means_no_baseline_and_no_failure() -> None:
    found = mark_new(collect(TESTS, EXPECTATIONS), None)
    assert [w.new for w in found] == [False, False]
    assert failure(found, None) is None


def test_only_warnings_the_last_publish_lacked_are_new() -> None:
    baseline = Baseline("20261206t010000_abcdef", frozenset({"expectation:fct_sales::unexpected_rows:late sales"}))
    found = mark_new(collect(TESTS, EXPECTATIONS), baseline)
    assert [w.new for w in found] == [True, False]
    assert failure(found, baseline) == (
        "1 new warning(s), which the last publish (run 20261206t010000_abcdef) did not have:\n"
        "  - test accepted_values_fct_sales_sale_id__1__2 on model fct_sales, column sale_id: 1 failing row(s) "
        "(configured to warn if != 0) [new]\n"
        "Warnings are not a way through: fix them, or pass --accept-new-warnings to publish with them (it is "
        "recorded in report.json and in the publish record)."
    )


def test_a_last_publish_whose_warnings_are_unknown_makes_every_warning_new() -> None:
    baseline = Baseline("20261206t010000_abcdef", None)
    found = mark_new(collect(TESTS, EXPECTATIONS), baseline)
    assert [w.new for w in found] == [True, True]
    assert "whose warnings are not recorded: every warning counts as new" in (failure(found, baseline) or "")
