"""Additive measures reconcile with the upstream column they sum or pass through (by day where they can).

For every numeric column of a model that is not a key, column lineage follows hops to upstream relations
while each hop keeps the total: a pass-through (casts, rounding, coalesce(x, 0)) of a column of the model's
FROM relation with no filter, DISTINCT, LIMIT or GROUP BY on the way; a plain `sum(x)`; or, between two
models, an expression of exactly one upstream column of the same name (a column keeping its name is taken to
keep its meaning). A unit conversion where data enters the project (a model reading a source, seed or
snapshot: `amount / 100 as amount` in staging, as many public projects write) is not a hop: that is where
such conversions belong. `quality pr` shows a changed conversion as changed values.
The model's total must equal the total of the deepest numeric column reached, per day of a date column
that reaches the same relation unchanged, within `tolerance` (config.meta.quality.invariants.tolerance,
default 0) plus half a unit of the model's decimal scale per row when the upstream column is finer.
Incremental models are not reconciled: they keep rows their current upstream no longer has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from quality.engines.base import Engine
from quality.invariants.lineage import ColumnDef, Leaf, is_aggregated, leaves, passthrough, summed
from quality.invariants.model import Check, Node, is_numeric, is_temporal, quote, ref, rows_check
from quality.invariants.project import Project

NOT_A_MEASURE = re.compile(
    r"(^|_)(id|key|sk|pk|fk|number|no|num|code|version|rank|year|quarter|month|week|day|hour|minute|second)$"
)
DECIMAL_SCALE = re.compile(r"decimal\d*\(\d+,\s*(\d+)\)")


@dataclass(frozen=True)
class Reconciliation:
    node: Node
    column: str
    upstream: Node
    upstream_column: str
    day: tuple[str, str] | None  # (model column, upstream column) to total by day
    tolerance: float
    per_row: float  # rounding allowed per row (the model rounds a finer upstream column)


def plan(project: Project) -> list[Check]:
    checks = []
    for node in project.of_type("model"):
        if node.materialized == "incremental":
            continue
        for column, kind in project.columns(node.relation.unique_id).items():
            if is_numeric(kind) and not NOT_A_MEASURE.search(column):
                found = reconciliation(project, node, column)
                if found is not None:
                    checks.append(_check(found))
    return checks


def hops(project: Project, unique_id: str, column: str, *, dates: bool = False) -> list[tuple[str, str]]:
    """(unique id, column) of each upstream relation the column reaches while its total (or day) is kept."""
    lineage, path, current = project.lineage, [], (unique_id, column)
    while current[0] in lineage.local:
        definition = lineage.column(*current)
        leaf, same_name = _hop(definition, current[1], dates) if definition is not None else (None, False)
        upstream = lineage.node_of(leaf) if leaf is not None else None
        if leaf is None or upstream is None or (upstream, leaf.column) in path:
            break
        if same_name and not upstream.startswith("model."):  # a conversion where data enters the project
            break
        path.append((upstream, leaf.column))
        current = (upstream, leaf.column)
    return path


def _hop(definition: ColumnDef, name: str, dates: bool) -> tuple[Leaf | None, bool]:
    """The upstream column the total passes to, and whether only by keeping its name (an expression)."""
    if not definition.resolvable or not definition.row_preserving:
        return None, False
    expression = definition.expression
    if (leaf := passthrough(expression)) is not None:
        return (leaf if dates or not definition.grouped else None), False
    if dates:
        return None, False
    if (leaf := summed(expression)) is not None:
        return leaf, False
    inputs = leaves(expression)
    if len(inputs) == 1 and not is_aggregated(expression) and not definition.grouped:
        (only,) = inputs
        return (only, True) if only.column == name else (None, False)
    return None, False


def reconciliation(project: Project, node: Node, column: str) -> Reconciliation | None:
    reached = [
        (uid, name) for uid, name in hops(project, node.relation.unique_id, column)
        if is_numeric(project.columns(uid).get(name, ""))
    ]  # fmt: skip
    if not reached:
        return None
    upstream_id, upstream_column = reached[-1]
    upstream = project.nodes[upstream_id]
    kinds = (project.columns(node.relation.unique_id)[column], project.columns(upstream_id)[upstream_column])
    tolerance = float(node.settings.get("tolerance", 0) or 0)
    return Reconciliation(
        node, column, upstream, upstream_column, _day(project, node, upstream_id), tolerance, _per_row(*kinds)
    )


def _day(project: Project, node: Node, upstream_id: str) -> tuple[str, str] | None:
    """A date column of the model that reaches a date column of the upstream relation unchanged."""
    for name, kind in project.columns(node.relation.unique_id).items():
        if not is_temporal(kind):
            continue
        for uid, upstream_name in hops(project, node.relation.unique_id, name, dates=True):
            if uid == upstream_id and is_temporal(project.columns(uid).get(upstream_name, "")):
                return name, upstream_name
    return None


def _per_row(model_type: str, upstream_type: str) -> float:
    model = DECIMAL_SCALE.search(model_type)
    if model is None:
        return 0.0
    upstream = DECIMAL_SCALE.search(upstream_type)
    if upstream is not None and int(upstream.group(1)) <= int(model.group(1)):
        return 0.0
    return 0.5 * 10 ** -int(model.group(1))


def _check(found: Reconciliation) -> Check:
    by = f" per day of {found.day[0]}" if found.day else ""
    rule = (
        f"the total of {found.node.name}.{found.column}{by} equals the total of "
        f"{found.upstream.name}.{found.upstream_column} it sums or passes through"
        + (f" (tolerance {found.tolerance})" if found.tolerance else "")
    )
    return rows_check("measures_reconcile", (found.node,), (found.column,), rule, _sql(found))


def _sql(found: Reconciliation) -> Callable[[Engine], str]:
    def sql(engine: Engine) -> str:
        def totals(node: Node, column: str, day: str | None) -> str:
            label = f"cast({quote(engine, day)} as date)" if day else "'all days'"
            grouping = " group by 1" if day else ""
            return (
                f"select {label} as day, sum(cast({quote(engine, column)} as double)) as total, count(*) as row_count "
                f"from {ref(engine, node.relation)}{grouping}"
            )

        day, upstream_day = found.day or (None, None)
        model = totals(found.node, found.column, day)
        upstream = totals(found.upstream, found.upstream_column, upstream_day)
        a, b = "coalesce(m.total, 0)", "coalesce(u.total, 0)"
        allowed = (
            f"{found.tolerance} + {found.per_row} * greatest(coalesce(m.row_count, 0), coalesce(u.row_count, 0)) "
            f"+ 1e-9 * greatest(abs({a}), abs({b}))"
        )
        return (
            f"select coalesce(m.day, u.day) as day, m.total as {quote(engine, found.node.name + '_total')}, "
            f"u.total as {quote(engine, found.upstream.name + '_total')} "
            f"from ({model}) as m full outer join ({upstream}) as u on m.day is not distinct from u.day "
            f"where abs({a} - {b}) > {allowed}"
        )

    return sql
