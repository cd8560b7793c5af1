"""`quality doctor`: is this machine ready? dbt debug plus env vars, versions and connectivity, each with its fix."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from quality.commands.common import (
    ProjectOptions,
    console,
    project_command,
)
from quality.onboarding.doctor import run_checks

STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}


@project_command
def doctor(
    project_options: ProjectOptions,
    dbt_debug: Annotated[bool, typer.Option(help="also run `dbt debug`")] = True,
) -> int:
    """Check Python, pinned versions, the dbt project and target (env vars), connectivity and dbt debug."""
    options = project_options
    checks = run_checks(options.project_dir, options.profiles_dir, options.target, debug=dbt_debug)
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
