"""quality.wap.diff on the embedded engine: keyed and whole-row comparison, examples, float tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.wap.diff import ModelDiff, diff_model, diff_rows


@pytest.fixture
def engine(tmp_path: Path) -> DuckDBEngine:
    engine = DuckDBEngine(tmp_path / "diff.duckdb")
    engine.execute("create table before_t (id int, amount double, label varchar)")
    engine.execute("create table after_t (id int, amount double, label varchar)")
    engine.execute(
        "insert into before_t values (1, 0.1::double + 0.2::double, 'a'), (2, 10.0, 'b'), (3, 5.0, null), (4, 1.0, 'd')"
    )
    # row 1: the same sum in another order; row 2: a real change; row 3: NULL -> value; row 4 gone; row 5 new
    engine.execute("insert into after_t values (1, 0.3, 'a'), (2, 10.01, 'b'), (3, 5.0, 'c'), (5, 2.0, 'e')")
    return engine


def test_floats_differ_only_beyond_the_tolerance_and_nulls_always(engine: DuckDBEngine) -> None:
    diff = ModelDiff("t", ["id"], '"main"."after_t"', '"main"."before_t"')
    diff_model(
        engine,
        diff,
        ["id", "amount", "label"],
        ["id", "amount", "label"],
        examples=2,
        approximate=frozenset({"amount"}),
    )
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 1, 2, 1)
    assert diff.column_changes == {"amount": 1, "label": 1}
    assert diff.examples["amount"] == [((2,), 10.0, 10.01)]
    assert diff.examples["label"] == [((3,), None, "c")]
    assert diff.added_examples == [(5,)]
    assert diff.removed_examples == [(4,)]


def test_exact_comparison_sees_the_float_noise(engine: DuckDBEngine) -> None:
    diff = ModelDiff("t", ["id"], '"main"."after_t"', '"main"."before_t"')
    diff_model(engine, diff, ["id", "amount"], ["id", "amount"])
    assert diff.column_changes == {"amount": 2}


def test_whole_rows_without_a_key_count_rows_only_in_one_side(engine: DuckDBEngine) -> None:
    diff = ModelDiff("t", [], '"main"."after_t"', '"main"."before_t"')
    diff_rows(engine, diff, ["id", "label"], ["id", "label"], examples=5, ignore=frozenset({"amount"}))
    assert (diff.added, diff.removed, diff.unchanged) == (2, 2, 2)
    assert diff.added_examples == [(3, "c"), (5, "e")]
    assert diff.removed_examples == [(3, None), (4, "d")]
