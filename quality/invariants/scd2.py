"""Snapshots and SCD2 dimensions: one current version per key, versions that neither overlap nor leave gaps,
no version identical to its predecessor, and (for snapshots of one relation) current versions equal to it.

A snapshot's key, validity columns (`snapshot_meta_column_names`), current marker (`dbt_valid_to_current`)
and tracked columns (`check_cols`, or every column but the meta ones and `updated_at` for the timestamp
strategy) come from its config. A model is an SCD2 dimension when it passes a snapshot's validity columns
through (column lineage of its compiled SQL), or when its YAML declares them:
`config: meta: quality: invariants: scd2: {key: [customer_id], valid_from: valid_from, valid_to: valid_to}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from quality.engines.base import Engine
from quality.invariants.lineage import Leaf, passthrough
from quality.invariants.model import Check, Node, quote, ref, rows_check
from quality.invariants.project import Project

META_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted")
# Columns a loader stamps on every row it writes: a change there is no change of the entity.
LOAD_TIME = re.compile(
    r"(^|_)(loaded|load|ingested|ingestion|extracted|inserted|synced|replicated|batch|etl)(_|$)"
    r"|^_(fivetran|airbyte|sdc|dlt|stitch)"
)


@dataclass(frozen=True)
class History:
    """A versioned relation: key, validity interval, what counts as a change, and what it versions."""

    node: Node
    key: tuple[str, ...]
    valid_from: str
    valid_to: str
    current_value: str | None  # SQL of dbt_valid_to_current (current versions carry it instead of NULL)
    tracked: tuple[str, ...]
    source: Node | None = None  # the relation a snapshot versions (`select * from <it>`)
    compared: tuple[str, ...] = ()  # columns its current versions must share with that relation


def is_load_time(column: str) -> bool:
    return LOAD_TIME.search(column) is not None


def plan(project: Project) -> list[Check]:
    histories = [snapshot_history(project, node) for node in project.of_type("snapshot")]
    histories += [dimension_history(project, node) for node in project.of_type("model")]
    return [check for history in histories if history is not None for check in history_checks(history)]


def snapshot_history(project: Project, node: Node) -> History | None:
    columns = project.columns(node.relation.unique_id)
    key = _names(node.config.get("unique_key"))
    if not columns or not key or not set(key) <= set(columns):
        return None
    renamed = {**{c: c for c in META_COLUMNS}, **_meta_names(node)}
    meta = set(renamed.values())
    plain = [c for c in columns if c not in meta and c not in key]
    updated_at = str(node.config.get("updated_at") or "").lower() if node.config.get("strategy") == "timestamp" else ""
    check_cols = node.config.get("check_cols")
    chosen = _names(check_cols) if isinstance(check_cols, list) else tuple(c for c in plain if c != updated_at)
    tracked = tuple(c for c in chosen if c in columns and not is_load_time(c)) or tuple(
        c for c in plain if not is_load_time(c) and c != updated_at
    )
    if node.config.get("hard_deletes") == "new_record" and renamed["dbt_is_deleted"] in columns:
        tracked += (renamed["dbt_is_deleted"],)
    source = _versioned_relation(project, node)
    source_columns = project.columns(source.relation.unique_id) if source else {}
    compared = tuple(c for c in (*tracked, updated_at) if c and c in source_columns and c in columns)
    current = node.config.get("dbt_valid_to_current")
    return History(node, key, renamed["dbt_valid_from"], renamed["dbt_valid_to"], current, tracked, source, compared)


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value.lower(),) if value.isidentifier() else ()
    if isinstance(value, list) and all(isinstance(v, str) and v.isidentifier() for v in value):
        return tuple(v.lower() for v in value)
    return ()


def _meta_names(node: Node) -> dict[str, str]:
    names = node.config.get("snapshot_meta_column_names") or {}
    return {default: str(custom).lower() for default, custom in names.items() if custom}


def _versioned_relation(project: Project, node: Node) -> Node | None:
    """The one relation a snapshot selects every column of, unfiltered (`select * from <relation>`)."""
    if len(node.depends_on) != 1 or node.depends_on[0] not in project.nodes:
        return None
    try:
        select = sqlglot.parse_one(node.compiled_code, dialect=project.dialect)
    except sqlglot.errors.SqlglotError:
        return None
    plain = (
        isinstance(select, exp.Select)
        and len(select.selects) == 1
        and isinstance(select.selects[0], exp.Star)
        and not any(select.args.get(k) for k in ("joins", "where", "group", "having", "qualify", "limit", "distinct"))
    )
    return project.nodes[node.depends_on[0]] if plain else None


def dimension_history(project: Project, node: Node) -> History | None:
    """A model declared SCD2 in its YAML, or passing a snapshot's validity interval and key through."""
    declared = node.settings.get("scd2")
    columns = project.columns(node.relation.unique_id)
    if isinstance(declared, dict):
        key = _names(declared.get("key"))
        valid = (str(declared.get("valid_from", "")).lower(), str(declared.get("valid_to", "")).lower())
        if key and set(key) | set(valid) <= set(columns):
            return History(node, key, valid[0], valid[1], None, ())
        return None
    for snapshot in (project.nodes.get(uid) for uid in node.depends_on):
        if snapshot is not None and snapshot.resource_type == "snapshot":
            found = _derived_history(project, node, snapshot)
            if found is not None:
                return found
    return None


