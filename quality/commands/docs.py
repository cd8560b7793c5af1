"""`quality docs`: dbt docs and GX Data Docs of the project built in an ephemeral workspace, written to an
artifact folder (`<out>/index.html`, `<out>/data_docs/index.html`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from quality.commands.common import (
    ProjectOptions,
    console,
    project_command,
    terminate_as_interrupt,
)
from quality.harness.workspace import Workspace, open_workspace

DOCS_FILES = ("index.html", "manifest.json", "catalog.json", "run_results.json")
DATA_DOCS_DIR = "data_docs"


@project_command
def docs(
    project_options: ProjectOptions,
    fixtures: Annotated[Path, typer.Option(help="raw fixture folder to build the docs' catalog from")] = Path(
        "tests/fixtures/raw"
    ),
    out: Annotated[Path, typer.Option(help="folder for the static docs site")] = Path("artifacts/docs"),
) -> int:
    """Build the project in an ephemeral schema, run `dbt docs generate` and the GX suites there, and keep both
    sites in --out (GX Data Docs in --out/data_docs)."""
    terminate_as_interrupt()
    project, resolved = project_options.resolve()
    workspace = open_workspace(
        project, resolved, prefix="docs", artifacts_root=Path("artifacts/docs_build"), quiet=True
    )
    try:
        workspace.load_fixtures(fixtures)
        manifest = workspace.parse()
        workspace.dbt.run(["build"])
        workspace.dbt.run(["docs", "generate"])
        out.mkdir(parents=True, exist_ok=True)
        for name in DOCS_FILES:
            source = workspace.dbt.target_path / name
            if source.is_file():
                shutil.copyfile(source, out / name)
        data_docs = write_data_docs(workspace, manifest, out / DATA_DOCS_DIR)
    finally:
        workspace.close()
    console.print(f"dbt docs written to {out}/index.html (serve with: python -m http.server -d {out})")
    console.print(f"GX Data Docs written to {data_docs}" if data_docs else "no expectation suite: no GX Data Docs")
    return 0


def write_data_docs(workspace: Workspace, manifest: dict[str, Any], folder: Path) -> Path | None:
    """Validate every expectation suite on the docs build and write GX Data Docs; returns their index.html,
    None without a suite. Failed expectations are shown in the site (the gate is what refuses them); an
    expectation that could not be evaluated raises."""
    from quality.expectations.spec import check_suites
    from quality.expectations.validate import validate_models

    suites = check_suites(manifest)
    shutil.rmtree(folder, ignore_errors=True)  # GX adds to a site: keep only this build's validations
    report = validate_models(suites, manifest, workspace.engine, data_docs_dir=folder, run_name=workspace.base)
    report.raise_for_errors()
    return report.data_docs_index


def register(app: typer.Typer) -> None:
    app.command("docs")(docs)
