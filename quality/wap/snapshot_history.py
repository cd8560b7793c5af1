"""Raw data older than a snapshot's history in prod: one message before the build, naming the choices.

A `timestamp` snapshot records a new version of a key only when the key's `updated_at` moves forward. Raw
data whose `updated_at` is earlier than prod's current version (other raw data than prod was built from:
the generator's after the fixtures') leave the snapshot's current versions contradicting the raw rows, and
the marts that join them fail on every such key. The gate compares, before the build, each such
snapshot's raw table (the one source its models read) with prod's current versions, per unique_key.

Checked where it can be read plainly: a snapshot reaching exactly one source table through models (no
seed), whose unique_key and updated_at are column names that the raw table has too. Otherwise the build's
tests remain the check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quality.engines.base import Engine
from quality.engines.publish import PublishStep

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Backwards:
    """Keys of one snapshot whose raw `updated_at` is earlier than prod's current version."""

    snapshot: str
    keys: int  # keys whose raw updated_at went backwards
    compared: int  # keys both in the raw table and current in prod
    key: str  # the unique_key column(s), for the message
    column: str  # the updated_at column
    raw: str  # the source, as the project reads it
    prod: str  # prod's snapshot, schema.name
    newest: Any  # the newest current version in prod

    def describe(self) -> str:
        return (
            f"snapshot {self.snapshot}: for {self.keys} of {self.compared} {self.key} value(s), {self.column} in "
            f"the raw rows of {self.raw} is earlier than in the current version prod holds in {self.prod} "
            f"(newest there: {self.newest})"
        )


@dataclass(frozen=True)
class _Plan:
    snapshot: str
    keys: list[str]
    column: str
    raw: tuple[str, str]
    source: str  # source('name', 'table'), as the project reads it
    prod: tuple[str, str]
    valid_to: str
    updated: str


def find_backwards(engine: Engine, audit: dict[str, Any], steps: Sequence[PublishStep]) -> list[Backwards]:
    """Every timestamp snapshot with a prod history whose raw rows are older for some keys."""
    found = []
    for step in steps:
        plan = _plan(engine, audit, step)
        if plan is None or not engine.relation_exists(*plan.prod):
            continue
        result = _compare(engine, plan)
        if result is not None and result.keys:
            found.append(result)
    return found


def message(found: Sequence[Backwards], fresh: str) -> str:
    """The gate's one message: what went backwards, why that fails, and the choices (`fresh`: where a fresh
    or separate warehouse comes from on this target)."""
    return (
        f"The raw data are older than the snapshot history in prod: {'; '.join(b.describe() for b in found)}. "
        "A timestamp snapshot only moves forward, so its current versions would contradict these raw rows and "
        "the models joining them would fail (other raw data than prod was built from, e.g. generated with "
        f"--orders after the fixtures). Choose: {fresh}; or raw data whose updated_at continue prod's history. "
        "Nothing was built."
    )


def _plan(engine: Engine, audit: dict[str, Any], step: PublishStep) -> _Plan | None:
    node = audit.get("nodes", {}).get(step.unique_id, {})
    config = node.get("config") or {}
    if node.get("resource_type") != "snapshot" or config.get("strategy") != "timestamp":
        return None
    key = config.get("unique_key")
    keys = [key] if isinstance(key, str) else [str(k) for k in key or []]
    column = str(config.get("updated_at") or "")
    source = _single_source(audit, step.unique_id)
    if not keys or source is None or not all(_IDENTIFIER.fullmatch(name) for name in [*keys, column]):
        return None
    if source.get("database") and str(source["database"]).lower() != engine.database.lower():
        return None
    meta = config.get("snapshot_meta_column_names") or {}
    return _Plan(
        snapshot=str(node["name"]),
        keys=keys,
        column=column,
        raw=(str(source["schema"]), str(source.get("identifier") or source["name"])),
        source=f"source('{source.get('source_name')}', '{source.get('name')}')",
        prod=(step.prod_schema, step.prod_name),
        valid_to=str(meta.get("dbt_valid_to") or "dbt_valid_to"),
        updated=str(meta.get("dbt_updated_at") or "dbt_updated_at"),
    )


def _single_source(audit: dict[str, Any], unique_id: str) -> dict[str, Any] | None:
    """The one source table a node reaches through models, or None (several, none, or a seed on the way)."""
    sources: set[str] = set()
    todo, seen = [unique_id], set()
    while todo:
        current = todo.pop()
        for parent in audit.get("nodes", {}).get(current, {}).get("depends_on", {}).get("nodes", []):
            if parent in seen:
                continue
            seen.add(parent)
            if parent.startswith("source."):
                sources.add(parent)
            elif parent.startswith("model."):
                todo.append(parent)
            else:
                return None
    if len(sources) != 1:
        return None
    source: dict[str, Any] | None = audit.get("sources", {}).get(sources.pop())
    return source


def _compare(engine: Engine, plan: _Plan) -> Backwards | None:
    """Count the keys whose raw updated_at is earlier than prod's current version (None: not comparable)."""
    raw, prod = engine.relation_ref(*plan.raw), engine.relation_ref(*plan.prod)
    try:
        columns = {name.lower() for name in engine.fetch_arrow(f"select * from {raw} limit 0").column_names}
    except Exception:  # no such raw table: the raw data check names it
        return None
    if not {name.lower() for name in [*plan.keys, plan.column]} <= columns:
        return None
    keys = ", ".join(f"cast({name} as string) as k{i}" for i, name in enumerate(plan.keys))
    joined = " and ".join(f"r.k{i} = p.k{i}" for i in range(len(plan.keys)))
    groups = ", ".join(f"k{i}" for i in range(len(plan.keys)))
    sql = (
        f"with r as (select {keys}, max(cast({plan.column} as timestamp)) as u from {raw} group by {groups}), "
        f"p as (select {keys}, max(cast({plan.updated} as timestamp)) as u from {prod} "
        f"where {plan.valid_to} is null group by {groups}) "
        f"select count(*), sum(case when r.u < p.u then 1 else 0 end), max(p.u) from r join p on {joined}"
    )
    try:
        ((compared, backwards, newest),) = engine.query(sql)
    except Exception:  # types that do not cast: leave it to the build's tests
        return None
    return Backwards(
        snapshot=plan.snapshot,
        keys=int(backwards or 0),
        compared=int(compared or 0),
        key=", ".join(plan.keys),
        column=plan.column,
        raw=plan.source,
        prod=".".join(plan.prod),
        newest=newest,
    )
