"""Options and helpers shared by the commands: project, target, console."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer
from rich.console import Console

from quality.dbt.project import DbtProject, load_project
from quality.dbt.targets import Target, default_target_name, resolve_target

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


@dataclass(frozen=True)
class ProjectOptions:
    """The options that say which dbt project and target a command works on: --project-dir, --profiles-dir
    and --target (`project_command` offers them to typer)."""

    project_dir: Path = DEFAULT_PROJECT_DIR
    profiles_dir: Path | None = None
    target: str | None = None

    def resolve(self) -> tuple[DbtProject, Target]:
        """The project and its rendered target (see `project_and_target`)."""
        return project_and_target(self.project_dir, self.profiles_dir, self.target)

    def load_project(self) -> DbtProject:
        """The project alone, its target left unresolved."""
        return load_project(find_project_dir(self.project_dir), self.profiles_dir)


# The command-line side of ProjectOptions: one parameter each, in this order, with these defaults.
_PROJECT_PARAMETERS = (
    inspect.Parameter(
        "project_dir", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=DEFAULT_PROJECT_DIR, annotation=ProjectDirOption
    ),
    inspect.Parameter(
        "profiles_dir", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=ProfilesDirOption
    ),
    inspect.Parameter("target", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=TargetOption),
)


def project_command(command: Callable[..., int]) -> Callable[..., int]:
    """`command` with its `project_options: ProjectOptions` parameter offered, in its place, as the three options
    --project-dir, --profiles-dir and --target: typer (which reads the signature) and direct callers pass
    those, and the command gets them as one `ProjectOptions`."""
    hints = get_type_hints(command, include_extras=True)
    parameters: list[inspect.Parameter] = []
    for parameter in inspect.signature(command).parameters.values():
        if parameter.name == "project_options":
            parameters += [option.replace(kind=parameter.kind) for option in _PROJECT_PARAMETERS]
        else:
            parameters.append(parameter.replace(annotation=hints[parameter.name]))
    exposed = inspect.Signature(parameters, return_annotation=hints["return"])

    @functools.wraps(command)
    def with_project_options(*args: Any, **kwargs: Any) -> int:
        values = exposed.bind(*args, **kwargs)
        values.apply_defaults()
        given = dict(values.arguments)
        options = ProjectOptions(given.pop("project_dir"), given.pop("profiles_dir"), given.pop("target"))
        return command(**given, project_options=options)

    with_project_options.__signature__ = exposed  # type: ignore[attr-defined]
    with_project_options.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": hints["return"]}
    return with_project_options


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
