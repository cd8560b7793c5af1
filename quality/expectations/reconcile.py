"""Reconciliations and row rules declared in YAML, compiled into `unexpected_rows` queries.

    - expectation: reconcile                  # a mart against its source or an upstream model
      against: "{ref:stg_orders}"             # or "{source:raw.orders}"
      group_by: {batch: order_date, against: "cast(ordered_at as date)"}   # or one expression for both
      measures:                               # each: one expression for both, or batch/against
        - "count(*)"
        - {batch: "sum(net_amount)", against: "sum(amount)"}
      tolerance: 0.005                        # absolute, per measure and group (default 0)

    - expectation: row_condition              # columns of one row that must agree
      condition: "order_date = cast(ordered_at as date)"

A failing reconciliation returns one row per group that differs, with each measure's actual (this model)
and expected (`against`) value, so the report reads "order_date=2026-03-02: count 12, expected 14".
The SQL is plain (full outer join, coalesce, abs) and runs on DuckDB and Databricks alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

RECONCILE: Final = "reconcile"
ROW_CONDITION: Final = "row_condition"
KINDS: Final = frozenset({RECONCILE, ROW_CONDITION})
KEYS: Final = {
    RECONCILE: frozenset({"against", "group_by", "measures", "tolerance"}),
    ROW_CONDITION: frozenset({"condition"}),
}
ALL_KEYS: Final = frozenset().union(*KEYS.values())


def shape_problems(name: str, item: Mapping[str, Any], where: str) -> list[str]:
    """What is wrong with a declaration (empty when it compiles)."""
    problems = [
        f"{where}: `{key}` belongs to `expectation: {_owner(key)}`" for key in ALL_KEYS & set(item) - KEYS[name]
    ]
    if name == ROW_CONDITION:
        if not _text(item.get("condition")):
            problems.append(f"{where}: a row_condition needs `condition: <SQL that is true for every row>`")
        return problems
    if not _text(item.get("against")):
        problems.append(f'{where}: a reconcile needs `against: "{{ref:model}}"` or `"{{source:source.table}}"`')
    measures = item.get("measures")
    if not isinstance(measures, list) or not measures or not all(_pair(m) for m in measures):
        problems.append(
            f"{where}: `measures` is a list of SQL aggregates, each a string or {{batch: ..., against: ...}}, "
            'e.g. ["count(*)", "sum(net_amount)"]'
        )
    if "group_by" in item and not _pair(item["group_by"]):
        problems.append(f"{where}: `group_by` is an expression, or {{batch: ..., against: ...}}")
    tolerance = item.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        problems.append(f"{where}: `tolerance` is a number >= 0 (an absolute difference), got {tolerance!r}")
    return problems


def compile_query(name: str, item: Mapping[str, Any]) -> str:
    """The `unexpected_rows` query of a declaration that `shape_problems` accepted."""
    if name == ROW_CONDITION:
        return f"select * from {{batch}} where not coalesce(({item['condition']}), false)"
    measures = [pair for m in item["measures"] if (pair := _pair(m))]
    group = _pair(item["group_by"]) if "group_by" in item else None
    tolerance = float(item.get("tolerance", 0))
    sides = []
    for side, relation in (("batch", "{batch}"), ("against", str(item["against"]))):
        index = 0 if side == "batch" else 1
        columns = [f"{measure[index]} as m{number}" for number, measure in enumerate(measures)]
        if group is None:
            sides.append(f"{side}_side as (select 1 as group_key, {', '.join(columns)} from {relation})")
        else:
            key = group[index]
            sides.append(
                f"{side}_side as (select {key} as group_key, {', '.join(columns)} from {relation} group by {key})"
            )
    compared = ", ".join(f"b.m{n} as {_label(m[0])}, a.m{n} as {_label(m[0])}_expected" for n, m in enumerate(measures))
    differs = " or ".join(
        f"abs(coalesce(b.m{n}, 0) - coalesce(a.m{n}, 0)) > {tolerance!r}" for n in range(len(measures))
    )
    return (
        f"with {', '.join(sides)} "
        f"select coalesce(b.group_key, a.group_key) as group_key, {compared} "
        "from batch_side b full outer join against_side a on b.group_key = a.group_key "
        f"where b.group_key is null or a.group_key is null or {differs}"
    )


def _pair(value: Any) -> tuple[str, str] | None:
    """(batch expression, against expression) from a string or a {batch, against} mapping."""
    if _text(value):
        return str(value), str(value)
    if isinstance(value, Mapping) and set(value) == {"batch", "against"} and all(_text(v) for v in value.values()):
        return str(value["batch"]), str(value["against"])
    return None


def _label(expression: str) -> str:
    """A column name for a measure: `sum(net_amount)` -> `sum_net_amount`."""
    cleaned = "".join(c if c.isalnum() else "_" for c in expression.lower()).strip("_")
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned or "measure"


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _owner(key: str) -> str:
    return next(kind for kind, keys in KEYS.items() if key in keys)
