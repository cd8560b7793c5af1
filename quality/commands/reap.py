"""`quality reap`: drop ephemeral schemas (and per-run DuckDB files) older than a TTL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from quality.commands.common import (
    KeepBackupsOption,
    ProjectOptions,
    console,
    project_command,
)
from quality.dbt.schemas import DEFAULT_KEEP_BACKUPS, prune_backups, stale_schemas
from quality.dbt.schemas import reap as reap_schemas
from quality.engines.factory import open_engine
from quality.engines.kind import EngineKind
from quality.engines.kinds import engine_kind
from quality.errors import QualityError

_DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise QualityError(f"'{text}' is not a duration; write a number and a unit, e.g. 30m, 6h or 2d.")
    return timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})


@project_command
def reap(
    project_options: ProjectOptions,
    older_than: Annotated[str, typer.Option(help="drop ephemeral schemas older than this (e.g. 6h)")] = "6h",
    dry_run: Annotated[bool, typer.Option(help="list what would be dropped, drop nothing")] = False,
    keep_backups: KeepBackupsOption = DEFAULT_KEEP_BACKUPS,
) -> int:
    """Drop leftovers of killed runs (ephemeral schemas and per-run DuckDB files older than --older-than) and
    publish backups beyond the newest --keep-backups."""
    ttl = parse_duration(older_than)
    _, resolved = project_options.resolve()
    engine = open_engine(resolved)
    try:
        schemas = reap_schemas(engine, older_than=ttl, dry_run=dry_run)
        backups = prune_backups(engine, keep_backups, dry_run=dry_run)
    finally:
        engine.close()
    files = reap_files(engine_kind(resolved), ttl, dry_run=dry_run)
    verb = "would drop" if dry_run else "dropped"
    console.print(f"{verb} {len(schemas)} schema(s) and {len(files)} DuckDB file(s) older than {older_than}")
    for name in [*schemas, *files]:
        console.print(f"  {name}")
    console.print(f"{verb} {len(backups)} backup schema(s) beyond the newest {keep_backups}")
    for name in backups:
        console.print(f"  {name}")
    return 0


def reap_files(kind: EngineKind, ttl: timedelta, *, dry_run: bool = False) -> list[str]:
    """Per-run database files of the engine kind (DuckDB's under .quality/ephemeral) whose base name carries a
    timestamp older than the TTL; none for an engine without files."""
    files = kind.ephemeral_files()
    stale = set(stale_schemas(set(files), older_than=ttl))
    removed = []
    for path in sorted(path for base in stale for path in files[base]):
        removed.append(str(path))
        if not dry_run:
            path.unlink(missing_ok=True)
    return removed


def register(app: typer.Typer) -> None:
    app.command("reap")(reap)
