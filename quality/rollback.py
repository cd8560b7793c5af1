"""Undo a deployment: restore the tables a gate published to their state before it, or drop partitions
of an incremental model. The revert-and-redeploy path (for code) is in README."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quality.artifacts import DEFAULT_ROOT, RunArtifacts, list_runs, read_json
from quality.engines.base import Engine
from quality.engines.publish import PublishStep, restore
from quality.errors import QualityError


def last_published_run(target: str, root: Path = DEFAULT_ROOT) -> Path:
    """The newest run folder that published to the target and was not rolled back yet."""
    for run in reversed(list_runs(root)):
        record = run / "publish.json"
        if record.is_file() and not (run / "rollback.json").is_file() and read_json(record).get("target") == target:
            return run
    raise QualityError(
        f"no published run for target '{target}' under {root} that is not rolled back already; "
        "pass --run-id to name one, or check --artifacts-dir."
    )


def rollback_run(engine: Engine, run_dir: Path) -> list[str]:
    """Restore what the run in run_dir published; records rollback.json so it is not undone twice."""
    artifacts = RunArtifacts(run_dir)
    if (run_dir / "rollback.json").is_file():
        raise QualityError(f"run {run_dir.name} was already rolled back ({run_dir / 'rollback.json'}).")
    if not artifacts.publish_path.is_file():
        raise QualityError(f"run {run_dir.name} published nothing (no {artifacts.publish_path}); nothing to roll back.")
    steps = [PublishStep(**step) for step in read_json(artifacts.publish_path)["steps"]]
    restored = restore(engine, steps)
    artifacts.write_json(run_dir / "rollback.json", {"restored": restored, "at": datetime.now(UTC).isoformat()})
    return restored


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
