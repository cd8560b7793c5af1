"""Data diff of two builds of one relation, by key: `quality diff` (a PR against prod) and `quality pr`
(the working tree against a base revision) both use it.

For a relation with a key (`comparison_key`) it counts rows added, removed and changed, and per column how
many rows changed, with a few examples (key, before -> after). A relation without a usable key is compared
as whole rows (`diff_rows`: rows only in one side, with examples). The SQL is plain (FULL OUTER JOIN,
IS DISTINCT FROM, EXCEPT ALL) and runs on DuckDB and Databricks. `pr` is the changed side, `prod` the one
it is compared with.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from quality.engines.base import Engine

Example = tuple[tuple[Any, ...], Any, Any]  # key values, before, after
# Floating-point columns compare within this relative tolerance (absolute below 1): summing the same doubles
# in another order (a parallel aggregate, a refactored query) is not a change of data.
FLOAT_TOLERANCE = 1e-9
FLOAT_TYPES = frozenset({"DOUBLE", "FLOAT", "REAL", "FLOAT4", "FLOAT8", "DOUBLE PRECISION"})


def differs(left: str, right: str, *, approximate: bool = False) -> str:
    """SQL that is true when two values differ (NULL-safe); floats beyond FLOAT_TOLERANCE."""
    if not approximate:
        return f"{left} is distinct from {right}"
    return (
        f"(case when {left} is null or {right} is null then {left} is distinct from {right} "
        f"else abs({left} - {right}) > {FLOAT_TOLERANCE} * greatest(abs({left}), abs({right}), 1) end)"
    )


@dataclass
class ModelDiff:
    model: str
    key: list[str]
    pr_relation: str
    prod_relation: str
    prod_exists: bool = True
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0
    column_changes: dict[str, int] = field(default_factory=dict)
    new_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # not compared (e.g. run timestamps)
    examples: dict[str, list[Example]] = field(default_factory=dict)  # column -> a few changed rows
    added_examples: list[tuple[Any, ...]] = field(default_factory=list)  # keys (whole rows when keyless)
    removed_examples: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def keyless(self) -> bool:
        return not self.key


def quality_meta(node: dict[str, Any]) -> dict[str, Any]:
    """The node's `meta.quality` mapping (dbt 1.10+ keeps meta under config; older YAML at the top)."""
    for meta in ((node.get("config") or {}).get("meta") or {}, node.get("meta") or {}):
        quality = meta.get("quality")
        if isinstance(quality, dict):
            return quality
    return {}


