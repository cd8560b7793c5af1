"""`quality fidelity`'s verdict counts truly: "N of M differing rows shown", M every differing row, while the
list shows a sample (SAMPLE_LIMIT rows per relation and column)."""

from __future__ import annotations

import pyarrow as pa

from quality.commands.fidelity import summary
from quality.fidelity.compare import SAMPLE_LIMIT, Difference, FidelityReport, compare_tables


def orders(amounts: list[int], ids: list[int] | None = None) -> pa.Table:
    ids = ids if ids is not None else list(range(len(amounts)))
    return pa.table({"id": pa.array(ids, pa.int64()), "amount": pa.array(amounts, pa.int64())})


def test_308_differing_rows_are_counted_all_and_the_sample_says_how_many_it_shows() -> None:
    reference = orders([1] * 1000)
    candidate = orders([2] * 308 + [1] * 692)

    comparison = compare_tables("fct_orders", reference, candidate, ["id"])
    report = FidelityReport(("local", "local_databricks"), relations=1, rows=1000)
    report.differences, report.differing_rows = comparison.differences, comparison.differing_rows

    assert comparison.differing_rows == 308
    assert len(comparison.differences) == SAMPLE_LIMIT == 5
    assert summary(report, "local", "local_databricks", 83.04) == (
        "local (DuckDB) and local_databricks (Databricks) over 1 relations in 83.0 s: 5 of 308 differing rows shown"
    )


def test_rows_on_one_engine_only_count_once_each_and_other_differences_are_named_apart() -> None:
    reference = orders([1, 1, 1, 1], ids=[1, 2, 3, 4])
    candidate = orders([1, 9, 1], ids=[1, 2, 5])  # 2 differs; 3 and 4 DuckDB only; 5 Databricks only

    comparison = compare_tables("fct_orders", reference, candidate, ["id"])
    report = FidelityReport(("local", "local_databricks"), relations=2, differing_rows=comparison.differing_rows)
    report.differences = [Difference("stg_x", "build", "failed on local_databricks: boom"), *comparison.differences]

    assert comparison.differing_rows == 4
    assert [d.kind for d in comparison.differences] == ["rows", "keys", "keys", "keys", "value"]
    assert summary(report, "local", "local_databricks", 1.0) == (
        "local (DuckDB) and local_databricks (Databricks) over 2 relations in 1.0 s: 4 of 4 differing rows shown, "
        "and 2 other difference(s) (failed builds, columns, types, row counts)"
    )


def test_a_row_with_several_differing_columns_is_one_differing_row() -> None:
    reference = pa.table({"id": [1], "a": [1], "b": ["x"]})
    candidate = pa.table({"id": [1], "a": [2], "b": ["y"]})

    comparison = compare_tables("t", reference, candidate, ["id"])
    report = FidelityReport(("local", "c"), relations=1, differences=comparison.differences, differing_rows=1)

    assert comparison.differing_rows == 1
    assert summary(report, "local", "c", 1.0).endswith("1 of 1 differing rows shown")
