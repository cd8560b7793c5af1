"""The checks a dbt project declares, as plain data: data tests, unit tests, Great Expectations items, singular tests.

Read from the project's YAML (and the SQL of singular tests) without dbt. Each check belongs to an
*owner*, the resource whose YAML holds its waivers: a model, seed, snapshot or source table
(`config: meta: quality: waivers:`), or the project (`vars: quality: waivers:` in dbt_project.yml) for
singular tests. A unit test belongs to the model it tests.

A check's name is what a waiver quotes: `unique(order_id)` (a data test on a column),
`dbt_utils.expression_is_true` (on the model), `expect_column_values_to_be_between(amount)`,
`unexpected_rows`, `unit_test(<name>)`, `singular_test(<name>)`. When an owner has several checks of
one name, each is told apart by its label: `name[label]`, the label being the test's own `name:`, the
expectation's `description`, or else its arguments (`unexpected_rows[net amount is never negative]`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from hooks.check_values import expectation_values, plain, singular_test_values, unit_test_values
from hooks.dbt_layout import IGNORED_DIRS, as_mapping, model_meta
from hooks.yaml_lines import LineList, line_of

PROJECT_OWNER = "project"
Fixtures = Mapping[tuple[str, str], str]  # unit-test fixture file text by (name, "csv" | "sql")
NODE_SECTIONS = {"models": "model", "seeds": "seed", "snapshots": "snapshot"}
TEST_KEYS = ("data_tests", "tests")
TEST_CONFIG_KEYS = frozenset(
    {"severity", "where", "error_if", "warn_if", "enabled", "limit", "store_failures", "store_failures_as"}
    | {"tags", "meta", "fail_calc", "alias", "schema", "database"}
)
TEST_OWN_KEYS = frozenset({"arguments", "config", "name", "test_name", "description", "column_name"})
SQL_CONFIG = re.compile(r"config\s*\((?P<body>[^)]*)\)", re.IGNORECASE)
SQL_SEVERITY = re.compile(r"""severity\s*=\s*['"](?P<value>\w+)['"]""", re.IGNORECASE)
SQL_DISABLED = re.compile(r"enabled\s*=\s*false", re.IGNORECASE)


@dataclass(frozen=True)
class Waiver:
    """`{check: ..., reason: ...}`, and for an edited check `new_value:` (kept as JSON; None when absent)."""

    check: str
    reason: str
    line: int
    new_value: str | None = None

    @property
    def written_value(self) -> Any:
        return json.loads(self.new_value) if self.new_value is not None else None


@dataclass(frozen=True)
class Owner:
    """A resource that holds checks and their waivers; `key` is e.g. `model fct_orders`."""

    key: str
    path: str
    line: int
    waivers: tuple[Waiver, ...] = ()

    @property
    def title(self) -> str:
        kind, _, name = self.key.partition(" ")
        return f"{kind} '{name}'" if name else kind


@dataclass(frozen=True)
class Check:
    """One declared check. `group` is its name without a label; `content` its whole declaration."""

    owner: str
    kind: str  # "data test", "unit test", "expectation", "singular test"
    group: str
    label: str
    test: str  # the test's or expectation's own name (unique, expect_column_values_to_be_between, ...)
    path: str
    line: int
    content: str
    params: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "error"
    where: str = ""
    error_if: str = ""
    enabled: bool = True
    values: Mapping[str, Any] = field(default_factory=dict)  # what it expects, canonical (hooks.check_values)

    @property
    def qualified(self) -> str:
        return f"{self.group}[{self.label}]" if self.label else self.group


@dataclass
class Declared:
    """Every owner and check of one side (a git revision or the working tree) of the project."""

    owners: dict[str, Owner] = field(default_factory=dict)
    checks: dict[str, list[Check]] = field(default_factory=dict)
    resource_files: frozenset[str] = frozenset()  # stems of model/seed SQL, Python and CSV files

    def add(self, check: Check) -> None:
        self.checks.setdefault(check.owner, []).append(check)

    def exists(self, owner: str) -> bool:
        """Whether the resource is still part of the project (declared in YAML, or its file is there)."""
        kind, _, name = owner.partition(" ")
        return owner in self.owners or owner == PROJECT_OWNER or (kind != "source" and name in self.resource_files)


