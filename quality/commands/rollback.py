"""`quality rollback` and `quality drop-partitions`: the ways back after a bad deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quality.commands.common import (
    ProjectOptions,
    console,
    project_command,
)
from quality.dbt.runner import DbtInvoker
from quality.engines.factory import open_engine
from quality.errors import QualityError
from quality.observability.artifacts import DEFAULT_ROOT
from quality.wap.rollback import drop_partitions, last_published_run, rollback_run

ArtifactsOption = Annotated[Path, typer.Option("--artifacts-dir", help="folder of run folders")]


@project_command
def rollback(
    project_options: ProjectOptions,
    run_id: Annotated[
        str | None, typer.Option(help="run to undo (default: the one of the newest publish record, never an older one)")
    ] = None,
    artifacts_dir: ArtifactsOption = DEFAULT_ROOT,
    force: Annotated[
        bool, typer.Option("--force", help="restore even if prod differs from the publish record (loses those changes)")
    ] = False,
) -> int:
    """Restore the tables a `quality gate` run published to their state before that run.

    Refuses when prod no longer holds what the run's publish record says it published, and never steps
    further back than the newest publish record without --run-id.
    """
    _, resolved = project_options.resolve()
    engine = open_engine(resolved)
    try:
        run_dir = artifacts_dir / run_id if run_id else last_published_run(resolved.name, artifacts_dir, engine)
        restored = rollback_run(engine, run_dir, target=resolved.name, force=force)
    finally:
        engine.close()
    console.print(f"rolled back run {run_dir.name} on {resolved.describe()}: restored {len(restored)} table(s)")
    for name in restored:
        console.print(f"  {name}")
    return 0


@project_command
def drop_partitions_command(
    model: Annotated[str, typer.Option(help="incremental model whose partitions to drop, e.g. fct_orders")],
    column: Annotated[str, typer.Option(help="partition column, e.g. order_date")],
    value: Annotated[list[str], typer.Option(help="partition value to drop (repeat for several)")],
    project_options: ProjectOptions,
) -> int:
    """Delete given partitions of a model in prod; `quality gate --full-refresh <model>` rebuilds them."""
    project, resolved = project_options.resolve()
    manifest = DbtInvoker(project, resolved, Path("artifacts/parse") / resolved.name, quiet=True).parse()
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == model]
    if not nodes:
        raise QualityError(f"no model named '{model}' in {project.root}; check the name (dbt ls -s {model}).")
    node = nodes[0]
    engine = open_engine(resolved)
    try:
        deleted = drop_partitions(engine, node["schema"], node["alias"] or model, column, list(value))
    finally:
        engine.close()
    console.print(f"deleted {deleted} row(s) of {node['schema']}.{model} where {column} in {list(value)}")
    console.print(f"rebuild them from the sources with: quality gate --full-refresh {model}")
    return 0


def register(app: typer.Typer) -> None:
    app.command("rollback")(rollback)
    app.command("drop-partitions")(drop_partitions_command)
