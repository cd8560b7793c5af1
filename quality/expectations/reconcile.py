"""Reconciliations and row rules declared in YAML, compiled into `unexpected_rows` queries.

    - expectation: reconcile                  # a mart against its source or an upstream model
      against: "{ref:stg_orders}"             # or "{source:raw.orders}"
      group_by: {batch: order_date, against: "cast(ordered_at as date)"}   # or one expression for both
      measures:                               # each: one expression for both, or batch/against
        - "count(*)"
        - {batch: "sum(net_amount)", against: "sum(amount)"}
      tolerance: 0.005                        # absolute, per measure and group (default 0)
      key: order_id                           # optional: the row key, or {batch: ..., against: ...}


    - expectation: row_condition              # columns of one row that must agree
      condition: "order_date = cast(ordered_at as date)"

A failing reconciliation returns one row per group that differs, with each measure's actual (this model)
and expected (`against`) value, so the report reads "order_date=2026-03-02: count 12, expected 14".
With a `key`, each such row also says which rows: `missing_keys` (keys of `against` the model lacks) and
`extra_keys` (keys of the model `against` lacks), each a count, and `missing_key_examples` /
`extra_key_examples`, the smallest few of them (as text, comma-separated).
The SQL is plain (full outer join, coalesce, abs) and runs on DuckDB and Databricks alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

RECONCILE: Final = "reconcile"
ROW_CONDITION: Final = "row_condition"
KINDS: Final = frozenset({RECONCILE, ROW_CONDITION})
KEYS: Final = {
    RECONCILE: frozenset({"against", "group_by", "measures", "tolerance", "key"}),
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
    for name_ in ("group_by", "key"):
        if name_ in item and not _pair(item[name_]):
            problems.append(f"{where}: `{name_}` is an expression, or {{batch: ..., against: ...}}")
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
    row_key = _pair(item["key"]) if "key" in item else None
    keyed = _key_ctes(row_key, group, str(item["against"])) if row_key else ""
    return (
        f"with {', '.join(sides)}{keyed} "
        f"select coalesce(b.group_key, a.group_key) as group_key, {compared}{_KEY_COLUMNS if row_key else ''} "
        "from batch_side b full outer join against_side a on b.group_key = a.group_key "
        f"{_KEY_JOINS if row_key else ''}"
        f"where b.group_key is null or a.group_key is null or {differs}"
    )


EXAMPLES = 3  # missing and extra keys named per differing group
_KEY_COLUMNS = (
    ", coalesce(mk.n, 0) as missing_keys, mk.examples as missing_key_examples, "
    "coalesce(xk.n, 0) as extra_keys, xk.examples as extra_key_examples"
)
_KEY_JOINS = (
    "left join missing_keys mk on mk.group_key = coalesce(b.group_key, a.group_key) "
    "left join extra_keys xk on xk.group_key = coalesce(b.group_key, a.group_key) "
)


def _key_ctes(key: tuple[str, str], group: tuple[str, str] | None, against: str) -> str:
    """CTEs `missing_keys` and `extra_keys`: per group, how many keys one side lacks and the smallest few.

    Portable SQL (DuckDB, Spark, Databricks): the examples are numbered with row_number and joined with
    concat_ws, which skips NULLs; no array or string aggregate, whose names differ between engines.
    """
    ctes = []
    for side, relation, index in (("batch", "{batch}", 0), ("against", against, 1)):
        group_key = group[index] if group else "1"
        ctes.append(f"{side}_keys as (select distinct {group_key} as group_key, {key[index]} as k from {relation})")
    for name, this, other in (("missing", "against", "batch"), ("extra", "batch", "against")):
        ctes.append(
            f"{name}_rows as (select t.group_key, t.k, row_number() over (partition by t.group_key order by t.k) as r "
            f"from {this}_keys t left join {other}_keys o on o.group_key = t.group_key and o.k = t.k "
            "where o.k is null and t.k is not null)"
        )
        examples = ", ".join(f"max(case when r = {n} then cast(k as string) end)" for n in range(1, EXAMPLES + 1))
        ctes.append(
            f"{name}_keys as (select group_key, count(*) as n, concat_ws(', ', {examples}) as examples "
            f"from {name}_rows group by group_key)"
        )
    return ", " + ", ".join(ctes)


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
