"""The publish record kept in the warehouse itself: table `quality.publish_log` on DuckDB.

A publish inserts its row in the same transaction as the tables it replaces, and a rollback marks the row
in the same transaction as the restore, so prod and its record never disagree: a crash leaves both old or
both new. `publish.json` in the run folder is a copy, written after the commit; it is only the record for
runs published before this table existed, and on engines without multi-table transactions (Databricks).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from quality.engines.base import Engine

LOG_SCHEMA = "quality"
LOG_TABLE = "publish_log"
_REF = f'"{LOG_SCHEMA}"."{LOG_TABLE}"'
_COLUMNS = "run_id, target, published_at, steps, status, rolled_back_at"


def kept_in(engine: Engine) -> bool:
    """The engine keeps the publish record (only DuckDB: one transaction covers the publish and its row)."""
    return engine.name == "duckdb"


def record_publish(engine: Engine, run_id: str, target: str, steps: list[dict[str, Any]]) -> None:
    """Insert the run's row; call inside the publish's transaction."""
    engine.create_schema(LOG_SCHEMA)
    engine.execute(
        f"create table if not exists {_REF} (run_id varchar primary key, target varchar not null, "
        "published_at timestamptz not null, steps varchar not null, status varchar not null, "
        "rolled_back_at timestamptz)"
    )
    engine.execute(
        f"insert into {_REF} ({_COLUMNS}) values (?, ?, ?, ?, 'published', null)",
        [run_id, target, datetime.now(UTC), json.dumps(steps, default=str)],
    )


def mark_rolled_back(engine: Engine, run_id: str) -> None:
    """Mark the run's row rolled back; call inside the restore's transaction (no row: nothing to mark)."""
    if _exists(engine):
        engine.execute(
            f"update {_REF} set status = 'rolled_back', rolled_back_at = ? where run_id = ?",
            [datetime.now(UTC), run_id],
        )


def read(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """The run's record, or None when the warehouse has none (an older run, or another engine)."""
    rows = _select(engine, "where run_id = ?", [run_id])
    return rows[0] if rows else None


def records(engine: Engine, target: str) -> list[dict[str, Any]]:
    """Every record of the target, oldest first (run ids start with their UTC timestamp)."""
    return _select(engine, "where target = ? order by run_id", [target])


def _exists(engine: Engine) -> bool:
    return kept_in(engine) and LOG_SCHEMA in engine.list_schemas() and engine.relation_exists(LOG_SCHEMA, LOG_TABLE)


def _select(engine: Engine, where: str, params: list[Any]) -> list[dict[str, Any]]:
    if not _exists(engine):
        return []
    rows = engine.query(f"select {_COLUMNS} from {_REF} {where}", params)
    return [_as_record(row) for row in rows]


def _as_record(row: tuple[Any, ...]) -> dict[str, Any]:
    run_id, target, published_at, steps, status, rolled_back_at = row
    return {
        "run_id": run_id,
        "target": target,
        "published_at": _iso(published_at),
        "steps": json.loads(steps),
        "status": status,
        "rolled_back_at": _iso(rolled_back_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
