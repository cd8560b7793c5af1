"""Undo a deployment: restore the tables a gate published to their state before it, or drop partitions
of an incremental model. The revert-and-redeploy path (for code) is in README."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quality.engines import run_log
from quality.engines.base import Engine
from quality.engines.publish import PublishStep, prod_differences, restore
from quality.errors import QualityError
from quality.observability.artifacts import DEFAULT_ROOT, RunArtifacts, list_runs, read_json

ROLLBACK_RECORD = "rollback.json"


def last_published_run(target: str, root: Path = DEFAULT_ROOT, engine: Engine | None = None) -> Path:
    """The run of the newest publish record for the target: exactly that run, never an older one.

    The records are the warehouse's (`quality.publish_log`, written with the publish) and, for runs from
    before it or on engines without one, the run folders' publish.json. If that run was rolled back already,
    refuses rather than stepping further back: an older run is only undone when named with --run-id. A run
    newer than the record that reports a publish but has no record also refuses (its publish could not be
    undone from a record).
    """
    published = publish_records(target, root, engine)
    if not published:
        raise QualityError(
            f"no publish record for target '{target}' under {root}; pass --run-id to name a run, or check --artifacts-dir."
        )
    newest = published[-1]
    unrecorded = [
        run.name
        for run in list_runs(root)
        if run.name > newest["run_id"]
        and run.name not in {r["run_id"] for r in published}
        and _reports_publish(run, target)
    ]
    if unrecorded:
        raise QualityError(
            f"run(s) {', '.join(unrecorded)} newer than the last publish record ({newest['run_id']}) report a publish "
            f"but have no publish record: rollback cannot tell what they changed. Nothing "
            "was changed; check prod, then pass --run-id to name the run to undo."
        )
    run_dir = root / str(newest["run_id"])
    if rolled_back_at(newest, run_dir) is not None:
        raise QualityError(_already_rolled_back(run_dir, newest, [str(r["run_id"]) for r in published[:-1]]))
    return run_dir


def publish_records(target: str, root: Path, engine: Engine | None) -> list[dict[str, Any]]:
    """Every publish record of the target, oldest first: the warehouse's, then publish.json for the runs it lacks."""
    kept = run_log.records(engine, target) if engine is not None else []
    known = {record["run_id"] for record in kept}
    files = [read_json(run / "publish.json") for run in list_runs(root) if run.name not in known and _has_file(run)]
    legacy = [record for record in files if record.get("target") == target]
    return sorted([*kept, *legacy], key=lambda record: str(record["run_id"]))


def _has_file(run: Path) -> bool:
    return (run / "publish.json").is_file()


def load_record(engine: Engine, run_dir: Path) -> dict[str, Any] | None:
    """The run's publish record: the warehouse's if it has one, else the run folder's publish.json."""
    kept = run_log.read(engine, run_dir.name)
    if kept is not None:
        return kept
    path = RunArtifacts(run_dir).publish_path
    return read_json(path) if path.is_file() else None


def rolled_back_at(record: dict[str, Any], run_dir: Path) -> str | None:
    if record.get("status") == "rolled_back":
        return str(record.get("rolled_back_at") or "?")
    if (run_dir / ROLLBACK_RECORD).is_file():
        return str(read_json(run_dir / ROLLBACK_RECORD).get("at", "?"))
    return None


def _reports_publish(run: Path, target: str) -> bool:
    """The run's report says it published to the target (its publish record is not what says so)."""
    report = run / "report.json"
    if (run / "publish.json").is_file() or not report.is_file():
        return False
    payload = read_json(report)
    return payload.get("target") == target and (payload.get("status") == "published" or bool(payload.get("published")))


def _already_rolled_back(run: Path, record: dict[str, Any], older: list[str]) -> str:
    when = rolled_back_at(record, run)
    example = f" (the next older publish is {older[-1]})" if older else " (there is no older publish record)"
    return (
        f"the last publish, run {run.name}, was already rolled back at {when}; "
        "a plain `quality rollback` never steps further back. To go further, pass --run-id <older run>"
        f"{example}. Nothing was changed."
    )


def rollback_run(engine: Engine, run_dir: Path, *, target: str | None = None, force: bool = False) -> list[str]:
    """Restore what the run in run_dir published, if prod still holds what its record says it published.

    Marks the run's row in the warehouse's publish record rolled back (DuckDB: in the restore's
    transaction; Databricks: `rolling_back` before the first RESTORE, `rolled_back` after the last), then
    records rollback.json (atomically) in the run folder, so the run is not undone twice. `force` restores
    even when prod differs from the record (changes made to prod since are lost). A record left
    `publishing` or `rolling_back` by a crash is restored to its recorded versions without that check.
    """
    record = load_record(engine, run_dir)
    if record is None:
        if not run_dir.is_dir():
            raise QualityError(
                f"no run folder {run_dir} and no publish record of it; check --run-id and --artifacts-dir."
            )
        raise QualityError(f"run {run_dir.name} published nothing (no publish record); nothing to roll back.")
    if (when := rolled_back_at(record, run_dir)) is not None:
        raise QualityError(f"run {run_dir.name} was already rolled back at {when}; nothing was changed.")
    if target is not None and record.get("target") != target:
        raise QualityError(
            f"run {run_dir.name} published to target '{record.get('target')}', not '{target}'; nothing was changed."
        )
    steps = [PublishStep(**step) for step in record["steps"]]
    status = record.get("status")
    if status in run_log.UNFINISHED:
        # A publish (or rollback) that stopped part-way: prod may hold any mix of before and after, so
        # there is no "what it published" to compare; restore the versions recorded before it, exactly.
        differences: list[str] = []
    else:
        differences = prod_differences(engine, steps)
        if differences and not force:
            raise QualityError(_prod_differs(run_dir.name, differences))
    restored = restore(engine, steps, run_id=run_dir.name, unfinished_publish=status == run_log.PUBLISHING)
    payload = {
        "run_id": run_dir.name,
        "restored": restored,
        "at": datetime.now(UTC).isoformat(),
        "forced_over": differences,
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    RunArtifacts(run_dir).write_json(run_dir / ROLLBACK_RECORD, payload)
    return restored


def _prod_differs(run_id: str, differences: list[str]) -> str:
    lines = "\n".join(f"  - {difference}" for difference in differences)
    return (
        f"cannot roll back run {run_id}: prod does not match what its publish record says it published:\n{lines}\n"
        "Nothing was changed. Prod was changed after that publish (by hand, or by a run with no record); rolling "
        "back would throw those changes away. Find out what changed it; to restore the state before run "
        f"{run_id} anyway, pass --force."
    )


def drop_partitions(engine: Engine, schema: str, table: str, column: str, values: list[Any]) -> int:
    """Delete the rows of the given partition values in one transaction; returns rows deleted.

    An incremental run only re-reads recent source rows, so to rebuild them from the sources run the gate
    with `--full-refresh <model>` (the model is rebuilt whole in the audit schema and published).
    """
    if not values:
        raise QualityError("name at least one partition value to drop (--value).")
    columns = {
        name
        for (name,) in engine.query(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        )
    }
    if column not in columns:
        raise QualityError(
            f"{schema}.{table} has no column '{column}' (columns: {', '.join(sorted(columns)) or 'none: no such table'})."
        )
    placeholders = ", ".join("?" for _ in values)
    predicate = f"{column} in ({placeholders})"
    relation = engine.relation_ref(schema, table)
    with engine.transaction():
        count = engine.query(f"select count(*) from {relation} where {predicate}", values)[0][0]
        engine.execute(f"delete from {relation} where {predicate}", values)
    return int(count)