def _derived_history(project: Project, node: Node, snapshot: Node) -> History | None:
    origin = snapshot_history(project, snapshot)
    lineage = project.lineage.local.get(node.relation.unique_id, {})
    if origin is None or not lineage:
        return None
    passed: dict[str, str] = {}  # snapshot column -> model column passing it through
    for name, definition in lineage.items():
        leaf = passthrough(definition.expression)
        if leaf is not None and leaf.relation == snapshot.relation.key:
            passed.setdefault(leaf.column, name)
    valid_from = passed.get(origin.valid_from) or _computed_from(lineage, snapshot, origin.valid_from)
    valid_to = passed.get(origin.valid_to)
    key = tuple(passed.get(k, "") for k in origin.key)
    if not valid_from or not valid_to or not all(key):
        return None
    tracked = tuple(passed[c] for c in origin.tracked if c in passed)
    return History(node, key, valid_from, valid_to, origin.current_value, tracked)


def _computed_from(lineage: dict, snapshot: Node, valid_from: str) -> str | None:  # type: ignore[type-arg]
    """A column named like a start of validity that is computed from the snapshot's valid_from."""
    wanted = Leaf(snapshot.relation.key, valid_from)
    for name, definition in lineage.items():
        if re.search(r"(valid|effective|start|from)", name) and wanted in _leaves(definition.expression):
            return str(name)
    return None


def _leaves(expression: exp.Expr) -> set[Leaf]:
    return {Leaf(column.table, column.name) for column in expression.find_all(exp.Column)}


def history_checks(history: History) -> list[Check]:
    model = history.node.name
    key = ", ".join(history.key)
    checks = [
        _check(history, "scd2_one_current_version", (*history.key, history.valid_to), _one_current,
               f"at most one current version (no {history.valid_to}) per {key}"),
        _check(history, "scd2_no_overlap", (history.valid_from, history.valid_to), _overlaps,
               f"a version of {model} ends no later than the next one of the same {key} starts"),
        _check(history, "scd2_no_gaps", (history.valid_from, history.valid_to), _gaps,
               f"the next version of the same {key} starts where the previous one ends ({history.valid_to})"),
    ]  # fmt: skip
    if history.tracked:
        checks.append(
            _check(history, "scd2_no_identical_versions", history.tracked, _identical,
                   f"a new version changes at least one tracked column ({', '.join(history.tracked)})")
        )  # fmt: skip
    if history.source is not None and history.compared:
        checks.append(
            _check(history, "scd2_current_matches_source", history.compared, _matches_source,
                   f"the current version of each {key} equals the row of {history.source.name}")
        )  # fmt: skip
    return checks


