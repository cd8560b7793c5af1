"""Expectations declared in model YAML, read from a dbt manifest into typed specs and checked.

No Great Expectations import here: hooks and the CLI call `check_suites` to refuse a bad declaration
in milliseconds, before anything is built or validated.

A model declares expectations under `config: meta: quality: expectations:` (table level) and under a
column's `meta: quality: expectations:` (the column is implied). dbt 1.11 may carry a meta block in
`node["config"]["meta"]` and/or `node["meta"]` (and for columns `col["meta"]` and
`col["config"]["meta"]`); both are read and an item present in both counts once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from quality.errors import ExpectationConfigError, HarnessError
from quality.expectations import catalog, reconcile
from quality.expectations.relations import (
    RELATION_RESOURCE_TYPES,
    Placeholder,
    PlaceholderSyntaxError,
    Relation,
    node_relation,
    placeholders,
    render_query,
    resolve_placeholder,
)

Severity = Literal["error", "warn"]
SEVERITIES: tuple[Severity, ...] = ("error", "warn")
ITEM_KEYS = frozenset({"expectation", "kwargs", "severity", "description", "query"}) | reconcile.ALL_KEYS


def model_and_column(model: str, column: str | None) -> str:
    """`model.column`, or `model` for a model-level expectation: where reports say an expectation is."""
    return f"{model}.{column}" if column else model


@dataclass(frozen=True)
class ExpectationSpec:
    """One declared expectation. `query` is the declared SQL; `resolved_query` has refs and sources
    replaced by the run's relations and keeps `{batch}` for GX."""

    model: str
    column: str | None
    expectation: str
    kwargs: Mapping[str, Any]
    severity: Severity = "error"
    description: str | None = None
    query: str | None = None
    resolved_query: str | None = None

    @property
    def is_unexpected_rows(self) -> bool:
        """Validated by its query's rows (unexpected_rows, and reconcile / row_condition compiled into one)."""
        return self.expectation == catalog.UNEXPECTED_ROWS or self.expectation in reconcile.KINDS

    @property
    def label(self) -> str:
        """`model.column expectation` (or `model expectation`), as reports name it."""
        return f"{model_and_column(self.model, self.column)} {self.expectation}"


