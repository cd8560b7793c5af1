"""An ephemeral workspace: one schema base on one engine, with dbt bound to it, dropped whatever happens.

Where it lives is the engine kind's answer (`EngineKind.workspace_target`): on a file-backed engine
(DuckDB) each workspace also gets its own database file (one writer per file), so xdist workers and
concurrent runs never share a writable file; on Databricks the workspace's schemas live in the target's
catalog and the base name (timestamp, run id, worker) keeps them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from quality.dbt.project import DbtProject
from quality.dbt.routing import routing_refusal
from quality.dbt.runner import DbtInvoker, ProgressCallback
from quality.dbt.schemas import assert_ephemeral, drop_ephemeral, new_base
from quality.dbt.targets import Target
from quality.engines.base import Engine
from quality.engines.factory import open_engine
from quality.engines.kind import EPHEMERAL_DIR as EPHEMERAL_DIR
from quality.engines.kinds import engine_kind
from quality.engines.raw_csv import discover
from quality.errors import SchemaGuardError

PARSE_STATE_DIR = Path(".quality/cache/partial_parse")  # dbt's partial-parse state, shared by every base

InvokerT = TypeVar("InvokerT", bound=DbtInvoker)


def raw_schema_of(base: str) -> str:
    """The schema of a base that raw fixtures load into."""
    return f"{base}_raw"


def workspace_invoker(
    invoker: type[InvokerT], project: DbtProject, target: Target, base: str, folder: Path, **options: Any
) -> InvokerT:
    """dbt bound to the workspace on `base`: artifacts in `<folder>/target`, raw fixtures read from its raw
    schema; `options` are the invoker's other fields."""
    return invoker(
        project=project,
        target=target,
        target_path=folder / "target",
        schema_base=base,
        raw_schema=raw_schema_of(base),
        **options,
    )


@dataclass
class Workspace:
    project: DbtProject
    target: Target
    base: str
    engine: Engine
    dbt: DbtInvoker
    artifacts_dir: Path
    keep: bool = False
    owns_file: bool = False

    @property
    def raw_schema(self) -> str:
        return raw_schema_of(self.base)

    def schema(self, custom: str) -> str:
        """Where a node with custom schema `custom` lands in this workspace."""
        return f"{self.base}_{custom}"

    def load_fixtures(self, directory: Path) -> dict[str, int]:
        """Load every `<table>.csv` of the directory into the raw schema; returns rows per table."""
        loaded = {}
        for fixture in discover(directory):
            loaded[fixture.table] = self.engine.load_csv(self.raw_schema, fixture.table, fixture.path)
        return loaded

    def parse(self) -> dict[str, Any]:
        """Parse the project for this workspace and refuse it if any node would land outside the base."""
        manifest = self.dbt.parse_relocatable(PARSE_STATE_DIR)
        check_routing(manifest, self.base, self.project.root, self.target.schema)
        return manifest

    def close(self) -> list[str]:
        """Drop every schema of the base (unless kept) and release the engine; returns what was dropped."""
        dropped: list[str] = []
        try:
            if not self.keep:
                dropped = drop_ephemeral(self.engine, self.base)
        finally:
            self.engine.close()
            if self.owns_file and not self.keep:
                engine_kind(self.target).remove_files(self.target)
        return dropped


def open_workspace(
    project: DbtProject,
    target: Target,
    *,
    prefix: str,
    artifacts_root: Path,
    run_id: str | None = None,
    worker: str | None = None,
    keep: bool = False,
    base: str | None = None,
    separate_file: bool = True,
    progress: ProgressCallback | None = None,
    quiet: bool = False,
    dbt_vars: dict[str, Any] | None = None,
    duckdb_file: Path | None = None,
) -> Workspace:
    """Create an ephemeral workspace (a new base, or a given one after the prod guard); `dbt_vars` are the
    project's own vars (dbt's --vars), passed to every dbt command of the workspace. On a file-backed engine
    (DuckDB), `duckdb_file` names the file of its own that the caller provides (and deletes), e.g. one file
    for several workspaces built one after another."""
    base = base or new_base(prefix, run_id=run_id, worker=worker)
    assert_ephemeral(base, prod_schemas={target.schema})
    owns_file = False
    if separate_file or duckdb_file is not None:
        placed = engine_kind(target).workspace_target(target, base, duckdb_file)
        if placed is not None:
            target, owns_file = placed, True
    engine = open_engine(target)
    artifacts_dir = artifacts_root / base
    invoker = workspace_invoker(
        DbtInvoker,
        project,
        target,
        base,
        artifacts_dir,
        extra_vars=dict(dbt_vars or {}),
        progress=progress,
        quiet=quiet,
        check_manifest=lambda manifest: check_routing(manifest, base, project.root, target.schema),
    )
    engine.create_schema(raw_schema_of(base))
    return Workspace(project, target, base, engine, invoker, artifacts_dir, keep=keep, owns_file=owns_file)


def check_routing(
    manifest: dict[str, Any], base: str, project_root: Path | None = None, target_schema: str | None = None
) -> None:
    """Every node that dbt would materialize must land in a schema of the base, never in prod; else one
    message naming the config that bypasses the harness, its file and line (`quality.dbt.routing`)."""
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in {"model", "seed", "snapshot"}:
            continue
        if node.get("config", {}).get("materialized") == "ephemeral":
            continue
        if not str(node.get("schema") or "").startswith(f"{base}_"):
            raise SchemaGuardError(routing_refusal(manifest, node, base, project_root, target_schema))