def _check(
    history: History, invariant: str, columns: tuple[str, ...], sql: Callable[[Engine, History], str], rule: str
) -> Check:
    return rows_check(invariant, (history.node,), columns, rule, lambda engine: sql(engine, history))


def _current(engine: Engine, history: History, alias: str = "") -> str:
    valid_to = alias + quote(engine, history.valid_to)
    if history.current_value:
        return f"({valid_to} is null or {valid_to} = ({history.current_value}))"
    return f"{valid_to} is null"


def _one_current(engine: Engine, history: History) -> str:
    keys = ", ".join(quote(engine, k) for k in history.key)
    return (
        f"select {keys}, count(*) as current_versions from {ref(engine, history.node.relation)} "
        f"where {_current(engine, history)} group by {keys} having count(*) > 1"
    )


def _ordered(engine: Engine, history: History, extra: str = "") -> str:
    keys = ", ".join(quote(engine, k) for k in history.key)
    valid_from, valid_to = quote(engine, history.valid_from), quote(engine, history.valid_to)
    window = f"over (partition by {keys} order by {valid_from})"
    return (
        f"select {keys}, {valid_from} as valid_from, {valid_to} as valid_to, "
        f"lead({valid_from}) {window} as next_valid_from{extra} from {ref(engine, history.node.relation)}"
    )


def _overlaps(engine: Engine, history: History) -> str:
    current = _current(engine, history).replace(quote(engine, history.valid_to), "valid_to")
    return (
        f"select * from ({_ordered(engine, history)}) as versions where next_valid_from is not null "
        f"and ({current} or next_valid_from < valid_to)"
    )


def _gaps(engine: Engine, history: History) -> str:
    current = _current(engine, history).replace(quote(engine, history.valid_to), "valid_to")
    return (
        f"select * from ({_ordered(engine, history)}) as versions where next_valid_from is not null "
        f"and not {current} and next_valid_from > valid_to"
    )


def _identical(engine: Engine, history: History) -> str:
    keys = ", ".join(quote(engine, k) for k in history.key)
    window = f"over (partition by {keys} order by {quote(engine, history.valid_from)})"
    previous = [f"lag({quote(engine, c)}) {window} as prev_{i}" for i, c in enumerate(history.tracked)]
    same = " and ".join(f"{quote(engine, c)} is not distinct from prev_{i}" for i, c in enumerate(history.tracked))
    inner = (
        f"select {keys}, {quote(engine, history.valid_from)} as valid_from, "
        f"lag({quote(engine, history.valid_from)}) {window} as previous_valid_from, "
        f"{', '.join(quote(engine, c) for c in history.tracked)}, {', '.join(previous)} "
        f"from {ref(engine, history.node.relation)}"
    )
    return (
        f"select {keys}, valid_from, previous_valid_from from ({inner}) as versions "
        f"where previous_valid_from is not null and {same}"
    )


def _matches_source(engine: Engine, history: History) -> str:
    assert history.source is not None
    on = " and ".join(f"s.{quote(engine, k)} = h.{quote(engine, k)}" for k in history.key)
    differs = [
        f"case when not (h.{quote(engine, c)} is not distinct from s.{quote(engine, c)}) then '{c}' end"
        for c in history.compared
    ]
    keys = ", ".join(f"s.{quote(engine, k)}" for k in history.key)
    current = f"select * from {ref(engine, history.node.relation)} where {_current(engine, history)}"
    return (
        f"select {keys}, case when h.{quote(engine, history.key[0])} is null then 'no current version' "
        f"else concat_ws(', ', {', '.join(differs)}) end as differs "
        f"from {ref(engine, history.source.relation)} as s left join ({current}) as h on {on} "
        f"where h.{quote(engine, history.key[0])} is null or not ("
        + " and ".join(f"h.{quote(engine, c)} is not distinct from s.{quote(engine, c)}" for c in history.compared)
        + ")"
    )
