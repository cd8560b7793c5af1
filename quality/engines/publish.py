"""Publish audited relations to production: the engine-specific half of write-audit-publish.

A `PublishStep` says: relation `audit_schema.name` becomes `prod_schema.prod_name`. On DuckDB every step
runs in ONE transaction, so prod switches all at once or not at all, and the previous prod tables are
first copied into a backup schema that `quality rollback` restores from; the publish record (a row of
`quality.publish_log`, see run_log) is written in that same transaction. On Databricks (no multi-table
transactions) each table is replaced by a Delta DEEP CLONE of its audited copy after recording its
current version, which `quality rollback` restores with RESTORE TABLE ... TO VERSION AS OF; if a statement
fails part-way, the publish undoes itself the same way, so prod is never left half published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from quality import interrupts
from quality.engines import run_log
from quality.engines.base import Engine
from quality.errors import PublishError, QualityError


@dataclass(frozen=True)
class PublishStep:
    unique_id: str
    kind: str  # "table" | "view"
    audit_schema: str
    name: str
    prod_schema: str
    prod_name: str
    backup_schema: str | None = None
    prod_version: int | None = None  # Delta version before publish (Databricks)
    backed_up: bool = False  # the previous prod table was copied to backup_schema (DuckDB)
    rows: int | None = None  # rows published (tables), for prod_smoke's bounds
    published_version: int | None = None  # Delta version the publish left (Databricks), checked by rollback
    fingerprint: str | None = None  # hash of the published rows (DuckDB), checked by rollback

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rewrite_schemas(sql: str, schema_map: Mapping[str, str]) -> str:
    """Point SQL written for the audit schemas at the prod schemas (longest names first)."""
    for audit in sorted(schema_map, key=len, reverse=True):
        sql = re.sub(rf"\b{re.escape(audit)}\b", schema_map[audit], sql)
    return sql


def publish(
    engine: Engine,
    steps: list[PublishStep],
    schema_map: Mapping[str, str],
    *,
    record: tuple[str, str] | None = None,
) -> list[PublishStep]:
    """Publish the steps; `record` (run id, target) also writes the run's publish record where the engine
    keeps one (DuckDB: in the publish's own transaction)."""
    if engine.name == "duckdb":
        return _publish_duckdb(engine, steps, schema_map, record)
    if engine.name == "databricks":
        return _publish_databricks(engine, steps, schema_map)
    raise QualityError(f"publishing to engine {engine.name} is not supported")


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _publish_duckdb(
    engine: Any, steps: list[PublishStep], schema_map: Mapping[str, str], record: tuple[str, str] | None
) -> list[PublishStep]:
    tables = [step for step in steps if step.kind == "table"]
    views = [step for step in steps if step.kind == "view"]
    published: list[PublishStep] = []
    with engine.transaction():
        for schema in sorted({step.prod_schema for step in steps}):
            engine.create_schema(schema)
        for step in tables:
            backed_up = False
            if step.backup_schema and dict(engine.list_relations(step.prod_schema)).get(step.prod_name) == "table":
                engine.create_schema(step.backup_schema)
                _copy_duckdb(engine, (step.prod_schema, step.prod_name), (step.backup_schema, step.prod_name), {})
                backed_up = True
            _drop_duckdb(engine, step.prod_schema, step.prod_name)
            _copy_duckdb(engine, (step.audit_schema, step.name), (step.prod_schema, step.prod_name), schema_map)
            rows, fingerprint = _duckdb_state(engine, step.prod_schema, step.prod_name)
            published.append(replace(step, backed_up=backed_up, rows=rows, fingerprint=fingerprint))
        for step in views:
            target = f"{_q(step.prod_schema)}.{_q(step.prod_name)}"
            body = _view_body(engine.table_sql(step.audit_schema, step.name))
            _drop_duckdb(engine, step.prod_schema, step.prod_name)
            engine.execute(f"create view {target} as {rewrite_schemas(body, schema_map)}")
            published.append(step)
        if record is not None:
            run_log.record_publish(engine, *record, [step.as_dict() for step in published])
        interrupts.crash_point("publish_before_commit")
    return published


def _duckdb_state(engine: Any, schema: str, name: str) -> tuple[int, str]:
    """Row count and an order-independent hash of a table's rows (DuckDB's `hash`, stable for one version)."""
    (rows, fingerprint), *_ = engine.query(
        "select count(*), cast(coalesce(sum(cast(hash(quality_row__) as hugeint)), 0) as varchar) "
        f"from {_q(schema)}.{_q(name)} quality_row__"
    )
    return int(rows), str(fingerprint)


def _drop_duckdb(engine: Any, schema: str, name: str) -> None:
    kind = dict(engine.list_relations(schema)).get(name)
    if kind is not None:
        engine.execute(f"drop {kind} {_q(schema)}.{_q(name)}")


def _copy_duckdb(engine: Any, source: tuple[str, str], target: tuple[str, str], schema_map: Mapping[str, str]) -> None:
    """Copy a table with its constraints (DuckDB keeps them in the CREATE statement)."""
    ddl = engine.table_sql(*source).rstrip().rstrip(";")
    columns = rewrite_schemas(ddl[ddl.index("(") :], schema_map)
    engine.execute(f"create table {_q(target[0])}.{_q(target[1])}{columns}")
    engine.execute(f"insert into {_q(target[0])}.{_q(target[1])} select * from {_q(source[0])}.{_q(source[1])}")


def copy_table(engine: Engine, source: tuple[str, str], target: tuple[str, str]) -> None:
    """Copy one table into another schema (prod state into an audit schema, or a backup back into prod).

    DuckDB copies data and constraints; Databricks makes a Delta SHALLOW CLONE (no data copied).
    """
    engine.create_schema(target[0])
    if engine.name == "duckdb":
        _copy_duckdb(engine, source, target, {})
        return
    catalog = engine.database
    engine.execute(
        f"create or replace table `{catalog}`.`{target[0]}`.`{target[1]}` "
        f"shallow clone `{catalog}`.`{source[0]}`.`{source[1]}`"
    )


def _view_body(create_view_sql: str) -> str:
    match = re.match(r"(?is)^\s*create\s+(?:or\s+replace\s+)?view\s+.+?\s+as\s+(.*)$", create_view_sql.strip())
    if match is None:
        raise QualityError(f"cannot read the view definition: {create_view_sql[:120]}")
    return match.group(1).rstrip().rstrip(";")


def _publish_databricks(engine: Any, steps: list[PublishStep], schema_map: Mapping[str, str]) -> list[PublishStep]:
    """One statement per relation (Delta has no multi-table transaction), undone as a whole if one fails.

    Every table's version is read before the first change; a view's previous definition just before it is
    replaced. Each table's row count is recorded after its clone (prod_smoke compares prod against it). If any statement fails, what was already replaced goes back (RESTORE TABLE ... TO VERSION
    AS OF, the previous view definitions) and a `PublishError` says so, so prod never stays half published.
    """
    catalog = engine.database
    table_schemas = sorted({step.prod_schema for step in steps if step.kind == "table"})
    versions = {schema: engine.table_versions(schema) for schema in table_schemas}
    published: list[PublishStep] = []
    previous_views: dict[tuple[str, str], str | None] = {}
    for step in steps:
        try:
            engine.create_schema(step.prod_schema)
            target = f"`{catalog}`.`{step.prod_schema}`.`{step.prod_name}`"
            if step.kind == "table":
                step = replace(step, prod_version=versions[step.prod_schema].get(step.prod_name))
                engine.execute(
                    f"create or replace table {target} deep clone `{catalog}`.`{step.audit_schema}`.`{step.name}`"
                )
                step = replace(step, rows=int(engine.query(f"select count(*) from {target}")[0][0]))
            else:
                exists = engine.relation_exists(step.prod_schema, step.prod_name)
                previous = _show_view_body(engine, step.prod_schema, step.prod_name) if exists else None
                body = _show_view_body(engine, step.audit_schema, step.name)
                engine.execute(f"create or replace view {target} as {rewrite_schemas(body, schema_map)}")
                previous_views[(step.prod_schema, step.prod_name)] = previous  # replaced: undo puts it back
        except Exception as error:
            failed = f"{step.prod_schema}.{step.prod_name}"
            raise _undo_partial_publish(engine, published, previous_views, failed, error) from error
        published.append(step)
    return _with_published_versions(engine, published, table_schemas)


def _with_published_versions(engine: Any, published: list[PublishStep], schemas: list[str]) -> list[PublishStep]:
    """Record the Delta version each table is at after publish; rollback checks prod is still there.

    Prod is published by now: if reading the versions fails, the record just lacks them (rollback then
    checks row counts only).
    """
    try:
        after = {schema: engine.table_versions(schema) for schema in schemas}
    except Exception:
        return published
    return [
        replace(step, published_version=after[step.prod_schema].get(step.prod_name)) if step.kind == "table" else step
        for step in published
    ]


def _show_view_body(engine: Any, schema: str, name: str) -> str:
    """The body (after AS) of a view, from SHOW CREATE TABLE."""
    rows = engine.query(f"show create table `{engine.database}`.`{schema}`.`{name}`")
    return _view_body(str(rows[0][0]))


def _undo_partial_publish(
    engine: Any,
    published: list[PublishStep],
    previous_views: Mapping[tuple[str, str], str | None],
    failed: str,
    error: BaseException,
) -> PublishError:
    reason = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    tables = [step for step in published if step.kind == "table"]
    problems: list[str] = []
    for step in tables:
        try:
            _restore_databricks(engine, [step])
        except Exception as undo_error:  # keep undoing the others, then say exactly what is left
            version = "drop it (it is new)" if step.prod_version is None else f"VERSION AS OF {step.prod_version}"
            problems.append(f"{step.prod_schema}.{step.prod_name} ({version}): {undo_error}")
    for (schema, name), body in previous_views.items():
        target = f"`{engine.database}`.`{schema}`.`{name}`"
        try:
            if body is None:
                engine.execute(f"drop view if exists {target}")
            else:
                engine.execute(f"create or replace view {target} as {body}")
        except Exception as undo_error:
            problems.append(f"view {schema}.{name}: {undo_error}")
    done = (
        f"{len(tables)} table(s) restored to their versions before this run and {len(previous_views)} view(s) put back"
    )
    if problems:
        return PublishError(
            f"Publishing to catalog {engine.database} failed at {failed}: {reason}. Undoing it failed for "
            f"{'; '.join(problems)}. Restore those by hand (RESTORE TABLE ... TO VERSION AS OF the version "
            "named) before the next deploy; the other relations were put back."
        )
    return PublishError(
        f"Publishing to catalog {engine.database} failed at {failed}: {reason}. Nothing stays published: "
        f"{done}. Fix the cause (permissions, warehouse, quota) and run the gate again."
    )


def order_views(steps: Iterable[PublishStep], depends_on: Mapping[str, list[str]]) -> list[PublishStep]:
    """Tables first, then views so that every view comes after the views it reads."""
    steps = list(steps)
    by_id = {step.unique_id: step for step in steps}
    ordered: list[PublishStep] = [step for step in steps if step.kind == "table"]
    seen: set[str] = set()

    def visit(unique_id: str) -> None:
        if unique_id in seen or unique_id not in by_id:
            return
        seen.add(unique_id)
        for parent in depends_on.get(unique_id, []):
            visit(parent)
        if by_id[unique_id].kind == "view":
            ordered.append(by_id[unique_id])

    for step in steps:
        visit(step.unique_id)
    return ordered


def restore(engine: Engine, steps: list[PublishStep], *, run_id: str | None = None) -> list[str]:
    """Undo a publish: every table it replaced goes back to its state before; returns what was restored.

    DuckDB: in one transaction, from the backup schema the publish kept (a table that did not exist before
    is dropped). Databricks: Delta `RESTORE TABLE ... TO VERSION AS OF` the version recorded before publish.
    Views are code, not data: they are left as published (revert the commit and redeploy to change them).
    With `run_id`, the run's row in the warehouse's publish record is marked rolled back in the restore's
    transaction (DuckDB).
    """
    tables = [step for step in steps if step.kind == "table"]
    if engine.name == "databricks":
        return _restore_databricks(engine, tables)
    missing = sorted({s.backup_schema for s in tables if s.backed_up and s.backup_schema} - set(engine.list_schemas()))
    if missing:
        raise QualityError(
            f"cannot roll back: the backup schema {', '.join(missing)} of this run is gone (the backup retention "
            "keeps the newest --keep-backups / QUALITY_KEEP_BACKUPS, default 3); nothing was changed. Roll back "
            "a newer run, or rebuild with `quality gate` from the data you want."
        )
    restored = []
    with engine.transaction():
        for step in tables:
            _drop_duckdb(engine, step.prod_schema, step.prod_name)
            if step.backed_up and step.backup_schema:
                _copy_duckdb(engine, (step.backup_schema, step.prod_name), (step.prod_schema, step.prod_name), {})
            restored.append(f"{step.prod_schema}.{step.prod_name}")
        if run_id is not None:
            run_log.mark_rolled_back(engine, run_id)
        interrupts.crash_point("rollback_before_commit")
    return restored


def prod_differences(engine: Engine, steps: list[PublishStep]) -> list[str]:
    """How prod's tables differ from what the publish record says was published; [] when they match.

    Checked per table: it exists, its row count, and on DuckDB the hash of its rows, on Databricks its
    Delta version (a record written before these were kept is checked on what it has).
    """
    versions: dict[str, dict[str, int]] = {}
    differences: list[str] = []
    for step in (step for step in steps if step.kind == "table"):
        if not engine.relation_exists(step.prod_schema, step.prod_name):
            differences.append(f"{step.prod_schema}.{step.prod_name} is missing from prod")
        elif engine.name == "duckdb":
            differences += _duckdb_differences(engine, step)
        else:
            if step.prod_schema not in versions:
                versions[step.prod_schema] = cast(Any, engine).table_versions(step.prod_schema)
            differences += _databricks_differences(engine, step, versions[step.prod_schema])
    return differences


def _duckdb_differences(engine: Engine, step: PublishStep) -> list[str]:
    name = f"{step.prod_schema}.{step.prod_name}"
    rows, fingerprint = _duckdb_state(engine, step.prod_schema, step.prod_name)
    if step.rows is not None and rows != step.rows:
        return [f"{name} has {rows} rows, the record says {step.rows} were published"]
    if step.fingerprint is not None and fingerprint != step.fingerprint:
        return [
            f"{name} has the recorded {rows} rows but other content "
            f"(DuckDB fingerprint {fingerprint}, recorded {step.fingerprint})"
        ]
    return []


def _databricks_differences(engine: Engine, step: PublishStep, versions: Mapping[str, int]) -> list[str]:
    name = f"{step.prod_schema}.{step.prod_name}"
    differences = []
    version = versions.get(step.prod_name)
    if step.published_version is not None and version != step.published_version:
        differences.append(
            f"{name} is at Delta version {version}, the record says publish left it at {step.published_version}"
        )
    rows = int(engine.query(f"select count(*) from {engine.relation_ref(step.prod_schema, step.prod_name)}")[0][0])
    if step.rows is not None and rows != step.rows:
        differences.append(f"{name} has {rows} rows, the record says {step.rows} were published")
    return differences


def _restore_databricks(engine: Any, tables: list[PublishStep]) -> list[str]:
    restored = []
    for step in tables:
        if step.prod_version is None:
            engine.execute(f"drop table if exists `{engine.database}`.`{step.prod_schema}`.`{step.prod_name}`")
        else:
            engine.delta_restore(step.prod_schema, step.prod_name, step.prod_version)
        restored.append(f"{step.prod_schema}.{step.prod_name}")
    return restored
