"""Compare every relation two revisions built, by key, with `quality.wap.diff`'s machinery.

The key of a relation is `quality.wap.diff.comparison_key` (declared key, unique_key, primary key, unique test).
A snapshot is compared version by version: its unique_key plus the version's number in time order, so a
change that adds versions shows as added rows and a changed history as changed values. A relation whose
key is missing, not unique, or itself differs between two builds of the same code is compared as whole rows.

Columns whose values depend on when or where a build ran are found, not listed by hand: two builds of the
same base code on the same raw data are compared, and every column that differs between them is volatile
(`find_volatile`); those columns are left out of the review and listed in its report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quality.engines.base import Engine
from quality.wap.diff import ModelDiff, comparison_key, diff_model, diff_rows, inferred_key, is_unique, quality_meta
from quality.wap.review.build import BuiltRevision, Relation

VERSION_COLUMN = "quality_version"


@dataclass
class Volatility:
    """What differed between two builds of the same code: columns, and whether the key itself did."""

    columns: set[str] = field(default_factory=set)
    key_differs: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"columns": sorted(self.columns), "key_differs": self.key_differs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Volatility:
        return cls(set(data.get("columns", [])), bool(data.get("key_differs")))


@dataclass
class Comparison:
    """One relation of the head compared with the base; `diff` is None for a relation new in the head."""

    relation: Relation
    base: Relation | None
    diff: ModelDiff | None
    key_source: str
    note: str = ""


@dataclass(frozen=True)
class _Sides:
    """How both sides of one relation are read: SQL expressions (relation or versioned subquery) and key."""

    head: str
    base: str
    key: list[str]
    source: str
    note: str = ""


def find_volatile(engine: Engine, first: BuiltRevision, second: BuiltRevision) -> dict[str, Volatility]:
    """Compare two builds of the same code: per relation, the columns (and key) that differ between them."""
    found = {}
    for unique_id, relation in first.relations.items():
        again = second.relations.get(unique_id)
        if again is None:
            continue
        sides = _sides(engine, again, relation, first.manifest, Volatility())
        volatility = Volatility()
        if sides.key:
            diff = diff_model(
                engine,
                _model_diff(relation, sides),
                list(again.columns),
                list(relation.columns),
                approximate=relation.approximate,
            )
            volatility.columns = set(diff.column_changes)
            volatility.key_differs = bool(diff.added or diff.removed)
        if not sides.key or volatility.key_differs:
            volatility.columns |= _columns_differing_as_sets(engine, sides, relation.columns, again.columns)
        if volatility.columns or volatility.key_differs:
            found[unique_id] = volatility
    return found


def compare_revisions(
    engine: Engine,
    base: BuiltRevision,
    head: BuiltRevision,
    volatile: dict[str, Volatility],
    *,
    examples: int,
) -> list[Comparison]:
    """Every relation the head built, compared with the base's build of it (new ones have no diff)."""
    comparisons = []
    for unique_id, relation in sorted(head.relations.items(), key=lambda item: item[1].name):
        before = base.relations.get(unique_id)
        if before is None:
            comparisons.append(Comparison(relation, None, None, "new"))
            continue
        volatility = volatile.get(unique_id, Volatility())
        sides = _sides(engine, relation, before, head.manifest, volatility)
        diff = _model_diff(relation, sides)
        ignore = frozenset(volatility.columns)
        if sides.key:
            diff_model(
                engine,
                diff,
                list(relation.columns),
                list(before.columns),
                ignore=ignore,
                examples=examples,
                approximate=relation.approximate | before.approximate,
            )
        else:
            diff_rows(engine, diff, list(relation.columns), list(before.columns), ignore=ignore, examples=examples)
        comparisons.append(Comparison(relation, before, diff, sides.source, sides.note))
    return comparisons


def _model_diff(relation: Relation, sides: _Sides) -> ModelDiff:
    return ModelDiff(relation.name, list(sides.key), sides.head, sides.base)


def _sides(engine: Engine, head: Relation, base: Relation, manifest: dict[str, Any], volatility: Volatility) -> _Sides:
    head_ref, base_ref = (engine.relation_ref(r.schema, r.alias) for r in (head, base))
    key, source = _key(head, manifest)
    if head.resource_type == "snapshot" and key:
        return _versioned_sides(head, head_ref, base_ref, key)
    if not key:
        key = inferred_key(engine, head.columns, base.columns, (head_ref, base_ref), exclude=volatility.columns)
        source = "inferred: unique and not null in both builds" if key else ""
    missing = [k for k in key if k not in head.columns or k not in base.columns]
    if not key or missing or volatility.key_differs or key_is_volatile(key, volatility):
        why = _keyless_reason(key, missing, volatility)
        return _Sides(head_ref, base_ref, [], "whole rows", why)
    duplicated = [ref for ref in (head_ref, base_ref) if not is_unique(engine, ref, key)]
    if duplicated:
        note = f"key ({', '.join(key)}) is not unique in {' and '.join(duplicated)}: compared as whole rows"
        return _Sides(head_ref, base_ref, [], "whole rows", note)
    return _Sides(head_ref, base_ref, key, source)


def key_is_volatile(key: list[str], volatility: Volatility) -> bool:
    return any(column in volatility.columns for column in key)


def _keyless_reason(key: list[str], missing: list[str], volatility: Volatility) -> str:
    if not key:
        return "no key known (declare one under meta.quality.key, or add a unique test): compared as whole rows"
    if missing:
        return f"key column(s) {', '.join(missing)} missing on one side: compared as whole rows"
    return f"key ({', '.join(key)}) differs between two builds of the same code: compared as whole rows"


def _key(relation: Relation, manifest: dict[str, Any]) -> tuple[list[str], str]:
    node = relation.node
    declared = quality_meta(node).get("key")
    if relation.resource_type == "snapshot":
        unique = _as_columns(declared) or _as_columns((node.get("config") or {}).get("unique_key"))
        return unique, "snapshot unique_key and version"
    key = comparison_key(node, manifest)
    return key, "declared or tested key" if key else ""


def _as_columns(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(column) for column in value]


def _versioned_sides(head: Relation, head_ref: str, base_ref: str, key: list[str]) -> _Sides:
    """A snapshot's rows numbered per key in time order: version n of a key is compared with version n."""
    names = (head.node.get("config") or {}).get("snapshot_meta_column_names") or {}
    valid_from = str(names.get("dbt_valid_from") or "dbt_valid_from")
    order = valid_from if valid_from in head.columns else ", ".join(key)
    partition = ", ".join(key)

    def numbered(ref: str) -> str:
        return (
            f"(select *, row_number() over (partition by {partition} order by {order}) as {VERSION_COLUMN} from {ref})"
        )

    return _Sides(numbered(head_ref), numbered(base_ref), [*key, VERSION_COLUMN], "snapshot unique_key and version")


def _columns_differing_as_sets(
    engine: Engine, sides: _Sides, first: tuple[str, ...], second: tuple[str, ...]
) -> set[str]:
    """Columns whose multiset of values differs between the two builds (used where rows cannot be matched)."""
    differing = set()
    for column in (c for c in first if c in second):
        query = (
            f"select count(*) from (select {column} from {sides.base} except all select {column} from {sides.head}) d"
        )
        if int(engine.query(query)[0][0] or 0):
            differing.add(column)
    return differing
