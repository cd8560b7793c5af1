"""Build one revision of a dbt project in an ephemeral workspace, batch after batch of the same raw data.

Each batch's raw tables are loaded into the workspace's raw schema, then every seed, model and snapshot is
built (no tests: checking is the gate's job, and a failing test would skip what the review must compare).
A second batch runs the incremental models and snapshots on top of the first, as in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.dbt.project import DbtProject
from quality.dbt.runner import describe_failures
from quality.dbt.targets import Target
from quality.errors import QualityError
from quality.harness.literal_sources import bridge_seed_stand_ins, load_fixture_stand_ins, plan_stand_ins
from quality.harness.raw_sources import seeds_provide_every_source, seeds_read_as_sources
from quality.harness.workspace import Workspace, open_workspace
from quality.wap.diff import FLOAT_TYPES

BUILT_TYPES = ("--resource-type", "model", "--resource-type", "seed", "--resource-type", "snapshot")
RELATION_TYPES = frozenset({"model", "seed", "snapshot"})


@dataclass(frozen=True)
class Relation:
    """A relation a revision built: the node, where it landed, and its columns."""

    unique_id: str
    name: str
    resource_type: str
    schema: str
    alias: str
    columns: tuple[str, ...]
    node: dict[str, Any]
    approximate: frozenset[str] = frozenset()  # floating-point columns, compared within a tolerance


@dataclass
class BuiltRevision:
    label: str  # "base abc123" or "working tree"
    base: str  # the workspace's schema base
    manifest: dict[str, Any]
    relations: dict[str, Relation]  # by unique id: what the build made


def build_revision(
    workspace: Workspace, label: str, batches: list[Path], *, seeds_are_raw_data: bool = False
) -> BuiltRevision:
    """Parse for the workspace, then load and build each batch; a failed build raises naming the revision."""
    manifest = workspace.parse()
    if not batches and not seeds_are_raw_data and not seeds_provide_every_source(manifest):
        workspace.dbt.raw_schema = None  # no raw fixtures: both revisions read the target's own raw tables
        manifest = workspace.parse()
    seeds_first = seeds_read_as_sources(manifest)
    for number, batch in enumerate(batches or [None], start=1):
        stand_ins = plan_stand_ins(workspace, manifest, batch)
        if batch is not None:
            workspace.load_fixtures(batch)
            load_fixture_stand_ins(workspace, stand_ins)
        run = workspace.dbt.build(
            seeds_first=sorted({*seeds_first, *stand_ins.seed_names}),
            after_seeds=lambda plan=stand_ins: bridge_seed_stand_ins(workspace, plan),  # type: ignore[misc]
            expect_pass=False,
            args=BUILT_TYPES,
        )
        if not run.success:
            where = f" on raw data batch {number} ({batch})" if batch is not None else ""
            raise QualityError(
                f"the {label} does not build{where}, so there is nothing to compare: "
                f"{describe_failures(run, workspace.target, workspace.base)}"
            )
    return BuiltRevision(label, workspace.base, manifest, built_relations(workspace, manifest))


def built_relations(workspace: Workspace, manifest: dict[str, Any]) -> dict[str, Relation]:
    """Every seed, model and snapshot of the manifest that exists in the workspace, with its columns."""
    relations = {}
    by_schema: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in RELATION_TYPES or node.get("config", {}).get("materialized") == "ephemeral":
            continue
        schema, alias = str(node["schema"]), str(node.get("alias") or node["name"])
        if schema not in by_schema:
            by_schema[schema] = _columns_of_schema(workspace, schema)
        columns = by_schema[schema].get(alias.lower())
        if columns:
            floats = frozenset(name for name, kind in columns if kind.upper() in FLOAT_TYPES)
            names = tuple(name for name, _ in columns)
            relations[unique_id] = Relation(
                unique_id, node["name"], node["resource_type"], schema, alias, names, node, floats
            )
    return relations


def _columns_of_schema(workspace: Workspace, schema: str) -> dict[str, list[tuple[str, str]]]:
    """Per relation (lower case): its columns and their types, in order."""
    rows = workspace.engine.query(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = ? "
        "order by table_name, ordinal_position",
        [schema],
    )
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        columns.setdefault(str(table).lower(), []).append((str(column), str(kind)))
    return columns


def open_revision_workspace(
    project: DbtProject,
    target: Target,
    *,
    prefix: str,
    artifacts_root: Path,
    duckdb_file: Path | None,
    dbt_vars: dict[str, Any],
    run_id: str,
) -> Workspace:
    """A workspace kept until the review ends (the review drops it, or deletes the file it lives in)."""
    return open_workspace(
        project,
        target,
        prefix=prefix,
        artifacts_root=artifacts_root,
        run_id=run_id,
        keep=True,
        separate_file=False,
        duckdb_file=duckdb_file,
        quiet=True,
        dbt_vars=dbt_vars,
    )
