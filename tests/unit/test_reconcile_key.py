"""A reconcile with a `key` names the rows behind a count that differs: how many keys are missing from the
model and how many are extra, with the smallest few of each, per group (issue 16, item 5b)."""

from __future__ import annotations

from datetime import date

import duckdb

from quality.expectations.reconcile import compile_query, shape_problems

ITEM = {
    "against": "raw_orders",
    "group_by": {"batch": "order_date", "against": "cast(ordered_at as date)"},
    "measures": ["count(*)"],
    "key": {"batch": "order_id", "against": "id"},
}


def test_each_differing_group_lists_missing_and_extra_keys() -> None:
    connection = duckdb.connect()
    connection.execute(
        "create table raw_orders as select * from (values (1, timestamp '2026-03-01 10:00'), "
        "(2, timestamp '2026-03-01 11:00'), (3, timestamp '2026-03-01 12:00'), (4, timestamp '2026-03-01 13:00'), "
        "(5, timestamp '2026-03-01 14:00'), (6, timestamp '2026-03-02 09:00')) as t(id, ordered_at)"
    )
    connection.execute(
        "create table fct_orders as select * from (values (1, date '2026-03-01'), (9, date '2026-03-01'), "
        "(6, date '2026-03-02')) as t(order_id, order_date)"
    )
    query = compile_query("reconcile", ITEM).replace("{batch}", "fct_orders")
    cursor = connection.execute(query)
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    assert rows == [
        {
            "group_key": date(2026, 3, 1),
            "count": 2,
            "count_expected": 5,
            "missing_keys": 4,
            "missing_key_examples": "2, 3, 4",  # the smallest three of 2, 3, 4, 5
            "extra_keys": 1,
            "extra_key_examples": "9",
        }
    ], "2026-03-02 reconciles (one order on each side) and is not listed"


def test_without_a_key_the_query_is_as_before() -> None:
    plain = {key: value for key, value in ITEM.items() if key != "key"}
    assert "missing_keys" not in compile_query("reconcile", plain)


def test_a_key_that_is_not_an_expression_is_refused() -> None:
    assert shape_problems("reconcile", {**ITEM, "key": 5}, "fct_orders") == [
        "fct_orders: `key` is an expression, or {batch: ..., against: ...}"
    ]
    assert shape_problems("reconcile", ITEM, "fct_orders") == []
