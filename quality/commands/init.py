"""`quality init`: add what the harness needs to an existing dbt project, showing every change first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from quality.commands.common import DEFAULT_PROJECT_DIR, ProjectDirOption, console, find_project_dir
from quality.onboarding.scaffold import (
    PARALLEL_NOTE,
    Change,
    Layout,
    apply,
    deps_note,
    plan,
    raw_fixtures_note,
    snapshot_schema_note,
    target_note,
    written_files,
)

LABELS = {
    "create": "create",
    "append": "append",
    "insert": "insert",
    "present": "skip: already present",
    "kept": "skip: yours, left alone",
    "manual": "skip: needs your edit",
}


def init(
    project_dir: ProjectDirOption = DEFAULT_PROJECT_DIR,
    dry_run: Annotated[bool, typer.Option(help="show what would change, write nothing")] = False,
) -> int:
    """Add the schema macro, a local DuckDB target, pytest settings, an example test and pre-commit hooks."""
    found = find_project_dir(project_dir)
    changes = plan(found, Path.cwd())
    print_plan(changes, dry_run=dry_run)
    note = deps_note(found)
    for line in (note, snapshot_schema_note(found)):
        if line:
            console.print(f"[yellow]note[/]: {escape(line)}", highlight=False, soft_wrap=True)
    if not dry_run:
        apply(changes)
    for line in (raw_fixtures_note(Layout(found.resolve(), Path.cwd().resolve())), target_note(found), PARALLEL_NOTE):
        if line:
            console.print(escape(line), highlight=False, soft_wrap=True)
    print_outcome(changes, dry_run=dry_run, deps=note is not None)
    return 1 if any(change.action == "manual" for change in changes) else 0


def print_plan(changes: list[Change], *, dry_run: bool) -> None:
    table = Table(title="quality init" + (" (dry run: nothing is written)" if dry_run else ""), title_justify="left")
    for column in ("action", "file", "what"):
        table.add_column(column)
    for change in changes:
        table.add_row(LABELS[change.action], escape(_shown(change.path)), escape(change.what))
    console.print(table)
    for change in changes:
        if change.action in {"kept", "manual"}:
            # soft_wrap: a note's YAML is printed unbroken, to copy as it is
            console.print(
                f"[yellow]{escape(_shown(change.path))}[/]: {escape(change.note)}", highlight=False, soft_wrap=True
            )


def print_outcome(changes: list[Change], *, dry_run: bool, deps: bool = False) -> None:
    """One closing line: the hand edits still needed, or what was (would be) written and what comes next."""
    if any(change.action == "manual" for change in changes):
        console.print("[red]some pieces need your edit (above)[/]: the harness refuses to build without them.")
        return
    count = written_files(changes)
    if not count:
        console.print("nothing to change: the project already has what the harness needs.")
    elif dry_run:
        console.print(f"would write {count} file(s); run `quality init` without --dry-run to write them.")
    else:
        first = "`uv run dbt deps` (see the note), " if deps else ""
        console.print(
            f"wrote {count} file(s). Next: {first}`uv run pytest`, then `uv run quality gate`; "
            "`uv run pre-commit install` sets up the hooks; "
            "`uv run quality pr --base HEAD` reviews the data a change alters."
        )


def _shown(path: Path) -> str:
    """Relative to the working directory, or from ~ (a profiles.yml in ~/.dbt), or absolute."""
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    if not shown.startswith(".."):
        return shown
    home = Path.home()
    return f"~{os.sep}{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
