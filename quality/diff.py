"""PR data diff: compare each model built by a PR with prod, by primary key.

For every model the PR build produced (and that has a primary key: a `primary_key` constraint in its
contract, or a column with a `unique` test), count rows added, removed and changed, and per column how
many rows changed. The SQL is plain (FULL OUTER JOIN, IS DISTINCT FROM) and runs on DuckDB and Databricks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quality.engines.base import Engine


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


def primary_key(node: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """The model's key: its contract's primary_key constraint, else a column with a unique test."""
    for constraint in node.get("constraints", []):
        if constraint.get("type") == "primary_key" and constraint.get("columns"):
            return list(constraint["columns"])
    for name, column in node.get("columns", {}).items():
        if any(c.get("type") == "primary_key" for c in column.get("constraints", [])):
            return [name]
    for test in manifest.get("nodes", {}).values():
        meta = test.get("test_metadata") or {}
        if meta.get("name") == "unique" and node["unique_id"] in test.get("depends_on", {}).get("nodes", []):
            column = test.get("column_name") or meta.get("kwargs", {}).get("column_name")
            if column:
                return [column]
    return []


def diff_model(engine: Engine, diff: ModelDiff, pr_columns: list[str], prod_columns: list[str]) -> ModelDiff:
    shared = [c for c in pr_columns if c in prod_columns and c not in diff.key]
    diff.new_columns = [c for c in pr_columns if c not in prod_columns]
    diff.dropped_columns = [c for c in prod_columns if c not in pr_columns]
    join = " and ".join(f"pr.{k} = prod.{k}" for k in diff.key)
    first = diff.key[0]
    any_change = " or ".join(f"pr.{c} is distinct from prod.{c}" for c in shared) or "false"
    per_column = "".join(f", sum(case when in_both and pr_{i} then 1 else 0 end)" for i, _ in enumerate(shared))
    flags = "".join(f", pr.{c} is distinct from prod.{c} as pr_{i}" for i, c in enumerate(shared))
    sql = f"""
        with joined as (
            select pr.{first} is not null and prod.{first} is null as added,
                   pr.{first} is null and prod.{first} is not null as removed,
                   pr.{first} is not null and prod.{first} is not null as in_both,
                   ({any_change}) as any_change{flags}
            from {diff.pr_relation} as pr full outer join {diff.prod_relation} as prod on {join}
        )
        select sum(case when added then 1 else 0 end), sum(case when removed then 1 else 0 end),
               sum(case when in_both and any_change then 1 else 0 end),
               sum(case when in_both and not any_change then 1 else 0 end){per_column}
        from joined
    """
    row = engine.query(sql)[0]
    diff.added, diff.removed, diff.changed, diff.unchanged = (int(v or 0) for v in row[:4])
    diff.column_changes = {c: int(v or 0) for c, v in zip(shared, row[4:], strict=True) if v}
    return diff


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
