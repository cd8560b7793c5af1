"""What a data change review finds: every change of data, declared or not.

A change is anything that differs between the base's build and the working tree's build on the same raw
data: values of a column in rows that exist in both, rows added or removed, columns dropped, and new
columns or relations. New relations and new columns count as declared when the model's YAML describes them;
everything else needs a declaration (`quality.wap.review.declarations`), or the review fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quality.wap.review.compare import Comparison
from quality.wap.review.declarations import Declaration, DeclarationSet
from quality.wap.review.unseen import UnseenChange


@dataclass(frozen=True)
class Finding:
    model: str
    what: str  # "column amount", "rows added", "new column x", ...
    rows: int
    examples: tuple[str, ...]
    declared_by: Declaration | None

    @property
    def declared(self) -> bool:
        return self.declared_by is not None

    def describe(self) -> str:
        shown = f"; e.g. {'; '.join(self.examples)}" if self.examples else ""
        if self.rows:
            return f"{self.model}, {self.what}: {self.rows} row(s){shown}"
        return f"{self.model}: {self.what}"


def findings_of(
    comparisons: list[Comparison], declarations: DeclarationSet, unseen: Sequence[UnseenChange] = ()
) -> list[Finding]:
    found: list[Finding] = []
    for comparison in comparisons:
        found += _findings(comparison, declarations)
    for change in unseen:
        runs = f", which runs {change.runs_instead}" if change.runs_instead else ""
        what = f"macro {change.macro} changed: Databricks runs it, the review's engine ({change.engine}{runs}) does not"
        found.append(Finding(change.model, what, 0, (), declarations.covering(change.model, macro=change.macro)))
    return found


def _findings(comparison: Comparison, declarations: DeclarationSet) -> list[Finding]:
    model, diff = comparison.relation.name, comparison.diff
    if diff is None:
        described = bool(comparison.relation.node.get("patch_path"))
        declared = _own_yaml(model) if described else declarations.covering(model, rows="added")
        return [Finding(model, "new relation", 0, (), declared)]
    found = [
        Finding(
            model,
            f"column {column}",
            rows,
            tuple(_example(diff.key, key, before, after) for key, before, after in diff.examples.get(column, [])),
            declarations.covering(model, column=column),
        )
        for column, rows in sorted(diff.column_changes.items())
    ]
    for kind, rows, keys in (
        ("added", diff.added, diff.added_examples),
        ("removed", diff.removed, diff.removed_examples),
    ):
        if rows:
            examples = tuple(_values(diff.key, key) for key in keys)
            found.append(Finding(model, f"rows {kind}", rows, examples, declarations.covering(model, rows=kind)))
    found += [
        Finding(model, f"dropped column {c}", 0, (), declarations.covering(model, column=c))
        for c in diff.dropped_columns
    ]
    documented = {name.lower() for name in comparison.relation.node.get("columns", {})}
    found += [
        Finding(model, f"new column {c}", 0, (), _own_yaml(model) if c.lower() in documented else None)
        for c in diff.new_columns
    ]
    return found


def _own_yaml(model: str) -> Declaration:
    return Declaration(model, (), (), "described in its own YAML", "")


def _example(names: list[str], key: tuple[Any, ...], before: Any, after: Any) -> str:
    return f"{_values(names, key)}: {_shown(before)} -> {_shown(after)}"


def _values(names: list[str], values: tuple[Any, ...]) -> str:
    """`order_id=7` for a keyed row, the row's values for a whole row."""
    if names and len(names) == len(values):
        return ", ".join(f"{name}={_shown(value)}" for name, value in zip(names, values, strict=True))
    return "(" + ", ".join(_shown(value) for value in values) + ")"


def _shown(value: Any) -> str:
    return "NULL" if value is None else str(value)