def comparison_key(node: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """The columns that identify a row: a declared `meta.quality.key`, the model's `unique_key`, its contract's
    primary key, else a column (or combination) with a uniqueness test. [] when none is known."""
    declared = quality_meta(node).get("key")
    if declared:
        return [declared] if isinstance(declared, str) else [str(column) for column in declared]
    if node.get("resource_type") != "snapshot" and (unique := (node.get("config") or {}).get("unique_key")):
        return [unique] if isinstance(unique, str) else [str(column) for column in unique]
    return primary_key(node, manifest)


def primary_key(node: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """The model's key: its contract's primary_key constraint, else a column with a unique test."""
    for constraint in node.get("constraints", []):
        if constraint.get("type") == "primary_key" and constraint.get("columns"):
            return list(constraint["columns"])
    for name, column in node.get("columns", {}).items():
        if any(c.get("type") == "primary_key" for c in column.get("constraints", [])):
            return [name]
    return _tested_unique(node["unique_id"], manifest)


def _tested_unique(unique_id: str, manifest: dict[str, Any]) -> list[str]:
    """A column with a `unique` test, else the columns of a `unique_combination_of_columns`-style test."""
    combinations = []
    for test in manifest.get("nodes", {}).values():
        meta = test.get("test_metadata") or {}
        if unique_id not in test.get("depends_on", {}).get("nodes", []):
            continue
        kwargs = meta.get("kwargs", {})
        if meta.get("name") == "unique" and (column := test.get("column_name") or kwargs.get("column_name")):
            return [column]
        if str(meta.get("name", "")).endswith("unique_combination_of_columns"):
            combinations.append([str(c) for c in kwargs.get("combination_of_columns") or []])
    return next((columns for columns in combinations if columns), [])


def inferred_key(
    engine: Engine,
    columns: Sequence[str],
    other_columns: Sequence[str],
    refs: Sequence[str],
    *,
    exclude: Collection[str] = (),
) -> list[str]:
    """With no key declared or tested: the first id-like column (`id`, `*_id`, `*_key`) of both sides that is
    unique and never null in every relation of `refs`, so rows still match and changes show per column."""
    for column in columns:
        name = column.lower()
        if not (name == "id" or name.endswith(("_id", "_key"))) or column not in other_columns or column in exclude:
            continue
        if all(is_unique(engine, ref, [column]) and _never_null(engine, ref, column) for ref in refs):
            return [column]
    return []


def is_unique(engine: Engine, ref: str, key: Sequence[str]) -> bool:
    columns = ", ".join(key)
    rows = engine.query(f"select count(*) from (select {columns} from {ref} group by {columns} having count(*) > 1) d")
    return int(rows[0][0] or 0) == 0


def _never_null(engine: Engine, ref: str, column: str) -> bool:
    return int(engine.query(f"select count(*) from {ref} where {column} is null")[0][0] or 0) == 0


def diff_model(
    engine: Engine,
    diff: ModelDiff,
    pr_columns: list[str],
    prod_columns: list[str],
    *,
    ignore: frozenset[str] = frozenset(),
    examples: int = 0,
    approximate: frozenset[str] = frozenset(),
) -> ModelDiff:
    """Compare by key: counts of rows added, removed, changed, unchanged, and changed rows per column; with
    `examples`, that many examples per changed column and of added and removed keys. Columns in `approximate`
    (floating point) differ only beyond FLOAT_TOLERANCE."""
    shared = _sort_columns(diff, pr_columns, prod_columns, ignore)
    row = engine.query(_counts_sql(diff, shared, approximate))[0]
    diff.added, diff.removed, diff.changed, diff.unchanged = (int(v or 0) for v in row[:4])
    diff.column_changes = {c: int(v or 0) for c, v in zip(shared, row[4:], strict=True) if v}
    if examples:
        _add_examples(engine, diff, examples, approximate)
    return diff


def _sort_columns(diff: ModelDiff, pr_columns: list[str], prod_columns: list[str], ignore: frozenset[str]) -> list[str]:
    """Note the ignored, new and dropped columns in `diff`; returns the columns both sides have that are
    compared (neither ignored nor part of the key)."""
    diff.ignored_columns = sorted(c for c in pr_columns if c in ignore and c not in diff.key)
    diff.new_columns, diff.dropped_columns = _only_in(pr_columns, prod_columns), _only_in(prod_columns, pr_columns)
    return [c for c in pr_columns if c in prod_columns and c not in diff.key and c not in ignore]


def _only_in(columns: list[str], other: list[str]) -> list[str]:
    return [c for c in columns if c not in other]


def _join(diff: ModelDiff) -> str:
    on = " and ".join(f"pr.{k} = prod.{k}" for k in diff.key)
    return f"{diff.pr_relation} as pr full outer join {diff.prod_relation} as prod on {on}"


def _counts_sql(diff: ModelDiff, shared: list[str], approximate: frozenset[str]) -> str:
    first = diff.key[0]
    changes = [differs(f"pr.{c}", f"prod.{c}", approximate=c in approximate) for c in shared]
    any_change = " or ".join(changes) or "false"
    per_column = "".join(f", sum(case when in_both and pr_{i} then 1 else 0 end)" for i, _ in enumerate(shared))
    flags = "".join(f", {change} as pr_{i}" for i, change in enumerate(changes))
    return f"""
        with joined as (
            select pr.{first} is not null and prod.{first} is null as added,
                   pr.{first} is null and prod.{first} is not null as removed,
                   pr.{first} is not null and prod.{first} is not null as in_both,
                   ({any_change}) as any_change{flags}
            from {_join(diff)}
        )
        select sum(case when added then 1 else 0 end), sum(case when removed then 1 else 0 end),
               sum(case when in_both and any_change then 1 else 0 end),
               sum(case when in_both and not any_change then 1 else 0 end){per_column}
        from joined
    """


def _add_examples(engine: Engine, diff: ModelDiff, limit: int, approximate: frozenset[str]) -> None:
    first, width = diff.key[0], len(diff.key)
    pr_keys, prod_keys = (", ".join(f"{side}.{k}" for k in diff.key) for side in ("pr", "prod"))
    for column in diff.column_changes:
        rows = engine.query(
            f"select {pr_keys}, prod.{column}, pr.{column} from {_join(diff)} "
            f"where pr.{first} is not null and prod.{first} is not null and "
            f"{differs(f'pr.{column}', f'prod.{column}', approximate=column in approximate)} "
            f"order by {pr_keys} limit {limit}"
        )
        diff.examples[column] = [(tuple(r[:width]), r[width], r[width + 1]) for r in rows]
    if diff.added:
        query = f"select {pr_keys} from {_join(diff)} where prod.{first} is null order by {pr_keys} limit {limit}"
        diff.added_examples = [tuple(r) for r in engine.query(query)]
    if diff.removed:
        query = f"select {prod_keys} from {_join(diff)} where pr.{first} is null order by {prod_keys} limit {limit}"
        diff.removed_examples = [tuple(r) for r in engine.query(query)]


def diff_rows(
    engine: Engine,
    diff: ModelDiff,
    pr_columns: list[str],
    prod_columns: list[str],
    *,
    ignore: frozenset[str] = frozenset(),
    examples: int = 0,
) -> ModelDiff:
    """Compare a relation without a usable key as whole rows (a multiset): rows only in the change are
    `added`, rows only in the other side `removed`; `changed` stays 0, since no row can be matched."""
    diff.key = []
    columns = ", ".join(_sort_columns(diff, pr_columns, prod_columns, ignore))
    only_pr = f"select {columns} from {diff.pr_relation} except all select {columns} from {diff.prod_relation}"
    only_prod = f"select {columns} from {diff.prod_relation} except all select {columns} from {diff.pr_relation}"
    row = engine.query(
        f"select (select count(*) from ({only_pr}) as a), (select count(*) from ({only_prod}) as r), "
        f"(select count(*) from {diff.pr_relation})"
    )[0]
    diff.added, diff.removed = int(row[0] or 0), int(row[1] or 0)
    diff.unchanged = int(row[2] or 0) - diff.added
    if examples and diff.added:
        diff.added_examples = [tuple(r) for r in engine.query(f"{only_pr} order by 1 limit {examples}")]
    if examples and diff.removed:
        diff.removed_examples = [tuple(r) for r in engine.query(f"{only_prod} order by 1 limit {examples}")]
    return diff


def relation_columns(engine: Engine, schema: str, name: str) -> list[str]:
    """The relation's column names in order (none when it does not exist)."""
    rows = engine.query(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    )
    return [str(row[0]) for row in rows]


def to_markdown(diffs: list[ModelDiff], skipped: dict[str, str]) -> str:
    lines = [
        "## Data diff against prod",
        "",
        "| model | key | added | removed | changed | unchanged | columns changed |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for d in diffs:
        if not d.prod_exists:
            lines.append(f"| `{d.model}` | {', '.join(d.key)} | new model | | | | |")
            continue
        columns = ", ".join(f"`{c}` ({n})" for c, n in sorted(d.column_changes.items())) or "none"
        if d.new_columns or d.dropped_columns:
            columns += f"; new: {d.new_columns or '-'}; dropped: {d.dropped_columns or '-'}"
        lines.append(
            f"| `{d.model}` | {', '.join(d.key)} | {d.added} | {d.removed} | {d.changed} | {d.unchanged} | {columns} |"
        )
    for model, reason in sorted(skipped.items()):
        lines.append(f"| `{model}` | — | skipped: {reason} | | | | |")
    return "\n".join(lines) + "\n"
