"""`quality diff`: build the PR's models next to prod (nothing published) and diff them by primary key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from quality.commands.common import (
    ProjectOptions,
    console,
    project_command,
    terminate_as_interrupt,
)
from quality.dbt.runner import DbtInvoker
from quality.dbt.selection import changed_and_children
from quality.dbt.targets import resolve_target
from quality.engines.base import Engine
from quality.harness.workspace import open_workspace
from quality.wap.diff import ModelDiff, diff_model, primary_key, relation_columns, to_markdown
from quality.wap.gate import PARSE_CACHE
from quality.wap.review.build import BUILT_TYPES


@project_command
def diff(
    project_options: ProjectOptions,
    state: Annotated[
        Path | None,
        typer.Option(help="folder with prod's manifest.json: compare what changed and its children, defer the rest"),
    ] = None,
    select: Annotated[
        str | None, typer.Option(help="dbt selector of what to build and compare (default: see --state)")
    ] = None,
    prod_target: Annotated[
        str | None, typer.Option(help="the target whose relations are prod (default: --target's own prod schemas)")
    ] = None,
    out: Annotated[Path, typer.Option(help="markdown summary for the PR")] = Path("artifacts/diff.md"),
) -> int:
    """Build the branch's models next to prod (nothing is published) and diff each with prod by primary key.

    With --state, the models that changed since that manifest and their children are built and the
    unchanged parents are read from prod (`--defer`); without it, every model, seed and snapshot is built.
    Either way on prod's own raw data. On Databricks, a PR runs it on the `ci` target with
    `--prod-target prod`: the ci principal reads the prod tables (SELECT) and writes only its own schemas.
    """
    terminate_as_interrupt()
    project, resolved = project_options.resolve()
    args = ["build", *BUILT_TYPES]
    if select is not None:
        args += ["--select", select]
    elif state is not None:
        args += ["--select", *changed_and_children()]
    if state is not None:
        args += ["--defer", "--state", str(state.resolve())]
    workspace = open_workspace(
        project, resolved, prefix="diff", artifacts_root=Path("artifacts/diff"), separate_file=False, quiet=True
    )
    try:
        workspace.dbt.raw_schema = None  # the branch's code on prod's raw data
        manifest = workspace.parse()
        prod_resolved = resolve_target(project, prod_target) if prod_target else resolved
        prod = DbtInvoker(project, prod_resolved, workspace.artifacts_dir / "prod_target", quiet=True).parse_cached(
            PARSE_CACHE
        )
        run = workspace.dbt.run(args)
        built = [
            manifest["nodes"][n.unique_id] for n in run.nodes if n.status == "success" and n.resource_type == "model"
        ]
        diffs, skipped = _compare(workspace.engine, built, manifest, prod)
    finally:
        workspace.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_markdown(diffs, skipped), encoding="utf-8")
    console.print(to_markdown(diffs, skipped))
    console.print(f"written to {out}")
    return 0


def _compare(
    engine: Engine, built: list[dict[str, Any]], manifest: dict[str, Any], prod: dict[str, Any]
) -> tuple[list[ModelDiff], dict[str, str]]:
    diffs, skipped = [], {}
    for node in built:
        key = primary_key(node, manifest)
        prod_node = prod["nodes"].get(node["unique_id"])
        if not key or prod_node is None:
            skipped[node["name"]] = "no primary key declared" if not key else "not in prod manifest"
            continue
        result = ModelDiff(node["name"], key, node["relation_name"], prod_node["relation_name"])
        prod_columns = relation_columns(engine, prod_node["schema"], prod_node["alias"])
        if not prod_columns:
            result.prod_exists = False
            diffs.append(result)
            continue
        diffs.append(diff_model(engine, result, relation_columns(engine, node["schema"], node["alias"]), prod_columns))
    return diffs, skipped


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
