"""The publish plan is checked before anything is built: one prod relation, one source relation.

`gate.plan_publish` pairs every relation of the audit build (models, seeds, snapshots, raw fixture tables)
with the prod relation it replaces. This refuses, with one message naming both sides, a plan in which

- two relations of the audit would be written onto one prod relation;
- a raw table would be written onto the prod relation of a model, seed or snapshot of the project (which a
  source declared in that schema, e.g. a source reading the snapshots schema, makes possible);
- a relation would be written into a schema that is neither a prod schema of the project's nodes nor the
  schema of one of its sources (a relation the project does not own).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quality.engines.publish import PublishStep
from quality.errors import QualityError

RELATION_TYPES = frozenset({"model", "seed", "snapshot"})


class PublishPlanError(QualityError):
    """The publish plan would overwrite one relation with another; nothing was built or published."""


def check_publish_plan(steps: Iterable[PublishStep], prod: dict[str, Any], *, target: str) -> None:
    steps = list(steps)
    owners = _node_relations(prod)
    _refuse_shared_targets(steps, prod, target)
    _refuse_raw_over_nodes(steps, owners, prod, target)
    _refuse_foreign_schemas(steps, prod, target)


def _key(schema: str, name: str) -> tuple[str, str]:
    return schema.lower(), name.lower()


def _node_relations(prod: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        _key(str(node["schema"]), str(node.get("alias") or node["name"])): unique_id
        for unique_id, node in prod.get("nodes", {}).items()
        if node.get("resource_type") in RELATION_TYPES and node.get("config", {}).get("materialized") != "ephemeral"
    }


def describe(step: PublishStep, prod: dict[str, Any]) -> str:
    """What a step publishes, as a person names it: `snapshot customers_snapshot (audit_x_snapshots.customers_snapshot)`."""
    source = f"{step.audit_schema}.{step.name}"
    if step.unique_id.startswith("raw."):
        return f"the raw table {step.name} ({source}, loaded from the raw fixtures)"
    node = prod.get("nodes", {}).get(step.unique_id, {})
    kind = node.get("resource_type", "node")
    where = f", {node['original_file_path']}" if node.get("original_file_path") else ""
    return f"{kind} {node.get('name', step.unique_id)} ({source}{where})"


def _refuse_shared_targets(steps: list[PublishStep], prod: dict[str, Any], target: str) -> None:
    by_target: dict[tuple[str, str], list[PublishStep]] = {}
    for step in steps:
        by_target.setdefault(_key(step.prod_schema, step.prod_name), []).append(step)
    for (schema, name), sharing in by_target.items():
        if len(sharing) > 1:
            both = " and ".join(describe(step, prod) for step in sharing)
            raise PublishPlanError(
                f"the publish to {target} would write {len(sharing)} relations onto one prod relation "
                f"{schema}.{name}: {both}. The last would overwrite the others, so nothing was built or published. "
                f"{_fix(sharing)}"
            )


def _refuse_raw_over_nodes(
    steps: list[PublishStep], owners: dict[tuple[str, str], str], prod: dict[str, Any], target: str
) -> None:
    for step in steps:
        owner = owners.get(_key(step.prod_schema, step.prod_name))
        if step.unique_id.startswith("raw.") and owner is not None:
            node = prod["nodes"][owner]
            raise PublishPlanError(
                f"the publish to {target} would write {describe(step, prod)} onto {step.prod_schema}."
                f"{step.prod_name}, the prod relation of {node['resource_type']} {node['name']} "
                f"({node.get('original_file_path', owner)}), so nothing was built or published. "
                "Raw tables are published to the schema the sources declare; a source declared in the schema "
                f"of the project's own nodes makes the two meet. Remove {step.name}.csv from the raw fixtures, "
                "or declare that source in the raw schema."
            )


def _refuse_foreign_schemas(steps: list[PublishStep], prod: dict[str, Any], target: str) -> None:
    owned = {str(node["schema"]).lower() for node in prod.get("nodes", {}).values() if node.get("schema")}
    owned |= {str(source["schema"]).lower() for source in prod.get("sources", {}).values() if source.get("schema")}
    for step in steps:
        if step.prod_schema.lower() not in owned:
            raise PublishPlanError(
                f"the publish to {target} would write {describe(step, prod)} into schema {step.prod_schema}, "
                f"which is neither a schema of the project's models, seeds and snapshots nor of its sources "
                f"({', '.join(sorted(owned))}); nothing was built or published. Declare the schema in the "
                "project (a source, or a node's +schema), or leave that relation out."
            )


def _fix(sharing: list[PublishStep]) -> str:
    if any(step.unique_id.startswith("raw.") for step in sharing):
        return (
            "A raw fixture table has the name of a node's prod relation: rename or remove the fixture, or "
            "declare its source in the raw schema."
        )
    return "Give the nodes different aliases or schemas (two nodes cannot share one prod relation)."
