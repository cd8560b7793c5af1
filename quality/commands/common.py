"""Options and helpers shared by the commands: project, target, console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from quality.project import DbtProject, load_project
from quality.targets import Target, default_target_name, resolve_target

console = Console()

ProjectDirOption = Annotated[
    Path, typer.Option("--project-dir", envvar="DBT_PROJECT_DIR", help="folder holding dbt_project.yml")
]
ProfilesDirOption = Annotated[
    Path | None,
    typer.Option(
        "--profiles-dir",
        help="folder holding profiles.yml (default: DBT_PROFILES_DIR, else the working directory, else the "
        "project folder, else ~/.dbt)",
    ),
]
TargetOption = Annotated[
    str | None,
    typer.Option("--target", "-t", help="dbt target (default: DBT_TARGET, else the profile's default)"),
]
KeepBackupsOption = Annotated[
    int,
    typer.Option(
        "--keep-backups",
        envvar="QUALITY_KEEP_BACKUPS",
        min=0,
        help="publish backups (quality_backup_<run> schemas) to keep; older ones are dropped (default 3)",
    ),
]
DEFAULT_PROJECT_DIR = Path("dbt")


def project_and_target(project_dir: Path, profiles_dir: Path | None, target: str | None) -> tuple[DbtProject, Target]:
    """The project and its rendered target; the `local_databricks` target starts its local endpoint first."""
    from quality.emulator.activation import activate_for

    project = load_project(find_project_dir(project_dir), profiles_dir)
    activate_for(target or default_target_name(project))
    return project, resolve_target(project, target)


def find_project_dir(project_dir: Path) -> Path:
    """The given folder; for the default `dbt` that does not exist, the current folder when it holds
    dbt_project.yml (the layout `dbt init` makes), so commands run from a project root need no option."""
    if project_dir != DEFAULT_PROJECT_DIR or (project_dir / "dbt_project.yml").is_file():
        return project_dir
    return Path(".") if Path("dbt_project.yml").is_file() else project_dir


def terminate_as_interrupt() -> None:
    """SIGTERM behaves like Ctrl-C, so `finally` blocks drop ephemeral schemas before the process ends
    (and the CLI exits 130 whatever a library turned the interrupt into; see `quality.interrupts`)."""
    from quality import interrupts

    interrupts.install()
