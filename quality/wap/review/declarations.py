"""Declared data changes: what a change set says it alters on purpose, and why.

A model, seed or snapshot declares the values its change alters in its own YAML, with a reason:

    config:
      meta:
        quality:
          changes:
            - columns: [amount]                 # changed values of these columns ('*' = any column)
              reason: "amounts are now in currency units, not cents (PR 123)"
            - rows: [added, removed]           # rows that appear or go
              reason: "cancelled orders are no longer modelled"
            - macros: [databricks__week_start]  # a macro only Databricks runs (quality.wap.review.unseen)
              reason: "weeks start on Monday on Databricks too"

A declaration counts for the change set it is written in: one that the base revision already had does
not declare the next change (as a waiver does not). Columns dropped from a relation are declared by name
in `columns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quality.errors import UsageError
from quality.wap.diff import quality_meta

ROW_KINDS = ("added", "removed")
ANY_COLUMN = "*"


@dataclass(frozen=True)
class Declaration:
    model: str
    columns: tuple[str, ...]
    rows: tuple[str, ...]
    reason: str
    file: str
    macros: tuple[str, ...] = ()

    def covers_column(self, column: str) -> bool:
        return ANY_COLUMN in self.columns or column.lower() in {c.lower() for c in self.columns}

    def covers_rows(self, kind: str) -> bool:
        return kind in self.rows or ANY_COLUMN in self.columns

    def covers_macro(self, macro: str) -> bool:
        return macro.lower() in {m.lower() for m in self.macros}

    def describe(self) -> str:
        parts = [f"columns {', '.join(self.columns)}"] if self.columns else []
        parts += [f"rows {', '.join(self.rows)}"] if self.rows else []
        parts += [f"macros {', '.join(self.macros)}"] if self.macros else []
        return f"{self.model} ({'; '.join(parts)}): {self.reason}"


@dataclass
class DeclarationSet:
    """The declarations new in the change set, by model; `inherited` are the base's, which declare nothing."""

    by_model: dict[str, list[Declaration]] = field(default_factory=dict)
    inherited: list[Declaration] = field(default_factory=list)
    used: set[Declaration] = field(default_factory=set)

    def covering(
        self, model: str, *, column: str | None = None, rows: str | None = None, macro: str | None = None
    ) -> Declaration | None:
        for declaration in self.by_model.get(model, []):
            if (
                (column is not None and declaration.covers_column(column))
                or (rows is not None and declaration.covers_rows(rows))
                or (macro is not None and declaration.covers_macro(macro))
            ):
                self.used.add(declaration)
                return declaration
        return None

    def unmatched(self) -> list[Declaration]:
        return [d for declared in self.by_model.values() for d in declared if d not in self.used]


def read_declarations(head: dict[str, Any], base: dict[str, Any]) -> DeclarationSet:
    """The change set's declarations: those in the working tree's manifest that the base did not have."""
    found = DeclarationSet()
    for unique_id, node in _relations(head).items():
        before = set(_declarations_of(base.get("nodes", {}).get(unique_id) or {}))
        for declaration in _declarations_of(node):
            if declaration in before:
                found.inherited.append(declaration)
            else:
                found.by_model.setdefault(declaration.model, []).append(declaration)
    return found


def check_columns(declarations: DeclarationSet, known: dict[str, set[str]]) -> None:
    """A declaration must name columns that the model has (in the change or in the base): exit 2 otherwise."""
    for model, declared in declarations.by_model.items():
        columns = {c.lower() for c in known.get(model, set())}
        for declaration in declared:
            unknown = [c for c in declaration.columns if c != ANY_COLUMN and c.lower() not in columns]
            if unknown:
                raise UsageError(
                    f"{declaration.file}: the change declared for {model} names column(s) {', '.join(unknown)}, "
                    f"which {model} does not have in the change or in the base (its columns: "
                    f"{', '.join(sorted(columns)) or 'none built'}). Fix the name under meta.quality.changes."
                )


def _relations(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    kinds = {"model", "seed", "snapshot"}
    return {uid: node for uid, node in manifest.get("nodes", {}).items() if node.get("resource_type") in kinds}


def _declarations_of(node: dict[str, Any]) -> list[Declaration]:
    entries = quality_meta(node).get("changes")
    if entries is None:
        return []
    where = str(node.get("patch_path") or node.get("original_file_path") or node.get("name")).split("://")[-1]
    if not isinstance(entries, list):
        raise UsageError(f"{where}: meta.quality.changes of {node['name']} must be a list of {{columns, reason}}.")
    return [_declaration(node["name"], entry, where) for entry in entries]


def _declaration(model: str, entry: Any, where: str) -> Declaration:
    example = "e.g. {columns: [amount], reason: 'amounts are now in currency units'}"
    if not isinstance(entry, dict) or not str(entry.get("reason") or "").strip():
        raise UsageError(f"{where}: a change declared for {model} needs a reason: {example}.")
    columns, rows, macros = (_listed(entry.get(field)) for field in ("columns", "rows", "macros"))
    bad_rows = [kind for kind in rows if kind not in ROW_KINDS]
    if bad_rows or not (columns or rows or macros):
        raise UsageError(
            f"{where}: the change declared for {model} must name `columns` (or '*'), `rows` "
            f"({' and '.join(ROW_KINDS)}) or `macros`; got {entry!r}: {example}."
        )
    return Declaration(model, columns, rows, str(entry["reason"]).strip(), where, macros)


def _listed(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(item) for item in value)
