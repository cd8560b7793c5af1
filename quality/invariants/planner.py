"""Plan the invariants a project implies, from its manifest (compiled SQL included) and its built relations.

    plan = plan_invariants(manifest, engine_columns(engine), project_vars)
    report = run_invariants(engine, plan)       # quality.invariants.execute

Each kind lives in its own module (scd2, date_spine, derived_columns, measures) and plans from the same
`Project` view. Checks a model switches off (`config.meta.quality.invariants.off`, with a reason) are
dropped here and listed in `Plan.skipped`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from quality.engines.base import Engine
from quality.engines.kinds import adapter_dialect
from quality.invariants import date_spine, derived_columns, measures, scd2
from quality.invariants.model import Check, ColumnLookup, Node, Relation, ref
from quality.invariants.project import Project
from quality.invariants.switches import settings_of, switched_off

BUILT_TYPES = frozenset({"model", "snapshot", "seed"})


@dataclass
class Plan:
    checks: list[Check]
    skipped: list[str]  # "<invariant> on <model>: <reason>"


Planner = Callable[[Project], list[Check]]


def plan_invariants(manifest: dict[str, Any], lookup: ColumnLookup, project_vars: dict[str, Any] | None = None) -> Plan:
    """Every invariant the project implies, minus what its models switch off (with their reasons)."""
    dialect = adapter_dialect(manifest.get("metadata", {}).get("adapter_type"))
    project = Project(load_nodes(manifest), lookup, dialect, dict(project_vars or {}))
    planners: list[Planner] = [scd2.plan, date_spine.plan, derived_columns.plan, measures.plan]
    checks = [check for planner in planners for check in planner(project)]
    return switch_off(checks, project.nodes)


def switch_off(checks: list[Check], nodes: dict[str, Node]) -> Plan:
    kept, skipped = [], []
    for check in checks:
        owner = next((nodes[uid] for uid in check.owners if check.invariant in switched_off(nodes[uid].settings)), None)
        if owner is None:
            kept.append(check)
        else:
            skipped.append(
                f"{check.invariant} on {check.model}: switched off by {owner.name}: {owner.settings['reason']}"
            )
    return Plan(kept, sorted(set(skipped)))


def load_nodes(manifest: dict[str, Any]) -> dict[str, Node]:
    """Models, snapshots and seeds that are materialized, and sources, with their declared unique columns."""
    nodes: dict[str, Node] = {}
    for unique_id, raw in manifest.get("nodes", {}).items():
        config = raw.get("config", {}) or {}
        if raw.get("resource_type") not in BUILT_TYPES or config.get("materialized") == "ephemeral":
            continue
        relation = Relation(unique_id, raw["name"], raw.get("schema") or "", raw.get("alias") or raw["name"])
        nodes[unique_id] = Node(
            relation,
            raw["resource_type"],
            config,
            raw.get("raw_code") or "",
            raw.get("compiled_code") or "",
            list(raw.get("depends_on", {}).get("nodes", [])),
            _declared_unique(raw),
            settings_of(raw),
        )
    for unique_id, raw in manifest.get("sources", {}).items():
        name = f"{raw.get('source_name')}.{raw['name']}"
        relation = Relation(unique_id, name, raw.get("schema") or "", raw.get("identifier") or raw["name"])
        nodes[unique_id] = Node(relation, "source", {}, unique_columns=_declared_unique(raw))
    _add_tested_unique(manifest, nodes)
    return nodes


def _declared_unique(raw: dict[str, Any]) -> set[str]:
    unique: set[str] = set()
    key = (raw.get("config") or {}).get("unique_key")
    if isinstance(key, str) and key.isidentifier():
        unique.add(key.lower())
    for constraint in raw.get("constraints", []) or []:
        columns = constraint.get("columns") or []
        if constraint.get("type") in {"primary_key", "unique"} and len(columns) == 1:
            unique.add(str(columns[0]).lower())
    for name, column in (raw.get("columns") or {}).items():
        if any(c.get("type") in {"primary_key", "unique"} for c in column.get("constraints", []) or []):
            unique.add(name.lower())
    return unique


def _add_tested_unique(manifest: dict[str, Any], nodes: dict[str, Node]) -> None:
    """Columns with a `unique` data test (dbt's generic test) count as unique in their model."""
    for raw in manifest.get("nodes", {}).values():
        metadata = raw.get("test_metadata") or {}
        attached, column = raw.get("attached_node"), raw.get("column_name")
        if metadata.get("name") == "unique" and attached in nodes and isinstance(column, str):
            nodes[attached].unique_columns.add(column.lower())


def engine_columns(engine: Engine) -> ColumnLookup:
    """A ColumnLookup reading each relation's columns and types from the warehouse ({} if not there)."""

    def lookup(relation: Relation) -> dict[str, str]:
        try:
            schema = engine.fetch_arrow(f"select * from {ref(engine, relation)} where 1 = 0").schema
        except Exception:
            return {}
        return {field.name.lower(): str(field.type).lower() for field in schema}

    return lookup


def project_vars(root: Path, name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The vars of dbt_project.yml (global ones, then the project's own scope), then --vars overrides."""
    try:
        declared = yaml.safe_load((root / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        declared = {}
    raw = declared.get("vars") or {} if isinstance(declared, dict) else {}
    values = {key: value for key, value in raw.items() if not isinstance(value, dict)}
    scoped = raw.get(name)
    if isinstance(scoped, dict):
        values.update(scoped)
    return {**values, **(overrides or {})}
