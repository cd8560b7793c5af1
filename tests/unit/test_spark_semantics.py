"""The endpoint's rewrites to Spark's semantics edit only the calls they cover, wherever they are nested.
(That each rewrite gives Spark's answer is proven against the recorded corpus: test_conformance.py.)"""

from __future__ import annotations

import pytest

from quality.emulator.gaps import sail_spelling
from quality.emulator.spark_semantics import rewrite


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select extract(dow from d) from t", "select dayofweek(d) from t"),
        ("select EXTRACT(DayOfWeek FROM d)", "select dayofweek(d)"),
        ("select date_part('dow', d)", "select dayofweek(d)"),
        ("select extract(dayofweek_iso from d)", "select extract(isodow FROM d)"),
        ("select extract(year from d), date_part('month', d)", "select extract(year from d), date_part('month', d)"),
        ("select log(x), log(2, x)", "select ln(x), (CASE WHEN (2) <= 0 OR (x) <= 0 THEN NULL ELSE log(2, x) END)"),
        ("select weekday(d)", "select ((dayofweek(d) + 5) % 7)"),
    ],
)
def test_a_covered_call_is_rewritten_and_the_rest_is_kept_as_written(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected


def test_calls_inside_calls_and_joins_are_rewritten_but_left_join_and_strings_are_not() -> None:
    sql = "select upper(left(s, n)), 'left(a, -1)' from t left join u on log(a) = 1"

    rewritten = rewrite(sql)

    assert rewritten == (
        "select upper((CASE WHEN (n) <= 0 THEN substring(s, 1, 0) ELSE left(s, n) END)), 'left(a, -1)' "
        "from t left join u on ln(a) = 1"
    )


def test_a_qualified_call_is_a_users_function_and_is_left_alone() -> None:
    sql = "select my_schema.left(s, 2), main.udf.log(x)"
    assert rewrite(sql) == sql


def test_a_statement_that_does_not_tokenize_reaches_sail_unchanged() -> None:
    sql = "select left('unterminated, 2)"
    assert rewrite(sql) == sql


def test_every_statement_the_endpoint_runs_goes_through_the_rewrite() -> None:
    assert sail_spelling("select weekday(d) from t") == "select ((dayofweek(d) + 5) % 7) from t"
