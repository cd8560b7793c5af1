"""`quality compile`: every model, test, snapshot and unit test rendered as dbt-databricks would send it, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quality.commands.common import (
    ProjectOptions,
    console,
    project_command,
)
from quality.dbt.offline_compile import compile_offline


@project_command
def compile_(
    project_options: ProjectOptions,
    state: Annotated[
        Path | None,
        typer.Option(help="folder holding the prod manifest.json: its relations count as existing (incremental SQL)"),
    ] = None,
    target_path: Annotated[
        Path, typer.Option(help="dbt target folder: compiled SQL in <it>/compiled, manifest.json beside it")
    ] = Path("artifacts/compile"),
    select: Annotated[list[str] | None, typer.Option("--select", "-s", help="dbt node selection")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="dbt nodes to leave out")] = None,
) -> int:
    """Run `dbt compile` on a Databricks target with no connection: warehouse capabilities, no SQL sent."""
    project = project_options.load_project()
    summary = compile_offline(
        project, project_options.target, target_path, state=state, select=select or (), exclude=exclude or ()
    )
    console.print(summary.describe(), highlight=False, soft_wrap=True)
    return 0


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_)
