"""`quality doctor`: is this machine ready? dbt debug plus env vars, versions and connectivity, each with its fix."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from quality.commands.common import DEFAULT_PROJECT_DIR, ProfilesDirOption, ProjectDirOption, TargetOption, console
from quality.doctor import run_checks

STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}


def doctor(
    project_dir: ProjectDirOption = DEFAULT_PROJECT_DIR,
    profiles_dir: ProfilesDirOption = None,
    target: TargetOption = None,
    dbt_debug: Annotated[bool, typer.Option(help="also run `dbt debug`")] = True,
) -> int:
    """Check Python, pinned versions, the dbt project and target (env vars), connectivity and dbt debug."""
    checks = run_checks(project_dir, profiles_dir, target, debug=dbt_debug)
    table = Table(title="quality doctor", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail / fix", overflow="fold")
    for check in checks:
        table.add_row(check.name, f"[{STYLE[check.status]}]{check.status}[/]", check.detail)
    console.print(table)
    return 1 if any(check.status == "fail" for check in checks) else 0


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
