"""The publish record kept in the warehouse itself: table `quality.publish_log` (DuckDB table; Delta table
in the catalog on Databricks), one row per published run.

DuckDB: a publish inserts its row in the same transaction as the tables it replaces, and a rollback marks
the row in the same transaction as the restore, so prod and its record never disagree: a crash leaves both
old or both new.

Databricks: a publish first inserts its row with status `publishing` and the state prod is in before it
(each table's Delta version, each view's definition), then changes prod, then sets the row `published`
with what it published. In the atomic mode (`BEGIN ATOMIC ... END`, see `quality.engines.publish`) that
last UPDATE is a statement of the same block as the table writes, so the tables and the `published` status
commit together; in the clone-with-undo mode it follows the last clone. Either way a crash leaves a row
that says truthfully where prod may be: `publishing` (the run may be half done: `quality rollback` restores
the recorded versions exactly, and the next gate refuses to publish until it has) or `published` (all
done). `publish.json` in the run folder is a copy, written after the record; it is the only record of runs
published before this table existed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from quality.engines.base import Engine

LOG_SCHEMA = "quality"
LOG_TABLE = "publish_log"
_COLUMNS = "run_id, target, published_at, steps, status, rolled_back_at"
PUBLISHING = "publishing"
PUBLISHED = "published"
ROLLED_BACK = "rolled_back"
ROLLING_BACK = "rolling_back"
UNFINISHED = frozenset({PUBLISHING, ROLLING_BACK})  # a publish or rollback stopped part-way (Databricks)
# The Delta table property that turns on catalog commits (what multi-statement transactions need):
# https://docs.databricks.com/aws/en/delta/catalog-managed-commits
CATALOG_MANAGED_PROPERTY = "'delta.feature.catalogManaged' = 'supported'"


def kept_in(engine: Engine) -> bool:
    """The engine keeps the publish record in the warehouse (DuckDB and Databricks)."""
    return engine.name in {"duckdb", "databricks"}


def ref(engine: Engine) -> str:
    return engine.relation_ref(LOG_SCHEMA, LOG_TABLE)


def ensure_table(engine: Engine, *, catalog_managed: bool = False) -> None:
    """Create `quality.publish_log` if it is missing (on Databricks: a Delta table, with catalog commits
    when the publish is to run in a multi-statement transaction, which every table it writes needs)."""
    engine.create_schema(LOG_SCHEMA)
    if engine.name == "duckdb":
        engine.execute(
            f"create table if not exists {ref(engine)} (run_id varchar primary key, target varchar not null, "
            "published_at timestamptz not null, steps varchar not null, status varchar not null, "
            "rolled_back_at timestamptz)"
        )
        return
    properties = f" TBLPROPERTIES ({CATALOG_MANAGED_PROPERTY})" if catalog_managed else ""
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {ref(engine)} (run_id STRING NOT NULL, target STRING NOT NULL, "
        "published_at TIMESTAMP NOT NULL, steps STRING NOT NULL, status STRING NOT NULL, "
        f"rolled_back_at TIMESTAMP) USING DELTA{properties}"
    )


def record_publish(
    engine: Engine, run_id: str, target: str, steps: list[dict[str, Any]], *, status: str = PUBLISHED
) -> None:
    """Insert the run's row (DuckDB: call inside the publish's transaction; Databricks: after
    `ensure_table`, which says whether the table gets catalog commits)."""
    if engine.name == "duckdb":
        ensure_table(engine)
        engine.execute(
            f"insert into {ref(engine)} ({_COLUMNS}) values (?, ?, ?, ?, ?, null)",
            [run_id, target, datetime.now(UTC), _json(steps), status],
        )
        return
    engine.execute(
        f"INSERT INTO {ref(engine)} ({_COLUMNS}) VALUES (?, ?, current_timestamp(), ?, ?, NULL)",
        [run_id, target, _json(steps), status],
    )


def mark_published(engine: Engine, run_id: str, steps: list[dict[str, Any]]) -> None:
    """Set the run's row `published` with the steps as published (after a clone-with-undo publish)."""
    engine.execute(
        f"UPDATE {ref(engine)} SET status = ?, steps = ? WHERE run_id = ?", [PUBLISHED, _json(steps), run_id]
    )


def published_statement(engine: Engine, run_id: str, steps: list[dict[str, Any]]) -> str:
    """The UPDATE that sets the run's row `published`, with its values inline: a statement of a
    `BEGIN ATOMIC ... END` block, which is one SQL text (no parameter markers inside)."""
    return (
        f"UPDATE {ref(engine)} SET status = {sql_string(PUBLISHED)}, steps = {sql_string(_json(steps))} "
        f"WHERE run_id = {sql_string(run_id)}"
    )