def _compact(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return " ".join(str(text).split())


def _content(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _arguments_label(params: Mapping[str, Any], skip: str | None) -> str:
    return ", ".join(f"{key}={_compact(value)}" for key, value in sorted(params.items()) if key != skip)


def waivers_of(meta: Mapping[str, Any]) -> tuple[Waiver, ...]:
    """`quality: waivers:` of a meta (or vars) mapping: each item `{check: ..., reason: ...}`."""
    items = as_mapping(meta.get("quality")).get("waivers")
    waivers = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("check"):
            reason = " ".join(str(item.get("reason") or "").split())
            written = json.dumps(plain(item["new_value"]), sort_keys=True) if "new_value" in item else None
            waivers.append(Waiver(" ".join(str(item["check"]).split()), reason, line_of(item), written))
    return tuple(waivers)


def default_severity(project_config: Mapping[str, Any], project_name: str, folders: Sequence[str]) -> str:
    """The data tests' severity that dbt_project.yml sets for a folder (deepest setting wins; else error)."""
    severity = "error"
    for section in ("data_tests", "tests"):
        level: Any = project_config.get(section)
        for step in (None, project_name, *folders):
            level = level if step is None else as_mapping(level).get(step)
            if not isinstance(level, Mapping):
                break
            for key in ("+severity", "severity"):
                if isinstance(level.get(key), str):
                    severity = level[key].strip().lower()
    return severity


def _test_parts(item: Any) -> tuple[str, Mapping[str, Any]] | None:
    """(test name, body) of a `data_tests:` item: `unique`, `{unique: {...}}` or `{test_name: unique, ...}`."""
    if isinstance(item, str):
        return item, {}
    if not isinstance(item, Mapping):
        return None
    if item.get("test_name"):
        return str(item["test_name"]), item
    if len(item) == 1:
        name, body = next(iter(item.items()))
        return str(name), as_mapping(body)
    return None


def _data_tests(holder: Mapping[str, Any], owner: str, column: str | None, path: str, severity: str) -> Iterator[Check]:
    for key in TEST_KEYS:
        items = holder.get(key)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            parts = _test_parts(item)
            if parts is None:
                continue
            line = items.line_of_item(index) if isinstance(items, LineList) else line_of(holder, key)
            yield _data_test(parts[0], parts[1], owner, column, path, line, severity, item)


def _data_test(
    test: str,
    body: Mapping[str, Any],
    owner: str,
    column: str | None,
    path: str,
    line: int,
    severity: str,
    item: Any,
) -> Check:
    params = {
        **{k: v for k, v in body.items() if k not in TEST_OWN_KEYS | TEST_CONFIG_KEYS},
        **as_mapping(body.get("arguments")),
    }
    config = {**{k: v for k, v in body.items() if k in TEST_CONFIG_KEYS}, **as_mapping(body.get("config"))}
    column_name = column or body.get("column_name") or params.get("column_name")
    group = f"{test}({column_name})" if column_name else test
    label = str(body.get("name") or "") or _arguments_label(params, "column_name")
    return Check(
        owner,
        "data test",
        group,
        label,
        test,
        path,
        line,
        _content(item),
        params,
        str(config.get("severity") or severity).strip().lower(),
        _compact(config.get("where") or ""),
        _compact(config.get("error_if") or ""),
        config.get("enabled", True) is not False,
    )


def _expectation_items(holder: Mapping[str, Any]) -> list[Any]:
    """The expectation items of a node or column, from `config: meta:` and `meta:`, each once."""
    items: list[Any] = []
    for meta in (as_mapping(holder.get("config")).get("meta"), holder.get("meta")):
        found = as_mapping(as_mapping(meta).get("quality")).get("expectations")
        items.extend(item for item in found or [] if isinstance(found, list) and item not in items)
    return items


def _expectations(holder: Mapping[str, Any], owner: str, column: str | None, path: str) -> Iterator[Check]:
    for item in _expectation_items(holder):
        if not isinstance(item, Mapping) or not isinstance(item.get("expectation"), str):
            continue
        name = item["expectation"]
        kwargs = as_mapping(item.get("kwargs"))
        params = {**kwargs, **{k: v for k, v in item.items() if k not in ("expectation", "kwargs", "description")}}
        params.pop("severity", None)
        where_column = column or kwargs.get("column")
        group = f"{name}({where_column})" if where_column else name
        label = " ".join(str(item.get("description") or "").split()) or _arguments_label(params, "column")
        severity = str(item.get("severity") or "error").strip().lower()
        row_condition = _compact(kwargs.get("row_condition") or "")
        yield Check(
            owner,
            "expectation",
            group,
            label,
            name,
            path,
            line_of(item),
            _content(item),
            params,
            severity,
            row_condition,
            values=expectation_values(params),
        )


def _unit_tests(document: Mapping[str, Any], path: str, fixtures: Fixtures) -> Iterator[Check]:
    items = document.get("unit_tests")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("name") and item.get("model"):
            enabled = as_mapping(item.get("config")).get("enabled", True) is not False
            group = f"unit_test({item['name']})"
            owner = f"model {item['model']}"
            line, content, values = line_of(item), _content(item), unit_test_values(item, fixtures)
            yield Check(owner, "unit test", group, "", "unit_test", path, line, content, enabled=enabled, values=values)


def _node_checks(entry: Mapping[str, Any], owner: str, path: str, severity: str) -> Iterator[Check]:
    yield from _data_tests(entry, owner, None, path, severity)
    yield from _expectations(entry, owner, None, path)
    for column in entry.get("columns") or []:
        if isinstance(column, Mapping) and column.get("name"):
            yield from _data_tests(column, owner, str(column["name"]), path, severity)
            yield from _expectations(column, owner, str(column["name"]), path)


def _owner(key: str, entry: Mapping[str, Any], path: str) -> Owner:
    return Owner(key, path, line_of(entry), waivers_of(model_meta(entry)))


def _sources(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for source in document.get("sources") or []:
        if isinstance(source, Mapping) and source.get("name"):
            for table in source.get("tables") or []:
                if isinstance(table, Mapping) and table.get("name"):
                    yield f"source {source['name']}.{table['name']}", table


def read_document(
    declared: Declared, document: Any, path: str, severity: str, fixtures: Fixtures | None = None
) -> None:
    """Add the owners and checks of one properties file; `severity` is the folder's default for data tests.

    `fixtures` holds the text of the unit-test fixture files by (name, format): `("orders", "csv")`.
    """
    if not isinstance(document, Mapping):
        return
    entries: list[tuple[str, Mapping[str, Any]]] = [
        (f"{kind} {entry['name']}", entry)
        for section, kind in NODE_SECTIONS.items()
        for entry in document.get(section) or []
        if isinstance(entry, Mapping) and entry.get("name")
    ]
    for key, entry in [*entries, *_sources(document)]:
        declared.owners[key] = _owner(key, entry, path)
        for check in _node_checks(entry, key, path, severity):
            declared.add(check)
    for check in _unit_tests(document, path, fixtures or {}):
        declared.add(check)


def singular_test_configs(document: Any) -> dict[str, Mapping[str, Any]]:
    """`data_tests:` properties of singular tests (by name) in a properties file."""
    items = document.get("data_tests") if isinstance(document, Mapping) else None
    return {
        str(item["name"]): as_mapping(item.get("config"))
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, Mapping) and item.get("name")
    }


def singular_test(path: str, sql: str, config: Mapping[str, Any], severity: str) -> Check:
    """A singular test (a SQL file under a test path); its config from its SQL `config()` or its properties."""
    name = PurePosixPath(path).stem
    body = " ".join(match["body"] for match in SQL_CONFIG.finditer(sql))
    sql_severity = SQL_SEVERITY.search(body)
    effective = sql_severity["value"] if sql_severity else str(config.get("severity") or severity)
    enabled = not SQL_DISABLED.search(body) and config.get("enabled", True) is not False
    group = f"singular_test({name})"
    values = singular_test_values(sql)
    return Check(
        PROJECT_OWNER,
        "singular test",
        group,
        "",
        "singular_test",
        path,
        1,
        sql,
        {},
        effective.lower(),
        enabled=enabled,
        values=values,
    )


def is_ignored(path: str) -> bool:
    return any(part in IGNORED_DIRS for part in PurePosixPath(path).parts)