@dataclass(frozen=True)
class ModelSuite:
    """The expectations of one model (or seed/snapshot), with the relation they validate."""

    model: str  # the node's unique_id
    name: str
    relation: Relation
    specs: tuple[ExpectationSpec, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Declared:
    """A raw YAML item and where it was declared."""

    item: Any
    column: str | None


def check_suites(manifest: Mapping[str, Any]) -> list[ModelSuite]:
    """All suites of the project, or ExpectationConfigError listing every bad declaration."""
    suites: list[ModelSuite] = []
    problems: list[str] = []
    for node in _relation_nodes(manifest):
        suite, node_problems = _node_suite(manifest, node)
        problems.extend(node_problems)
        if suite is not None:
            suites.append(suite)
    if problems:
        raise ExpectationConfigError(
            f"{len(problems)} invalid expectation declaration(s) in the models' YAML; nothing was "
            "validated. Fix each one below (in the model's `config: meta: quality: expectations:` or "
            "the column's `meta: quality: expectations:`), then re-run:\n"
            + "\n".join(f"- {problem}" for problem in problems)
        )
    return suites


def rebind_suites(suites: Sequence[ModelSuite], manifest: Mapping[str, Any]) -> list[ModelSuite]:
    """The suites pointed at the relations recorded in `manifest` (the run's own, in its schemas).

    Suites may have been checked against another manifest (e.g. the project's `dbt parse`); the run's
    manifest decides where each model, ref and source lives.
    """
    return [_rebind(suite, manifest) for suite in suites]


def _rebind(suite: ModelSuite, manifest: Mapping[str, Any]) -> ModelSuite:
    node = manifest.get("nodes", {}).get(suite.model)
    relation = node_relation(node) if node is not None else None
    if node is None or relation is None:
        raise HarnessError(
            f"model {suite.name} ({suite.model}) has no relation in the manifest given for validation; "
            "pass the manifest written by the run that built it (its target/manifest.json)."
        )
    package = node.get("package_name")
    try:
        specs = tuple(
            replace(spec, resolved_query=render_query(spec.query, manifest, package)) if spec.query else spec
            for spec in suite.specs
        )
    except KeyError as error:
        raise HarnessError(
            f"model {suite.name}: placeholder {error.args[0]} has no relation in the manifest given for "
            "validation; pass the manifest written by the run that built the models."
        ) from None
    return replace(suite, relation=relation, specs=specs)


def _relation_nodes(manifest: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for unique_id in sorted(manifest.get("nodes", {})):
        node = manifest["nodes"][unique_id]
        if node.get("resource_type") in RELATION_RESOURCE_TYPES:
            yield node


def _node_suite(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[ModelSuite | None, list[str]]:
    declared, problems = _declared_items(node)
    if not declared and not problems:
        return None, []
    relation = node_relation(node)
    if relation is None:
        problems.append(
            f"model {node['name']}: it has no relation (an ephemeral model?), so its expectations "
            "cannot run; materialize it as a view or table, or move the expectations to a model that "
            "selects from it"
        )
        return None, problems
    specs: list[ExpectationSpec] = []
    for entry in declared:
        spec, spec_problems = _parse_item(manifest, node, entry)
        problems.extend(spec_problems)
        if spec is not None and not spec_problems:
            specs.append(spec)
    suite = ModelSuite(str(node["unique_id"]), str(node["name"]), relation, tuple(specs))
    return suite, problems


def _declared_items(node: Mapping[str, Any]) -> tuple[list[_Declared], list[str]]:
    problems: list[str] = []
    declared = [_Declared(item, None) for item in _meta_items(node, problems, node["name"], None)]
    for column_name, column in sorted(node.get("columns", {}).items()):
        name = str(column.get("name") or column_name)
        declared.extend(_Declared(item, name) for item in _meta_items(column, problems, node["name"], name))
    return declared, problems


def _meta_items(holder: Mapping[str, Any], problems: list[str], model: str, column: str | None) -> list[Any]:
    """The expectation items of a node or column, from both meta locations, each once."""
    items: list[Any] = []
    for meta in (holder.get("config", {}).get("meta"), holder.get("meta")):
        found = _expectations_in(meta, problems, _where(model, column))
        items.extend(item for item in found if item not in items)
    return items


def _expectations_in(meta: Any, problems: list[str], where: str) -> list[Any]:
    if not isinstance(meta, Mapping) or meta.get("quality") is None:
        return []
    quality = meta["quality"]
    expectations = quality.get("expectations") if isinstance(quality, Mapping) else None
    if expectations is None:
        return []
    if not isinstance(expectations, list):
        problems.append(f"{where}: `quality: expectations:` must be a list of items, got {expectations!r}")
        return []
    return list(expectations)


def _parse_item(
    manifest: Mapping[str, Any], node: Mapping[str, Any], entry: _Declared
) -> tuple[ExpectationSpec | None, list[str]]:
    where = _where(str(node["name"]), entry.column)
    item = entry.item
    if not isinstance(item, Mapping) or not isinstance(item.get("expectation"), str):
        return None, [f"{where}: each item needs `expectation: <name>`, got {item!r}"]
    name = _canonical_name(item["expectation"])
    where = f"{where} {name}"
    problems = _item_shape_problems(item, name, where)
    if problems:
        return None, problems
    kwargs = dict(item.get("kwargs") or {})
    problems += _column_problems(node, entry.column, name, kwargs, where)
    query = item.get("query") if name == catalog.UNEXPECTED_ROWS else None
    if name in reconcile.KINDS:
        query = reconcile.compile_query(name, item)
    resolved = None
    if query is not None:
        query_problems = _query_problems(manifest, node, query, where)
        problems += query_problems
        if not query_problems:
            resolved = render_query(query, manifest, node.get("package_name"))
    spec = ExpectationSpec(
        model=str(node["name"]),
        column=entry.column,
        expectation=name,
        kwargs=kwargs,
        severity=cast(Severity, item.get("severity", "error")),
        description=item.get("description"),
        query=query,
        resolved_query=resolved,
    )
    return spec, problems


def _canonical_name(name: str) -> str:
    return catalog.UNEXPECTED_ROWS if name == catalog.GX_UNEXPECTED_ROWS else name


def _item_shape_problems(item: Mapping[str, Any], name: str, where: str) -> list[str]:
    problems: list[str] = []
    unknown_keys = sorted(set(item) - ITEM_KEYS)
    if unknown_keys:
        problems.append(f"{where}: unknown key(s) {unknown_keys}; an item may only have {sorted(ITEM_KEYS)}")
    problems += _name_problems(name, where)
    if item.get("severity", "error") not in SEVERITIES:
        problems.append(f"{where}: severity {item['severity']!r} is not one of 'error' (default) or 'warn'")
    if not isinstance(item.get("kwargs") or {}, Mapping):
        problems.append(f"{where}: `kwargs` must be a mapping of the expectation's arguments")
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(f"{where}: `description` must be a string")
    if name == catalog.UNEXPECTED_ROWS:
        if not isinstance(item.get("query"), str) or not item["query"].strip():
            problems.append(
                f"{where}: an unexpected_rows item needs `query: select ... from {{batch}} ...` "
                "returning the rows that break the rule"
            )
    elif "query" in item:
        problems.append(f"{where}: `query` belongs to `expectation: unexpected_rows` only; remove it")
    if name in reconcile.KINDS:
        problems += reconcile.shape_problems(name, item, where)
    elif reconcile.ALL_KEYS & set(item):
        keys = sorted(reconcile.ALL_KEYS & set(item))
        problems.append(f"{where}: {keys} belong to `expectation: reconcile` or `row_condition` only; remove them")
    return problems


def _name_problems(name: str, where: str) -> list[str]:
    if name in catalog.UNSUPPORTED_EXPECTATIONS:
        return [f"{where}: not supported here: {catalog.UNSUPPORTED_EXPECTATIONS[name]}"]
    if name in catalog.SUPPORTED_EXPECTATIONS or name in reconcile.KINDS:
        return []
    close = difflib.get_close_matches(name, sorted(catalog.SUPPORTED_EXPECTATIONS), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "use a GX 1.x expectation name in snake_case"
    return [
        f"{where}: unknown expectation {name!r} (not a Great Expectations {catalog.GX_CATALOG_VERSION} "
        f"expectation nor `unexpected_rows`); {hint}"
    ]


def _column_problems(
    node: Mapping[str, Any], column: str | None, name: str, kwargs: dict[str, Any], where: str
) -> list[str]:
    """Check (and, for a column-level item, fill in) every argument that names a column."""
    problems: list[str] = []
    if column is not None:
        if not catalog.takes_implied_column(name):
            return [
                f"{where}: declared under column {column!r} but it does not take a single `column`; "
                "declare it at table level under `config: meta: quality: expectations:`"
            ]
        if kwargs.get("column", column) != column:
            problems.append(f"{where}: kwargs.column {kwargs['column']!r} contradicts the column it is under")
        kwargs["column"] = column
    declared = _declared_columns(node)
    for argument in catalog.COLUMN_ARGUMENTS.get(name, ()):
        if argument not in kwargs:
            problems.append(f"{where}: missing kwargs.{argument} (the column(s) it checks)")
            continue
        problems += _unknown_columns(node, declared, argument, kwargs, where)
    return problems


def _unknown_columns(
    node: Mapping[str, Any],
    declared: Mapping[str, str],
    argument: str,
    kwargs: dict[str, Any],
    where: str,
) -> list[str]:
    value = kwargs[argument]
    names: Sequence[Any] = value if isinstance(value, list) else [value]
    problems: list[str] = []
    spelled: list[str] = []
    for name in names:
        match = declared.get(str(name).lower())
        if match is None:
            problems.append(_unknown_column_message(node, declared, str(name), where))
        spelled.append(match or str(name))
    kwargs[argument] = spelled if isinstance(value, list) else spelled[0]
    return problems


def _unknown_column_message(node: Mapping[str, Any], declared: Mapping[str, str], name: str, where: str) -> str:
    known = sorted(declared.values())
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"{where}: unknown column {name!r}: model {node['name']} declares {known or 'no columns'}; "
        f"{hint}declare the column under the model's `columns:` or fix the name"
    )


def _declared_columns(node: Mapping[str, Any]) -> dict[str, str]:
    """Declared column names by their lower-case form (DuckDB and Databricks ignore identifier case)."""
    return {
        str(column.get("name") or key).lower(): str(column.get("name") or key)
        for key, column in node.get("columns", {}).items()
    }


def _query_problems(manifest: Mapping[str, Any], node: Mapping[str, Any], query: str, where: str) -> list[str]:
    try:
        fields = placeholders(query)
    except PlaceholderSyntaxError as error:
        return [f"{where}: the query has a stray brace ({error}); write a literal brace as {{{{ or }}}}"]
    problems: list[str] = []
    for field_ in fields:
        if field_.kind == "batch" and not field_.target:
            continue
        if field_.kind not in ("ref", "source") or not field_.target.strip():
            problems.append(
                f"{where}: unknown placeholder {field_.text}; use {{batch}}, {{ref:NAME}} or {{source:SOURCE.TABLE}}"
            )
        elif resolve_placeholder(manifest, field_, node.get("package_name")) is None:
            problems.append(_unresolved_message(field_, where))
    return problems


def _unresolved_message(field_: Placeholder, where: str) -> str:
    if field_.kind == "ref":
        return (
            f"{where}: {field_.text} names no model, seed or snapshot with a relation in the manifest; "
            "fix the name (as in ref('NAME')) or run `dbt parse` so the manifest is current"
        )
    return (
        f"{where}: {field_.text} names no source table in the manifest; write it as "
        "{source:SOURCE.TABLE} exactly as in source('SOURCE', 'TABLE')"
    )


def _where(model: str, column: str | None) -> str:
    return f"model {model} column {column}" if column else f"model {model}"
