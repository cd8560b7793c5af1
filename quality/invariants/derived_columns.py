"""A column computed twice from the same source columns agrees between the two models.

Column lineage (sqlglot over each model's compiled SQL, resolved across models down to sources, seeds and
snapshots) finds, for every output column, the model that computes it (its origin: pass-throughs and casts
lead back to it) and the source columns it reads. Two columns with different origins are compared when
  - their resolved expressions are the same (e.g. one CASE mapping a status in two models), or
  - they have the same name and read the same source columns (the same flag computed twice, maybe differently),
and neither aggregates (sums and counts are reconciled by `measures`). Rows are joined on a column both
models have and one of them declares unique (a `unique` test, `unique_key`, or a primary key constraint).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

from sqlglot import exp

from quality.engines.base import Engine
from quality.invariants.lineage import Leaf, is_aggregated, leaves, passthrough, strip
from quality.invariants.model import Check, Node, is_numeric, quote, ref, rows_check
from quality.invariants.project import Project

MAX_PAIRS_PER_GROUP = 6


@dataclass(frozen=True)
class Definition:
    unique_id: str
    column: str
    text: str  # the resolved expression, normalized (casts of the same value dropped)
    inputs: frozenset[Leaf]  # the source columns it reads (leaf relation = a unique id)
    origin: tuple[str, str]  # (unique id, column) of the model column that computes it
    trivial: bool  # the resolved expression is a bare source column


def plan(project: Project) -> list[Check]:
    definitions = [d for d in collect(project) if d.origin[0] in project.lineage.local]
    groups: dict[tuple[str, ...], list[Definition]] = defaultdict(list)
    for definition in definitions:
        groups[("name", definition.column, *sorted(map(str, definition.inputs)))].append(definition)
        if not definition.trivial:
            groups[("expression", definition.text)].append(definition)
    checks: list[Check] = []
    seen: set[frozenset[tuple[str, str]]] = set()
    for members in groups.values():
        checks += [_agreement(project, pair) for pair in _pairs(project, members, seen)]
    return checks


def collect(project: Project) -> list[Definition]:
    lineage = project.lineage
    found = []
    for unique_id, columns in lineage.local.items():
        for name in columns:
            resolved = lineage.resolved(unique_id, name)
            if resolved is None or is_aggregated(resolved) or not (inputs := leaves(resolved)):
                continue
            text = lineage.normalized(resolved)
            trivial = isinstance(strip(resolved, keep_value_casts=False), exp.Column)
            found.append(
                Definition(unique_id, name, text, frozenset(inputs), origin_of(project, unique_id, name), trivial)
            )
    return found


def origin_of(project: Project, unique_id: str, column: str) -> tuple[str, str]:
    """The model column a pass-through chain starts from (or the source column, for a bare pass-through)."""
    lineage = project.lineage
    definition = lineage.column(unique_id, column)
    leaf = passthrough(definition.expression) if definition is not None else None
    if leaf is None:
        return unique_id, column
    upstream = lineage.node_of(leaf)
    if upstream is not None and lineage.column(upstream, leaf.column) is not None:
        return origin_of(project, upstream, leaf.column)
    return upstream or leaf.relation, leaf.column


def _pairs(
    project: Project, members: list[Definition], seen: set[frozenset[tuple[str, str]]]
) -> list[tuple[Definition, Definition, str]]:
    origins = sorted({m.origin for m in members})
    pairs: list[tuple[Definition, Definition, str]] = []
    for first, second in combinations(origins, 2):
        if len(pairs) >= MAX_PAIRS_PER_GROUP or frozenset((first, second)) in seen:
            continue
        joined = _joinable(
            project, [m for m in members if m.origin == first], [m for m in members if m.origin == second]
        )
        if joined is not None:
            seen.add(frozenset((first, second)))
            pairs.append(joined)
    return pairs


def _joinable(
    project: Project, left: list[Definition], right: list[Definition]
) -> tuple[Definition, Definition, str] | None:
    """The first two members (origins first) of different models that share a column unique in one of them."""
    for a in sorted(left, key=lambda d: (d.unique_id, d.column) != d.origin):
        for b in sorted(right, key=lambda d: (d.unique_id, d.column) != d.origin):
            if a.unique_id == b.unique_id:
                continue
            key = join_key(project, a.unique_id, b.unique_id)
            if (
                key is not None
                and {a.column} <= set(project.columns(a.unique_id))
                and {b.column} <= set(project.columns(b.unique_id))
            ):
                return a, b, key
    return None


def join_key(project: Project, first: str, second: str) -> str | None:
    a, b = project.nodes[first], project.nodes[second]
    shared = set(project.columns(first)) & set(project.columns(second))
    keys = sorted(
        shared & (a.unique_columns | b.unique_columns), key=lambda k: (k not in a.unique_columns & b.unique_columns, k)
    )
    return keys[0] if keys else None


def _agreement(project: Project, pair: tuple[Definition, Definition, str]) -> Check:
    a, b, key = pair
    left, right = project.nodes[a.unique_id], project.nodes[b.unique_id]
    inputs = ", ".join(sorted(_leaf_name(project, leaf) for leaf in a.inputs))
    same = "the same expression" if a.text == b.text else f"the same source column(s) ({inputs})"
    rule = f"{left.name}.{a.column} and {right.name}.{b.column} are computed from {same}: they agree for the same {key}"
    types = (project.columns(a.unique_id)[a.column], project.columns(b.unique_id)[b.column])
    sql = _disagreement_sql(left, right, a.column, b.column, key, types)
    return rows_check("derived_columns_agree", (left, right), (a.column, b.column), rule, sql)


def _disagreement_sql(
    left: Node, right: Node, a: str, b: str, key: str, types: tuple[str, str]
) -> Callable[[Engine], str]:
    def sql(engine: Engine) -> str:
        x, y, k = f"l.{quote(engine, a)}", f"r.{quote(engine, b)}", quote(engine, key)
        differs = f"not ({x} is not distinct from {y})"
        if all(is_numeric(t) for t in types):
            allowed = _tolerance(types)
            differs = (
                f"(({x} is null) <> ({y} is null) or abs(cast({x} as double) - cast({y} as double)) > "
                f"{allowed} + 1e-9 * abs(cast({x} as double)))"
            )
        return (
            f"select l.{k} as {quote(engine, key)}, {x} as {quote(engine, left.name + '.' + a)}, "
            f"{y} as {quote(engine, right.name + '.' + b)} from {ref(engine, left.relation)} as l "
            f"join {ref(engine, right.relation)} as r on l.{k} = r.{k} where {differs}"
        )

    return sql


def _tolerance(types: tuple[str, str]) -> float:
    """Half a unit of the coarsest decimal scale of the two columns (0 for integers and floats)."""
    scales = [int(m.group(1)) for t in types if (m := re.search(r"decimal\d*\(\d+,\s*(\d+)\)", t))]
    return 0.5 * 10 ** -min(scales) if scales else 0.0


def _leaf_name(project: Project, leaf: Leaf) -> str:
    node = project.nodes.get(leaf.relation)
    return f"{node.name if node else leaf.relation}.{leaf.column}"