def update_steps(engine: Engine, run_id: str, steps: list[dict[str, Any]]) -> None:
    """Replace the steps of the run's row (e.g. with the Delta versions the publish left), status unchanged."""
    engine.execute(f"UPDATE {ref(engine)} SET steps = ? WHERE run_id = ?", [_json(steps), run_id])


def mark_rolling_back(engine: Engine, run_id: str) -> None:
    """Set the run's row `rolling_back` before a rollback's first RESTORE (Databricks: one statement per
    table, so a crash can stop it part-way; the next `quality rollback` finishes it)."""
    if _exists(engine):
        engine.execute(f"UPDATE {ref(engine)} SET status = ? WHERE run_id = ?", [ROLLING_BACK, run_id])


def mark_rolled_back(engine: Engine, run_id: str) -> None:
    """Mark the run's row rolled back (DuckDB: inside the restore's transaction); no row: nothing to mark."""
    if not _exists(engine):
        return
    if engine.name == "duckdb":
        engine.execute(
            f"update {ref(engine)} set status = 'rolled_back', rolled_back_at = ? where run_id = ?",
            [datetime.now(UTC), run_id],
        )
        return
    engine.execute(
        f"UPDATE {ref(engine)} SET status = ?, rolled_back_at = current_timestamp() WHERE run_id = ?",
        [ROLLED_BACK, run_id],
    )


def keep_run_value(engine: Engine, table: str, column: str, run_id: str, target: str, value: str) -> None:
    """Insert `(run_id, target, recorded_at, <column>)` into `quality.<table>`, a table of its own beside
    the publish record that keeps one text value per run (created if missing: a DuckDB table keyed by run id,
    a Delta table on Databricks); `recorded_at` is now. The schema exists already (`engine.create_schema`)."""
    ref = engine.relation_ref(LOG_SCHEMA, table)
    if engine.name == "duckdb":
        engine.execute(
            f"create table if not exists {ref} (run_id varchar primary key, target varchar not null, "
            f"recorded_at timestamptz not null, {column} varchar not null)"
        )
        engine.execute(f"insert into {ref} values (?, ?, ?, ?)", [run_id, target, datetime.now(UTC), value])
        return
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {ref} (run_id STRING NOT NULL, target STRING NOT NULL, "
        f"recorded_at TIMESTAMP NOT NULL, {column} STRING NOT NULL) USING DELTA"
    )
    engine.execute(f"INSERT INTO {ref} VALUES (?, ?, current_timestamp(), ?)", [run_id, target, value])


def read(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """The run's record, or None when the warehouse has none (an older run, or another engine)."""
    rows = _select(engine, "where run_id = ?", [run_id])
    return rows[0] if rows else None


def records(engine: Engine, target: str) -> list[dict[str, Any]]:
    """Every record of the target, oldest first (run ids start with their UTC timestamp)."""
    return _select(engine, "where target = ? order by run_id", [target])


def unfinished(engine: Engine, target: str) -> list[dict[str, Any]]:
    """Records of the target still `publishing` or `rolling_back`: a publish or rollback that stopped (a
    crash) part-way; `quality rollback` restores the versions they recorded."""
    return [record for record in records(engine, target) if record["status"] in UNFINISHED]


def unfinished_problem(engine: Engine, target: str) -> str | None:
    """What to tell the user when the target's record holds an unfinished publish or rollback, or None."""
    runs = unfinished(engine, target)
    if not runs:
        return None
    named = ", ".join(f"{record['run_id']} ({record['status']})" for record in runs)
    return (
        f"the publish record of target '{target}' has unfinished run(s): {named}. A publish or rollback stopped "
        "part-way there (a crash), so prod may be half changed. Nothing was published. Run `quality rollback` "
        "(it restores the versions the record holds, exactly), then the gate again."
    )


def sql_string(text: str) -> str:
    """A Databricks SQL string literal (backslash escapes are on by default there, so both `\\` and `'`
    are escaped with a backslash)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _json(steps: list[dict[str, Any]]) -> str:
    return json.dumps(steps, default=str)


def _exists(engine: Engine) -> bool:
    return kept_in(engine) and engine.relation_exists(LOG_SCHEMA, LOG_TABLE)


def _select(engine: Engine, where: str, params: list[Any]) -> list[dict[str, Any]]:
    if not _exists(engine):
        return []
    rows = engine.query(f"select {_COLUMNS} from {ref(engine)} {where}", params)
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


def _iso(moment: datetime | str | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:  # Databricks TIMESTAMP without a zone reads back naive: it is UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()
