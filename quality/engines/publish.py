"""Publish audited relations to production: the engine-specific half of write-audit-publish.

A `PublishStep` says: relation `audit_schema.name` becomes `prod_schema.prod_name`. Every publish writes
its record (a row of `quality.publish_log`, see run_log) in the warehouse so that prod and record never
disagree, whatever stops the process; docs/publish.md has the argument.

DuckDB: every step runs in ONE transaction with the record's row, and the previous prod tables are first
copied into a backup schema that `quality rollback` restores from.

Databricks, two modes, chosen per publish (`databricks_mode`, said in the record and the report):
- "atomic": every prod table the publish writes (and the record's table) is a Unity Catalog managed Delta
  table with catalog commits, on a SQL warehouse. The table writes and the UPDATE that marks the record
  `published` are one `BEGIN ATOMIC ... END` block of DELETE + INSERT (replace) and MERGE (incremental)
  statements, which commits all together or not at all. DDL cannot run in the block: missing schemas and
  tables are created, and views replaced, before it, each undone if the block fails.
- "clone-with-undo": each table is replaced by a Delta DEEP CLONE of its audited copy (or MERGEd), one
  commit per table; if a statement fails part-way, what was replaced goes back (RESTORE TABLE ... TO
  VERSION AS OF the version read before), so prod is never left half published.
In both, the record's row is inserted as `publishing`, with the version of every table and the definition
of every view before the publish, before the first change, and set `published` after the last (in the
block, in the atomic mode); a crash in between leaves a `publishing` row from which `quality rollback`
restores exactly, and the next gate refuses to publish until it has.

Incremental models with a unique key publish only their change: MERGE INTO prod USING (audit rows that
are new or changed vs prod) ON the key. When that would not leave prod equal to the audited table (rows
of prod missing from the audit build, e.g. a full refresh; duplicate or NULL keys; another schema), the
table is replaced whole, and the step says why.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from quality import interrupts
from quality.engines import run_log
from quality.engines.base import Engine
from quality.engines.connectivity import first_line
from quality.errors import PublishError, QualityError

ATOMIC = "atomic"
CLONE_WITH_UNDO = "clone-with-undo"
TRANSACTION = "transaction"  # DuckDB: one transaction
MODE_ENV = "QUALITY_DATABRICKS_PUBLISH"  # auto (default) | clone-with-undo | atomic
# Delta table features that mean catalog commits (DESCRIBE DETAIL's tableFeatures); the preview name too.
CATALOG_COMMIT_FEATURES = frozenset({"catalogManaged", "catalogOwned-preview"})
REPLACE = "replace"
MERGE = "merge"


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
    merge_key: list[str] | None = None  # unique key of an incremental model: publish its change by MERGE
    method: str | None = None  # how the table was published: "replace" | "merge"
    method_note: str | None = None  # why a table with a merge key was replaced whole
    merged_inserted: int | None = None  # rows the MERGE inserted
    merged_updated: int | None = None  # rows the MERGE updated
    mode: str | None = None  # "transaction" (DuckDB) | "atomic" | "clone-with-undo" (Databricks)
    previous_definition: str | None = None  # a view's body before publish (Databricks; None: it was new)
    existed: bool | None = None  # the relation existed in prod before publish (Databricks)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Published(list[PublishStep]):
    """The published steps, with the mode the publish ran in and why."""

    def __init__(self, steps: Iterable[PublishStep], mode: str, reason: str) -> None:
        super().__init__(steps)
        self.mode = mode
        self.reason = reason


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
) -> Published:
    """Publish the steps; `record` (run id, target) also writes the run's publish record in the warehouse
    (DuckDB: in the publish's own transaction; Databricks: `publishing` first, `published` with the last
    change). Returns the steps as published, with the mode the publish ran in."""
    if engine.name == "duckdb":
        return Published(
            _publish_duckdb(engine, steps, schema_map, record), TRANSACTION, "DuckDB: one transaction for all"
        )
    if engine.name == "databricks":
        return _publish_databricks(engine, steps, schema_map, record)
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
            step = _publish_duckdb_table(engine, step, schema_map)
            rows, fingerprint = _duckdb_state(engine, step.prod_schema, step.prod_name)
            if step.method == MERGE and rows != _count(engine, step.audit_schema, step.name):
                raise PublishError(
                    f"the MERGE of {step.prod_schema}.{step.prod_name} left {rows} rows, not the audited "
                    f"{_count(engine, step.audit_schema, step.name)}; nothing was published."
                )
            published.append(replace(step, backed_up=backed_up, rows=rows, fingerprint=fingerprint, mode=TRANSACTION))
        for step in views:
            target = f"{_q(step.prod_schema)}.{_q(step.prod_name)}"
            body = _view_body(engine.table_sql(step.audit_schema, step.name))
            _drop_duckdb(engine, step.prod_schema, step.prod_name)
            engine.execute(f"create view {target} as {rewrite_schemas(body, schema_map)}")
            published.append(replace(step, mode=TRANSACTION))
        if record is not None:
            run_log.record_publish(engine, *record, [step.as_dict() for step in published])
        interrupts.crash_point("publish_before_commit")
    return published


def _publish_duckdb_table(engine: Any, step: PublishStep, schema_map: Mapping[str, str]) -> PublishStep:
    """MERGE the audited change into prod when the step has a key and that leaves prod equal to the audit
    table; else drop and copy the whole table (with its constraints)."""
    if step.merge_key:
        note = merge_obstacle(engine, step)
        if note is None:
            inserted, updated = change_counts(engine, step)
            engine.execute(merge_statement(engine, step))
            return replace(step, method=MERGE, merged_inserted=inserted, merged_updated=updated)
        step = replace(step, method_note=note)
    _drop_duckdb(engine, step.prod_schema, step.prod_name)
    _copy_duckdb(engine, (step.audit_schema, step.name), (step.prod_schema, step.prod_name), schema_map)
    return replace(step, method=REPLACE)


def _count(engine: Any, schema: str, name: str) -> int:
    return int(engine.query(f"select count(*) from {engine.relation_ref(schema, name)}")[0][0])


def _columns(engine: Any, schema: str, name: str) -> list[tuple[str, str]]:
    if engine.name == "databricks":
        return cast(list[tuple[str, str]], engine.columns(schema, name))
    rows = engine.query(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    )
    return [(str(column), str(kind).lower()) for column, kind in rows]


def merge_obstacle(engine: Any, step: PublishStep) -> str | None:
    """Why a MERGE of the audited change would not leave prod equal to the audit table (then the table is
    replaced whole), or None: the table is MERGEd.

    A MERGE on the key leaves prod equal to the audit table when prod exists with the same columns and
    types, the key is unique and never NULL in both, and every key of prod is still in the audit table
    (the audit build merged onto a copy of prod, so it holds every prod row unless it was rebuilt).
    """
    prod, audit = (step.prod_schema, step.prod_name), (step.audit_schema, step.name)
    name = f"{step.prod_schema}.{step.prod_name}"
    if not engine.relation_exists(*prod):
        return f"{name} is new in prod: created whole"
    prod_columns, audit_columns = _columns(engine, *prod), _columns(engine, *audit)
    if prod_columns != audit_columns:
        return f"the columns of {name} changed ({_column_change(prod_columns, audit_columns)}): replaced whole"
    key = list(step.merge_key or [])
    missing = [column for column in key if column.lower() not in {c.lower() for c, _ in audit_columns}]
    if missing:
        return f"the unique key {', '.join(missing)} of {name} is not a column of it: replaced whole"
    columns = ", ".join(_ident(engine, column) for column in key)
    not_null = " and ".join(f"{_ident(engine, column)} is not null" for column in key)
    for label, (schema, table) in (("prod", prod), ("the audit build", audit)):
        ref = engine.relation_ref(schema, table)
        total, keyed = engine.query(f"select count(*), count_if({not_null}) from {ref}")[0]
        distinct_keys = engine.query(f"select count(*) from (select distinct {columns} from {ref}) quality_keys__")[0][
            0
        ]
        if int(total) != int(keyed):
            return f"{label} has rows of {name} with a NULL unique key ({', '.join(key)}): replaced whole"
        if int(total) != int(distinct_keys):
            return f"{label} has duplicate unique keys ({', '.join(key)}) in {name}: replaced whole"
    match = " and ".join(f"a.{_ident(engine, c)} = p.{_ident(engine, c)}" for c in key)
    lost = int(
        engine.query(
            f"select count(*) from {engine.relation_ref(*prod)} p where not exists "
            f"(select 1 from {engine.relation_ref(*audit)} a where {match})"
        )[0][0]
    )
    if lost:
        return f"the audit build of {name} lacks {lost} row(s) prod has (a full refresh?): replaced whole"
    return None


def change_counts(engine: Any, step: PublishStep) -> tuple[int, int]:
    """(rows the MERGE inserts, rows it updates): audit rows not in prod, split by whether their key is."""
    key = list(step.merge_key or [])
    keys = ", ".join(f"{_ident(engine, c)}" for c in key)
    on = " and ".join(f"c.{_ident(engine, col)} = p.{_ident(engine, col)}" for col in key)
    total, updated = engine.query(
        f"select count(*), count(p.quality_found__) from ({_change_query(engine, step)}) c "
        f"left join (select {keys}, 1 as quality_found__ from {engine.relation_ref(step.prod_schema, step.prod_name)}) p "
        f"on {on}"
    )[0]
    return int(total) - int(updated), int(updated)


def _change_query(engine: Any, step: PublishStep) -> str:
    """The audited rows that are new or changed vs prod (EXCEPT: NULLs compare equal)."""
    return (
        f"select * from {engine.relation_ref(step.audit_schema, step.name)} except "
        f"select * from {engine.relation_ref(step.prod_schema, step.prod_name)}"
    )


def merge_statement(engine: Any, step: PublishStep) -> str:
    """MERGE INTO prod USING (new or changed audit rows) ON the key: update matched rows, insert the rest."""
    on = " and ".join(
        f"quality_target__.{_ident(engine, c)} = quality_change__.{_ident(engine, c)}" for c in step.merge_key or []
    )
    return (
        f"merge into {engine.relation_ref(step.prod_schema, step.prod_name)} as quality_target__ "
        f"using ({_change_query(engine, step)}) as quality_change__ on {on} "
        "when matched then update set * when not matched then insert *"
    )


def _ident(engine: Any, name: str) -> str:
    if engine.name == "duckdb":
        return _q(name)
    return "`" + name.replace("`", "``") + "`"


def _column_change(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> str:
    gone = [f"-{c} {t}" for c, t in before if (c, t) not in after]
    new = [f"+{c} {t}" for c, t in after if (c, t) not in before]
    return ", ".join([*gone, *new]) or "column order"


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


def databricks_mode(engine: Any, steps: list[PublishStep], schema_map: Mapping[str, str]) -> tuple[str, str]:
    """("atomic" | "clone-with-undo", why), read from the warehouse before anything changes.

    Atomic needs (https://docs.databricks.com/aws/en/transactions): a SQL warehouse (a cluster needs
    Databricks Runtime 18+, not checked here), and every table written in the block a Unity Catalog managed
    Delta table with catalog commits (`catalogManaged` in DESCRIBE DETAIL's tableFeatures); the record's
    table too. A new prod table is created before the block with catalog commits on, but only when prod
    already uses them: the harness never turns that table feature on for a prod that has none (readers
    then need Databricks Runtime 16.4+). INSERT needs the prod table's columns equal to the audited ones,
    so a changed schema means clone-with-undo (CREATE OR REPLACE cannot run in the block).
    `QUALITY_DATABRICKS_PUBLISH=clone-with-undo` forces the fallback; `=atomic` skips the "prod already
    uses catalog commits" rule (the other checks still apply).
    """
    wanted = _wanted_mode()
    if wanted == CLONE_WITH_UNDO:
        return CLONE_WITH_UNDO, f"{MODE_ENV}=clone-with-undo"
    if not getattr(engine, "is_sql_warehouse", False):
        return CLONE_WITH_UNDO, (
            f"the http_path {getattr(engine, 'http_path', '?')} is not a SQL warehouse (BEGIN ATOMIC on a cluster "
            "needs Databricks Runtime 18+, which the harness does not check)"
        )
    tables = [step for step in steps if step.kind == "table"]
    log = (run_log.LOG_SCHEMA, run_log.LOG_TABLE)
    existing = _existing_tables(engine, [*_prod_relations(tables), log])
    prod_existing = [relation for relation, _ in existing if relation != log]
    if not prod_existing and wanted != ATOMIC:
        return CLONE_WITH_UNDO, (
            "no prod table exists yet: the harness does not turn catalog commits on by itself (set "
            f"'delta.feature.catalogManaged' = 'supported' on the prod tables, or {MODE_ENV}=atomic)"
        )
    obstacle = _not_catalog_managed(engine, existing) or _changed_columns(engine, tables, prod_existing)
    if obstacle is not None:
        return CLONE_WITH_UNDO, obstacle
    return ATOMIC, (
        f"SQL warehouse, and all {len(existing)} existing table(s) written (the record's included) are managed "
        "Delta tables with catalog commits"
    )


def _wanted_mode() -> str:
    """The mode asked for in `QUALITY_DATABRICKS_PUBLISH`: auto (the default), atomic or clone-with-undo."""
    wanted = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if wanted not in {"auto", ATOMIC, CLONE_WITH_UNDO}:
        raise QualityError(f"{MODE_ENV}={wanted}: use auto, atomic or clone-with-undo.")
    return wanted


def _prod_relations(steps: list[PublishStep]) -> list[tuple[str, str]]:
    return [(step.prod_schema, step.prod_name) for step in steps]


def _existing_tables(engine: Any, relations: list[tuple[str, str]]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The relations that exist, in order, each with its (table type, data source); one lookup per schema."""
    kinds: dict[str, dict[str, tuple[str, str]]] = {}
    existing = []
    for schema, name in relations:
        if schema not in kinds:
            kinds[schema] = {k.lower(): v for k, v in engine.table_kinds(schema).items()}
        if name.lower() in kinds[schema]:
            existing.append(((schema, name), kinds[schema][name.lower()]))
    return existing


def _not_catalog_managed(engine: Any, existing: list[tuple[tuple[str, str], tuple[str, str]]]) -> str | None:
    """Why a table written is not a Unity Catalog managed Delta table with catalog commits, or None."""
    for (schema, name), (table_type, source) in existing:
        if table_type != "MANAGED" or source.upper() != "DELTA":
            return f"{schema}.{name} is {table_type} {source}, not a Unity Catalog managed Delta table"
        features = engine.table_features(schema, name)
        if not CATALOG_COMMIT_FEATURES & set(features):
            return (
                f"{schema}.{name} has no catalog commits (DESCRIBE DETAIL tableFeatures: "
                f"{', '.join(features) or 'none'}); enable them with ALTER TABLE ... SET TBLPROPERTIES "
                "('delta.feature.catalogManaged' = 'supported')"
            )
    return None


def _changed_columns(engine: Any, tables: list[PublishStep], prod_existing: list[tuple[str, str]]) -> str | None:
    """Why a table's prod columns differ from the audited ones (INSERT in the block needs them equal), or None."""
    for step in tables:
        if (step.prod_schema, step.prod_name) in prod_existing:
            before = _columns(engine, step.prod_schema, step.prod_name)
            after = _columns(engine, step.audit_schema, step.name)
            if before != after:
                return (
                    f"the columns of {step.prod_schema}.{step.prod_name} changed ({_column_change(before, after)}): "
                    "a schema change needs CREATE OR REPLACE, which cannot run in a transaction"
                )
    return None


def _publish_databricks(
    engine: Any, steps: list[PublishStep], schema_map: Mapping[str, str], record: tuple[str, str] | None
) -> Published:
    if record is not None:
        _refuse_unfinished(engine, record[1])
    mode, reason = databricks_mode(engine, steps, schema_map)
    steps = _state_before(engine, steps, mode)
    if record is not None:
        run_log.ensure_table(engine, catalog_managed=mode == ATOMIC)
        run_log.record_publish(engine, *record, [step.as_dict() for step in steps], status=run_log.PUBLISHING)
    interrupts.crash_point("publish_after_record")
    if mode == ATOMIC:
        done = _publish_atomic(engine, steps, schema_map, record)
    else:
        done = _publish_clone(engine, steps, schema_map, record)
    return Published(done, mode, reason)


def _refuse_unfinished(engine: Any, target: str) -> None:
    problem = run_log.unfinished_problem(engine, target)
    if problem:
        raise PublishError(problem)


def _state_before(engine: Any, steps: list[PublishStep], mode: str) -> list[PublishStep]:
    """Every table's Delta version and every view's definition before the publish (what undo restores)."""
    schemas = sorted({step.prod_schema for step in steps if step.kind == "table"})
    versions = {schema: engine.table_versions(schema) for schema in schemas}
    before = []
    for step in steps:
        if step.kind == "table":
            existed = engine.relation_exists(step.prod_schema, step.prod_name)
            version = versions[step.prod_schema].get(step.prod_name) if existed else None
            before.append(replace(step, prod_version=version, existed=existed, mode=mode))
        else:
            existed = engine.relation_exists(step.prod_schema, step.prod_name)
            body = _show_view_body(engine, step.prod_schema, step.prod_name) if existed else None
            before.append(replace(step, previous_definition=body, existed=existed, mode=mode))
    return before


def _audit_ref(engine: Any, step: PublishStep) -> str:
    return f"`{engine.database}`.`{step.audit_schema}`.`{step.name}`"


def _prod_ref(engine: Any, step: PublishStep) -> str:
    return f"`{engine.database}`.`{step.prod_schema}`.`{step.prod_name}`"


def _plan_table(engine: Any, step: PublishStep) -> PublishStep:
    """Decide merge or replace, and count the rows the table will hold (the audited table's)."""
    rows = _count(engine, step.audit_schema, step.name)
    if step.merge_key:
        note = merge_obstacle(engine, step)
        if note is None:
            inserted, updated = change_counts(engine, step)
            return replace(step, method=MERGE, merged_inserted=inserted, merged_updated=updated, rows=rows)
        return replace(step, method=REPLACE, method_note=note, rows=rows)
    return replace(step, method=REPLACE, rows=rows)


def _publish_atomic(
    engine: Any, steps: list[PublishStep], schema_map: Mapping[str, str], record: tuple[str, str] | None
) -> list[PublishStep]:
    """DDL first (schemas, new tables, views), each undone if the block fails; then one BEGIN ATOMIC block
    with every table write and the record's `published`."""
    tables = [_plan_table(engine, step) if step.kind == "table" else step for step in steps]
    created: list[PublishStep] = []
    replaced_views: list[PublishStep] = []
    try:
        for schema in sorted({step.prod_schema for step in tables}):
            engine.create_schema(schema)
        for step in tables:
            if step.kind == "table" and not step.existed:
                engine.execute(
                    f"CREATE TABLE IF NOT EXISTS {_prod_ref(engine, step)} LIKE {_audit_ref(engine, step)} "
                    f"TBLPROPERTIES ({run_log.CATALOG_MANAGED_PROPERTY})"
                )
                created.append(step)
        interrupts.crash_point("publish_after_new_tables")
        for step in tables:
            if step.kind == "view":
                body = _show_view_body(engine, step.audit_schema, step.name)
                engine.execute(
                    f"create or replace view {_prod_ref(engine, step)} as {rewrite_schemas(body, schema_map)}"
                )
                replaced_views.append(step)
        interrupts.crash_point("publish_after_views")
        block = atomic_block(engine, tables, record)
        engine.execute(block)
    except Exception as error:
        raise _undo_ddl(engine, created, replaced_views, record, error) from error
    interrupts.crash_point("publish_after_atomic_block")
    published = _with_published_versions(engine, tables, sorted({s.prod_schema for s in tables if s.kind == "table"}))
    if record is not None:
        with contextlib.suppress(Exception):  # the versions are a check for rollback; the record holds without
            run_log.update_steps(engine, record[0], [step.as_dict() for step in published])
    return published


def atomic_block(engine: Any, steps: list[PublishStep], record: tuple[str, str] | None) -> str:
    """The `BEGIN ATOMIC ... END;` text: per table DELETE + INSERT (replace) or MERGE (incremental), then
    the UPDATE marking the record `published` (only SELECT/INSERT/MERGE/UPDATE/DELETE may run inside)."""
    statements = []
    for step in steps:
        if step.kind != "table":
            continue
        if step.method == MERGE:
            statements.append(merge_statement(engine, step))
        else:
            statements.append(f"DELETE FROM {_prod_ref(engine, step)}")
            statements.append(f"INSERT INTO {_prod_ref(engine, step)} SELECT * FROM {_audit_ref(engine, step)}")
    if record is not None:
        statements.append(run_log.published_statement(engine, record[0], [step.as_dict() for step in steps]))
    return "BEGIN ATOMIC\n" + "".join(f"  {statement};\n" for statement in statements) + "END;"


def _undo_ddl(
    engine: Any,
    created: list[PublishStep],
    views: list[PublishStep],
    record: tuple[str, str] | None,
    error: BaseException,
) -> PublishError:
    """The block did not commit (Databricks rolled every table write back): undo the DDL done before it."""
    reason = first_line(error)
    problems: list[str] = []
    for step in views:
        try:
            _put_view_back(engine, step)
        except Exception as undo_error:
            problems.append(f"view {step.prod_schema}.{step.prod_name}: {first_line(undo_error)}")
    for step in created:
        try:
            engine.execute(f"drop table if exists {_prod_ref(engine, step)}")
        except Exception as undo_error:
            problems.append(f"new table {step.prod_schema}.{step.prod_name}: {first_line(undo_error)}")
    if problems:
        return PublishError(
            f"Publishing to catalog {engine.database} failed: {reason}. The transaction wrote no table, but "
            f"undoing what ran before it failed for {'; '.join(problems)}. The record keeps this run as "
            "`publishing`: run `quality rollback` to finish the undo before the next deploy."
        )
    _forget(engine, record)
    return PublishError(
        f"Publishing to catalog {engine.database} failed: {reason}. The transaction (BEGIN ATOMIC) rolled back, "
        f"so no table changed; {len(created)} new table(s) dropped and {len(views)} view(s) put back. Fix the "
        "cause and run the gate again."
    )


def _forget(engine: Any, record: tuple[str, str] | None) -> None:
    """Delete the `publishing` row of a publish that was fully undone (it never happened)."""
    if record is None:
        return
    # If this fails the row stays `publishing`: the next gate asks for `quality rollback`, a no-op then.
    with contextlib.suppress(Exception):
        engine.execute(f"DELETE FROM {run_log.ref(engine)} WHERE run_id = ?", [record[0]])


def _publish_clone(
    engine: Any, steps: list[PublishStep], schema_map: Mapping[str, str], record: tuple[str, str] | None
) -> list[PublishStep]:
    """One statement per relation (a DEEP CLONE, or a MERGE of an incremental model's change), undone as a
    whole if one fails; the record is set `published` after the last.

    If any statement fails, what was already replaced goes back (RESTORE TABLE ... TO VERSION AS OF, the
    previous view definitions) and a `PublishError` says so, so prod never stays half published.
    """
    published: list[PublishStep] = []
    first_table = True
    for step in steps:
        try:
            engine.create_schema(step.prod_schema)
            target = _prod_ref(engine, step)
            if step.kind == "table":
                step = _plan_table(engine, step)
                if step.method == MERGE:
                    engine.execute(merge_statement(engine, step))
                else:
                    engine.execute(f"create or replace table {target} deep clone {_audit_ref(engine, step)}")
                step = replace(step, rows=int(engine.query(f"select count(*) from {target}")[0][0]))
            else:
                body = _show_view_body(engine, step.audit_schema, step.name)
                engine.execute(f"create or replace view {target} as {rewrite_schemas(body, schema_map)}")
        except Exception as error:
            failed = f"{step.prod_schema}.{step.prod_name}"
            # A failed table statement may have committed before its error came back (its version tells);
            # a failed CREATE OR REPLACE VIEW changed nothing.
            touched = [*published, step] if step.kind == "table" else published
            raise _undo_partial_publish(engine, touched, failed, error, record) from error
        published.append(step)
        if step.kind == "table" and first_table:
            first_table = False
            interrupts.crash_point("publish_after_first_table")
    interrupts.crash_point("publish_before_record")
    done = _with_published_versions(engine, published, sorted({s.prod_schema for s in published if s.kind == "table"}))
    if record is not None:
        run_log.mark_published(engine, record[0], [step.as_dict() for step in done])
    return done


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


def _put_view_back(engine: Any, step: PublishStep) -> None:
    target = _prod_ref(engine, step)
    if step.previous_definition is None:
        engine.execute(f"drop view if exists {target}")
    else:
        engine.execute(f"create or replace view {target} as {step.previous_definition}")


def _undo_partial_publish(
    engine: Any,
    touched: list[PublishStep],
    failed: str,
    error: BaseException,
    record: tuple[str, str] | None,
) -> PublishError:
    """Put back every relation the publish touched (the failed one included: its statement may have
    committed before the error reached us); delete the `publishing` row when all went back."""
    reason = first_line(error)
    done, problems = _put_back(engine, touched)
    tables = sum(1 for step in done if step.kind == "table")
    views = len(done) - tables
    if problems:
        return PublishError(
            f"Publishing to catalog {engine.database} failed at {failed}: {reason}. Undoing it failed for "
            f"{'; '.join(problems)}. Restore those by hand (RESTORE TABLE ... TO VERSION AS OF the version "
            "named) or run `quality rollback` (the record keeps this run as `publishing`) before the next "
            "deploy; the other relations were put back."
        )
    _forget(engine, record)
    return PublishError(
        f"Publishing to catalog {engine.database} failed at {failed}: {reason}. Nothing stays published: "
        f"{tables} table(s) restored to their versions before this run and {views} view(s) put back. "
        "Fix the cause (permissions, warehouse, quota) and run the gate again."
    )


def _put_back(engine: Any, steps: list[PublishStep]) -> tuple[list[PublishStep], list[str]]:
    """Restore each table to its recorded version (drop it if it is new) when it moved, and each view to
    its recorded definition; returns what was put back and what could not be."""
    problems: list[str] = []
    done: list[PublishStep] = []
    versions: dict[str, dict[str, int]] = {}
    for step in steps:
        try:
            if step.kind == "table":
                if step.existed and step.prod_version is None:
                    raise QualityError("it existed before with no Delta version recorded, so it cannot be restored")
                if step.prod_schema not in versions:
                    versions[step.prod_schema] = engine.table_versions(step.prod_schema)
                current = versions[step.prod_schema].get(step.prod_name)
                if current != step.prod_version or (
                    step.prod_version is None
                    and step.existed is False
                    and engine.relation_exists(step.prod_schema, step.prod_name)
                ):
                    _restore_databricks(engine, [step])
                    done.append(step)
            elif step.existed is not None:  # a view whose state before is recorded
                _put_view_back(engine, step)
                done.append(step)
        except Exception as undo_error:  # keep undoing the others, then say exactly what is left
            if step.kind == "table":
                version = "drop it (it is new)" if step.prod_version is None else f"VERSION AS OF {step.prod_version}"
            else:
                version = "its previous definition"
            problems.append(f"{step.prod_schema}.{step.prod_name} ({version}): {first_line(undo_error)}")
    return done, problems


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


def restore(
    engine: Engine, steps: list[PublishStep], *, run_id: str | None = None, unfinished_publish: bool = False
) -> list[str]:
    """Undo a publish: every table it replaced goes back to its state before; returns what was restored.

    DuckDB: in one transaction, from the backup schema the publish kept (a table that did not exist before
    is dropped), with the record's row marked rolled back in it. Databricks: Delta `RESTORE TABLE ... TO
    VERSION AS OF` the version recorded before publish (a table that did not exist is dropped), for each
    table whose version moved since; the record's row is set `rolling_back` first and `rolled_back` last,
    so a crash in between leaves a row the next `quality rollback` finishes (restoring again is idempotent).
    Views are code, not data: they are left as published (revert the commit and redeploy to change them),
    except after a publish that never finished (`unfinished_publish`): its views go back to their recorded
    definitions too, so prod is exactly as before it.
    """
    tables = [step for step in steps if step.kind == "table"]
    if engine.name == "databricks":
        _restore_databricks_run(engine, steps if unfinished_publish else tables, run_id)
        return [f"{step.prod_schema}.{step.prod_name}" for step in tables]
    return _restore_duckdb_run(engine, tables, run_id)


def _restore_databricks_run(engine: Engine, steps: list[PublishStep], run_id: str | None) -> None:
    """Put `steps` back, between the record's `rolling_back` and `rolled_back`; raises what could not be."""
    if run_id is not None:
        run_log.mark_rolling_back(engine, run_id)
    interrupts.crash_point("rollback_after_record")
    _, problems = _put_back(engine, steps)
    if problems:
        raise QualityError(
            f"rollback could not restore {'; '.join(problems)}. The record keeps the run as `rolling_back`: "
            "fix the cause (permissions: RESTORE needs MODIFY on the table) and run `quality rollback` again."
        )
    interrupts.crash_point("rollback_before_record")
    if run_id is not None:
        run_log.mark_rolled_back(engine, run_id)


def _restore_duckdb_run(engine: Engine, tables: list[PublishStep], run_id: str | None) -> list[str]:
    """Copy every table back from the run's backup schema (drop it if it was new), in one transaction."""
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
        if step.prod_version is None:  # new with this publish (or a table that has no Delta history)
            engine.execute(f"drop table if exists `{engine.database}`.`{step.prod_schema}`.`{step.prod_name}`")
        else:
            engine.delta_restore(step.prod_schema, step.prod_name, step.prod_version)
        restored.append(f"{step.prod_schema}.{step.prod_name}")
    return restored
