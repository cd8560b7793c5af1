"""Ephemeral schema names: make them, recognise them, guard prod from them, drop and reap them.

A base name is `<prefix>_<yyyymmdd>t<hhmmss>_<6 hex run id>[_<xdist worker>]`, e.g.
`ci_20261125t131000_ab12cd_gw0`. dbt's `generate_schema_name` puts every node of an ephemeral run in
`<base>_<custom schema>`, so everything a run made starts with `<base>_`, and the timestamp in the name
lets `quality reap` drop leftovers older than a TTL without any side table.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from quality.engines.base import Engine
from quality.errors import SchemaGuardError

_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,23}$")
_BASE = re.compile(
    r"^(?P<prefix>[a-z][a-z0-9]{0,23})_(?P<stamp>\d{8}t\d{6})_(?P<run_id>[0-9a-f]{6})(?:_(?P<worker>gw\d+))?$"
)
_STAMP_FORMAT = "%Y%m%dt%H%M%S"
# Schema names no ephemeral run may ever use, whatever the target says.
ALWAYS_PROD = frozenset(
    {
        "prod",
        "production",
        "analytics",
        "marts",
        "staging",
        "snapshots",
        "raw",
        "main",
        "default",
        "intermediate",
        "seeds",
    }
)


@dataclass(frozen=True)
class EphemeralName:
    base: str
    prefix: str
    created_at: datetime
    run_id: str
    worker: str | None


def new_run_id() -> str:
    return secrets.token_hex(3)


def new_base(prefix: str, *, run_id: str | None = None, worker: str | None = None, now: datetime | None = None) -> str:
    """A fresh base name; `worker` is an xdist worker id such as `gw0` (None or `master` for no worker)."""
    check_prefix(prefix)
    stamp = (now or datetime.now(UTC)).strftime(_STAMP_FORMAT)
    base = f"{prefix}_{stamp}_{run_id or new_run_id()}"
    return f"{base}_{worker}" if worker and worker != "master" else base


def check_prefix(prefix: str) -> None:
    if not _PREFIX.match(prefix):
        raise SchemaGuardError(
            f"schema prefix '{prefix}' is not allowed: use 1-24 lowercase letters or digits starting with a letter "
            "(for example ci, pr123, devjane)."
        )
    if prefix in ALWAYS_PROD:
        raise SchemaGuardError(f"schema prefix '{prefix}' is a production schema name; choose e.g. ci or dev<you>.")


def parse_base(schema: str) -> EphemeralName | None:
    """The ephemeral base a schema belongs to (`<base>` or `<base>_<suffix>`), or None if it is not ephemeral."""
    parts = schema.split("_")
    for end in (4, 3):  # with and without a worker part
        match = _BASE.match("_".join(parts[:end]))
        if match:
            created = datetime.strptime(match["stamp"], _STAMP_FORMAT).replace(tzinfo=UTC)
            return EphemeralName(match.group(0), match["prefix"], created, match["run_id"], match["worker"])
    return None


def assert_ephemeral(base: str, prod_schemas: Iterable[str] = ()) -> EphemeralName:
    """Refuse any base that is not an ephemeral name or that equals a production schema."""
    forbidden = ALWAYS_PROD | {name.lower() for name in prod_schemas}
    if base.lower() in forbidden:
        raise SchemaGuardError(
            f"schema '{base}' is a production schema and cannot be used as an ephemeral schema; "
            "let the harness make one (omit the name) or pass a name of the form "
            "<prefix>_<yyyymmdd>t<hhmmss>_<6 hex>."
        )
    parsed = parse_base(base)
    if parsed is None or parsed.base != base:
        raise SchemaGuardError(
            f"schema '{base}' is not an ephemeral schema name (<prefix>_<yyyymmdd>t<hhmmss>_<6 hex>[_gwN]); "
            "the harness only builds into, and drops, schemas it can recognise as its own."
        )
    return parsed


def schemas_of(engine: Engine, base: str) -> list[str]:
    """Every schema that belongs to the base in the engine."""
    return [name for name in engine.list_schemas() if name == base or name.startswith(f"{base}_")]


def drop_ephemeral(engine: Engine, base: str) -> list[str]:
    """Drop, CASCADE, every schema of an ephemeral base; returns what was dropped."""
    assert_ephemeral(base)
    dropped = schemas_of(engine, base)
    for schema in dropped:
        engine.drop_schema(schema)
    return dropped


def stale_schemas(schemas: Iterable[str], *, older_than: timedelta, now: datetime | None = None) -> list[str]:
    """The ephemeral schemas whose timestamp is older than the TTL (non-ephemeral names are never listed)."""
    cutoff = (now or datetime.now(UTC)) - older_than
    stale = []
    for schema in schemas:
        parsed = parse_base(schema)
        if parsed is not None and parsed.created_at < cutoff:
            stale.append(schema)
    return stale


def reap(engine: Engine, *, older_than: timedelta, now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Drop ephemeral schemas older than the TTL; returns their names."""
    stale = stale_schemas(engine.list_schemas(), older_than=older_than, now=now)
    if not dry_run:
        for schema in stale:
            engine.drop_schema(schema)
    return stale


# Backups of prod tables kept by each publish (DuckDB), named after the gate run: quality_backup_<run id>.
BACKUP_PREFIX = "quality_backup_"
DEFAULT_KEEP_BACKUPS = 3
_BACKUP = re.compile(rf"^{BACKUP_PREFIX}\d{{8}}t\d{{6}}_[0-9a-f]{{6}}$")


def backup_schema(run_id: str) -> str:
    """The backup schema of a gate run (`run_id` is `<yyyymmdd>t<hhmmss>_<6 hex>`)."""
    return f"{BACKUP_PREFIX}{run_id}"


def backup_schemas(engine: Engine) -> list[str]:
    """The publish backups in the engine, oldest first (the run id starts with its UTC timestamp)."""
    return sorted(name for name in engine.list_schemas() if _BACKUP.match(name))


def prune_backups(engine: Engine, keep: int, *, protect: Iterable[str] = (), dry_run: bool = False) -> list[str]:
    """Drop the oldest backups beyond the newest `keep`, never one in `protect`; returns what was dropped."""
    if keep < 0:
        raise SchemaGuardError(f"keep {keep} backups? Give a number >= 0 (the default keeps {DEFAULT_KEEP_BACKUPS}).")
    kept = set(protect)
    existing = backup_schemas(engine)
    stale = [name for name in existing[: max(0, len(existing) - keep)] if name not in kept]
    if not dry_run:
        for schema in stale:
            engine.drop_schema(schema)
    return stale
