"""`quality docs`: dbt docs of the project built in an ephemeral workspace, written to an artifact folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from quality.commands.common import (
    DEFAULT_PROJECT_DIR,
    ProfilesDirOption,
    ProjectDirOption,
    TargetOption,
    console,
    project_and_target,
    terminate_as_interrupt,
)
from quality.workspace import open_workspace

DOCS_FILES = ("index.html", "manifest.json", "catalog.json", "run_results.json")


def docs(
    project_dir: ProjectDirOption = DEFAULT_PROJECT_DIR,
    profiles_dir: ProfilesDirOption = None,
    target: TargetOption = None,
    fixtures: Annotated[Path, typer.Option(help="raw fixture folder to build the docs' catalog from")] = Path(
        "tests/fixtures/raw"
    ),
    out: Annotated[Path, typer.Option(help="folder for the static docs site")] = Path("artifacts/docs"),
) -> int:
    """Build the project in an ephemeral schema, run `dbt docs generate` there, and keep the site in --out."""
    terminate_as_interrupt()
    project, resolved = project_and_target(project_dir, profiles_dir, target)
    workspace = open_workspace(
        project, resolved, prefix="docs", artifacts_root=Path("artifacts/docs_build"), quiet=True
    )
    try:
        workspace.load_fixtures(fixtures)
        workspace.parse()
        workspace.dbt.run(["build"])
        workspace.dbt.run(["docs", "generate"])
        out.mkdir(parents=True, exist_ok=True)
        for name in DOCS_FILES:
            source = workspace.dbt.target_path / name
            if source.is_file():
                shutil.copyfile(source, out / name)
    finally:
        workspace.close()
    console.print(f"dbt docs written to {out}/index.html (serve with: python -m http.server -d {out})")
    return 0


def register(app: typer.Typer) -> None:
    app.command("docs")(docs)
