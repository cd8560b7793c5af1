"""Options and helpers shared by the commands: project, target, console."""

from __future__ import annotations

import signal
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
    Path | None, typer.Option("--profiles-dir", help="folder holding profiles.yml (default: the project's)")
]
TargetOption = Annotated[
    str | None,
    typer.Option("--target", "-t", help="dbt target (default: DBT_TARGET, else the profile's default)"),
]
DEFAULT_PROJECT_DIR = Path("dbt")


def project_and_target(project_dir: Path, profiles_dir: Path | None, target: str | None) -> tuple[DbtProject, Target]:
    """The project and its rendered target; the `local_databricks` target starts its local endpoint first."""
    from quality.emulator.activation import activate_for

    project = load_project(project_dir, profiles_dir)
    activate_for(target or default_target_name(project))
    return project, resolve_target(project, target)


def terminate_as_interrupt() -> None:
    """SIGTERM behaves like Ctrl-C, so `finally` blocks drop ephemeral schemas before the process ends."""

    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
