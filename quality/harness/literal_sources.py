"""Sources that name their schema as written (`schema: raw`), in a test workspace with a DuckDB file of its own.

Many public dbt projects declare `schema: raw` instead of the harness's `schema: "{{ var('raw_schema', 'raw') }}"`.
The harness cannot point such a source at its workspace's raw schema, but a workspace with a DuckDB file of its
own (every pytest workspace: `.quality/ephemeral/<base>.duckdb`, deleted at the end) can hold a schema `raw`
of its own without touching anything else. So there the workspace stands in for the source:

- a raw fixture `<identifier>.csv` is loaded into `<schema>.<identifier>` of the workspace file;
- a seed of the project with that name is built first, and `<schema>.<identifier>` becomes a view of it.

Nowhere else: on Databricks, and in the gate (whose DuckDB workspace is the prod file itself), `raw` is prod's
raw schema, so a literal source is told how to read the var instead (`raw_sources.literal_schema_advice`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality.engines.kinds import find_kind
from quality.harness.raw_sources import SourceTable, declared_sources, seed_key, seeds
from quality.harness.workspace import Workspace


@dataclass
class StandIns:
    """What the workspace puts in place of literal-schema sources: fixture tables and views of seeds."""

    fixtures: dict[SourceTable, Path] = field(default_factory=dict)
    seeds: dict[SourceTable, tuple[str, str, str]] = field(default_factory=dict)  # seed name, schema, alias
    loaded: dict[str, int] = field(default_factory=dict)  # rows per `schema.table` loaded from fixtures

    @property
    def provided(self) -> set[tuple[str, str]]:
        """(schema, identifier), lower case, of every source stood in for."""
        return {t.key for t in [*self.fixtures, *self.seeds]}

    @property
    def seed_names(self) -> list[str]:
        return sorted({name for name, _, _ in self.seeds.values()})


def plan_stand_ins(workspace: Workspace, manifest: dict[str, Any], fixtures_dir: Path | None) -> StandIns:
    """The literal-schema sources this workspace can stand in for (none unless it owns its DuckDB file: its
    engine kind `stands_in_literal_sources`)."""
    plan = StandIns()
    kind = find_kind(workspace.engine.name)
    if not workspace.owns_file or kind is None or not kind.stands_in_literal_sources:
        return plan
    by_table = {
        seed_key(node)[1]: (str(node["name"]), str(node["schema"]), str(node.get("alias") or node["name"]))
        for node in seeds(manifest)
    }
    for table in declared_sources(manifest):
        if table.schema == workspace.raw_schema or table.schema.startswith(f"{workspace.base}_"):
            continue
        if table.database is not None and table.database.lower() != workspace.engine.database.lower():
            continue
        csv = fixtures_dir / f"{table.identifier}.csv" if fixtures_dir is not None else None
        if csv is not None and csv.is_file():
            plan.fixtures[table] = csv
        elif (seed := by_table.get(table.key[1])) is not None and seed[1] != table.schema:
            plan.seeds[table] = seed
    return plan


def load_fixture_stand_ins(workspace: Workspace, plan: StandIns) -> dict[str, int]:
    """Load each planned fixture into the literal schema of the workspace file; returns rows per table."""
    for table, path in sorted(plan.fixtures.items()):
        plan.loaded[table.label] = workspace.engine.load_csv(table.schema, table.identifier, path)
    return plan.loaded


def bridge_seed_stand_ins(workspace: Workspace, plan: StandIns) -> None:
    """After the seeds are built: `<schema>.<identifier>` of each planned source becomes a view of its seed."""
    engine = workspace.engine
    for table, (_name, schema, alias) in sorted(plan.seeds.items()):
        engine.create_schema(table.schema)
        engine.execute(
            f"create or replace view {engine.relation_ref(table.schema, table.identifier)} as "
            f"select * from {engine.relation_ref(schema, alias)}"
        )
