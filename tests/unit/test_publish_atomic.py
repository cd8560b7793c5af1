"""The Databricks publish in its atomic mode (`BEGIN ATOMIC ... END`), statement by statement, against a
recording fake of a SQL warehouse with catalog-managed Delta tables: the exact statement text and each
detection fallback, and fast copies of the failure and crash cases that
tests/integration/test_local_databricks_publish_atomic.py runs on the local endpoint for real (docs/publish.md
lists what only a workspace can check).

The fake keeps each table's versions as content labels, applies a block all together or not at all (as
Databricks does), and records every statement; a crash is simulated by making `crash_point` raise a
BaseException that no `except Exception` of the publish catches (no undo runs, as after `os._exit`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pytest

from quality import interrupts
from quality.engines import publish as publish_module
from quality.engines import run_log
from quality.engines.publish import ATOMIC, CLONE_WITH_UNDO, MERGE, REPLACE, PublishStep, databricks_mode, publish
from quality.errors import PublishError
from quality.wap.rollback import rollback_run

AUDIT = "audit_20261130t120000_ab12cd_marts"
PROD = "marts"
LOG = (run_log.LOG_SCHEMA, run_log.LOG_TABLE)
REF = re.compile(r"`main`\.`(\w+)`\.`(\w+)`")


class Crash(BaseException):
    """What `os._exit` is to the process: nothing after it runs."""


class Warehouse:
    """A SQL warehouse over catalog `main`: tables as lists of version contents, views as bodies."""

    name = "databricks"
    database = "main"
    ROWS: ClassVar[dict[str, int]] = {"prod orders": 3, "prod stores": 2, "audit orders": 4, "audit stores": 1}

    def __init__(self, *, http_path: str = "/sql/1.0/warehouses/abc123", fail_on: str | None = None) -> None:
        self.http_path = http_path
        self.fail_on = fail_on
        self.tables: dict[tuple[str, str], list[str]] = {}
        self.features: dict[tuple[str, str], list[str]] = {}
        self.views: dict[tuple[str, str], str] = {}
        self.columns_of: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.log: dict[str, dict[str, Any]] = {}
        self.statements: list[str] = []  # every statement sent, in order

    # --- what the engine offers --------------------------------------------------------------------
    @property
    def is_sql_warehouse(self) -> bool:
        return "/warehouses/" in self.http_path

    def relation_ref(self, schema: str, name: str) -> str:
        return f"`main`.`{schema}`.`{name}`"

    def create_schema(self, schema: str) -> None:
        self.statements.append(f"CREATE SCHEMA IF NOT EXISTS `main`.`{schema}`")

    def list_schemas(self) -> list[str]:
        return sorted({schema for schema, _ in [*self.tables, *self.views]})

    def relation_exists(self, schema: str, name: str) -> bool:
        return (schema, name) in self.tables or (schema, name) in self.views

    def table_versions(self, schema: str) -> dict[str, int]:
        return {name: len(versions) - 1 for (s, name), versions in self.tables.items() if s == schema}

    def table_kinds(self, schema: str) -> dict[str, tuple[str, str]]:
        return {name: ("MANAGED", "DELTA") for (s, name) in self.tables if s == schema}

    def table_features(self, schema: str, name: str) -> list[str]:
        self.statements.append(f"DESCRIBE DETAIL `main`.`{schema}`.`{name}`")
        return self.features.get((schema, name), ["appendOnly", "invariants"])

    def columns(self, schema: str, name: str) -> list[tuple[str, str]]:
        return self.columns_of.get((schema, name), [("order_id", "bigint"), ("amount", "int")])

    def delta_restore(self, schema: str, name: str, version: int) -> None:
        self.statements.append(f"RESTORE TABLE `main`.`{schema}`.`{name}` TO VERSION AS OF {version}")
        versions = self.tables[(schema, name)]
        versions.append(versions[version])

    def content(self, schema: str, name: str) -> str:
        return self.tables[(schema, name)][-1]

    # --- statements ---------------------------------------------------------------------------------
    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        self.statements.append(sql)
        if self.fail_on and self.fail_on in sql:
            raise RuntimeError("[TRANSACTION_NOT_SUPPORTED.COMMAND] Command is not supported in a transaction.")
        if sql.startswith("BEGIN ATOMIC\n"):
            self._block(sql)
            return
        self._apply(sql, params or [], self.tables)

    def _block(self, sql: str) -> None:
        """All statements apply to a copy; the copy becomes the state only if every one succeeded, and each
        table written gets ONE new version (one commit per table)."""
        assert sql.endswith("\nEND;")
        body = sql[len("BEGIN ATOMIC\n") : -len("END;")]
        statements = [line.strip().removesuffix(";") for line in body.splitlines() if line.strip()]
        pending = {key: list(versions) for key, versions in self.tables.items()}
        log = json.loads(json.dumps(self.log))
        current: dict[tuple[str, str], str] = {}
        for statement in statements:
            assert re.match(r"(?i)(select|insert|merge|update|delete)\b", statement), f"not allowed: {statement}"
            if statement.startswith("DELETE FROM "):
                (schema, name), *_ = REF.findall(statement)
                current[(schema, name)] = ""
            elif statement.startswith("INSERT INTO "):
                (target, source) = REF.findall(statement)[:2]
                current[target] = pending[source][-1]
            elif statement.startswith("merge into "):
                target, source = REF.findall(statement)[:2]
                current[target] = f"{pending[target][-1]} merged with {pending[source][-1]}"
            elif statement.startswith("UPDATE "):
                match = re.fullmatch(
                    r"UPDATE `main`\.`quality`\.`publish_log` SET status = '(\w+)', steps = '(.*)' "
                    r"WHERE run_id = '(\w+)'",
                    statement,
                )
                assert match, statement
                steps = match[2].replace("\\'", "'").replace("\\\\", "\\")
                log[match[3]].update(status=match[1], steps=steps)
                current[LOG] = "log"
            else:
                raise AssertionError(f"unexpected statement in the block: {statement}")
        for key, content in current.items():
            pending[key].append(content)
        self.tables, self.log = pending, log

    def _apply(self, sql: str, params: list[Any], tables: dict[tuple[str, str], list[str]]) -> None:
        if self._apply_to_log(sql, params, tables):
            return
        if match := re.fullmatch(r"CREATE TABLE IF NOT EXISTS `main`\.`(\w+)`\.`(\w+)` LIKE .*", sql):
            tables.setdefault((match[1], match[2]), [""])
            self.features[(match[1], match[2])] = ["catalogManaged"]
        elif match := re.fullmatch(r"create or replace view `main`\.`(\w+)`\.`(\w+)` as (.*)", sql, re.S):
            self.views[(match[1], match[2])] = match[3]
        elif match := re.fullmatch(r"drop (?:table|view) if exists `main`\.`(\w+)`\.`(\w+)`", sql):
            tables.pop((match[1], match[2]), None)
            self.views.pop((match[1], match[2]), None)
        elif match := re.fullmatch(
            r"create or replace table `main`\.`(\w+)`\.`(\w+)` deep clone `main`\.`(\w+)`\.`(\w+)`", sql
        ):
            tables.setdefault((match[1], match[2]), []).append(self.content(match[3], match[4]))
        elif match := re.fullmatch(
            r"merge into `main`\.`(\w+)`\.`(\w+)` .*using \(select \* from `main`\.`(\w+)`\.`(\w+)`.*", sql
        ):
            target = (match[1], match[2])
            tables[target].append(f"{tables[target][-1]} merged with {self.content(match[3], match[4])}")
        else:
            raise AssertionError(f"unexpected statement: {sql}")

    def _apply_to_log(self, sql: str, params: list[Any], tables: dict[tuple[str, str], list[str]]) -> bool:
        """A statement on the publish log, applied; False for any other statement."""
        if sql.startswith("CREATE TABLE IF NOT EXISTS `main`.`quality`.`publish_log`"):
            if LOG not in tables:
                tables[LOG] = ["log"]
                if "catalogManaged" in sql:
                    self.features[LOG] = ["catalogManaged"]
        elif sql.startswith("INSERT INTO `main`.`quality`.`publish_log`"):
            run_id, target, steps, status = params
            self.log[run_id] = {"target": target, "steps": steps, "status": status}
            tables[LOG].append("log")
        elif match := re.fullmatch(r"UPDATE `main`\.`quality`\.`publish_log` SET (.*) WHERE run_id = \?", sql):
            columns = [part.split(" = ")[0] for part in match[1].split(", ")]
            values = dict(zip([c for c in columns if c != "rolled_back_at"], params[:-1], strict=True))
            self.log[params[-1]].update(values)
            tables[LOG].append("log")
        elif sql == "DELETE FROM `main`.`quality`.`publish_log` WHERE run_id = ?":
            self.log.pop(params[0], None)
        else:
            return False
        return True

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        if sql.startswith("select run_id, target"):
            rows = [
                (run_id, row["target"], None, row["steps"], row["status"], None)
                for run_id, row in sorted(self.log.items())
            ]
            if "where run_id = ?" in sql:
                return [row for row in rows if row[0] == (params or [None])[0]]
            return [row for row in rows if row[1] == (params or [None])[0]]
        if sql.startswith("show create table "):
            schema, name = REF.findall(sql)[0]
            return [(f"CREATE VIEW `main`.`{schema}`.`{name}` AS {self.views[(schema, name)]}",)]
        if sql.startswith("select count(*), count_if("):
            n = self._rows(sql)
            return [(n, n)]
        if sql.startswith("select count(*) from (select distinct"):
            return [(self._rows(sql),)]
        if " where not exists " in sql:
            return [(0,)]  # no prod row is missing from the audit table
        if sql.startswith("select count(*), count(p.quality_found__)"):
            return [(2, 1)]  # two changed rows, one of them an update
        if sql.startswith("select count(*) from "):
            return [(self._rows(sql),)]
        raise AssertionError(f"unexpected query: {sql}")

    def _rows(self, sql: str) -> int:
        content = self.content(*REF.findall(sql)[0])
        return (
            self.ROWS.get(content, 0)
            if " merged with " not in content
            else self.ROWS[content.split(" merged with ")[1]]
        )

    def fetch_arrow(self, sql: str) -> pa.Table:
        raise AssertionError(f"unexpected: {sql}")

    def writes(self) -> list[str]:
        """The statements that change something (not reads, DESCRIBE or CREATE SCHEMA)."""
        return [s for s in self.statements if not re.match(r"(?i)(select|show|describe|create schema)\b", s)]

    def prod(self) -> dict[str, str]:
        """Prod as it is: every table's content, every view's body."""
        state = {f"table {n}": v[-1] for (s, n), v in self.tables.items() if s == PROD}
        return state | {f"view {n}": body for (s, n), body in self.views.items() if s == PROD}


def _warehouse(**options: Any) -> Warehouse:
    """Prod holds orders (incremental) and stores, both catalog-managed, and a view; the audit build has
    new contents and a new table."""
    warehouse = Warehouse(**options)
    warehouse.tables[(PROD, "orders")] = ["prod orders v0", "prod orders"]
    warehouse.tables[(PROD, "stores")] = ["prod stores"]
    warehouse.views[(PROD, "big_orders")] = "select 1 as before"
    for name in ("orders", "stores"):
        warehouse.features[(PROD, name)] = ["appendOnly", "catalogManaged", "inCommitTimestamp"]
    warehouse.tables[(AUDIT, "orders")] = ["audit orders"]
    warehouse.tables[(AUDIT, "stores")] = ["audit stores"]
    warehouse.tables[(AUDIT, "regions")] = ["audit regions"]
    warehouse.views[(AUDIT, "big_orders")] = f"select order_id from `main`.`{AUDIT}`.`orders`"
    return warehouse


def _steps() -> list[PublishStep]:
    return [
        PublishStep("model.p.orders", "table", AUDIT, "orders", PROD, "orders", merge_key=["order_id"]),
        PublishStep("model.p.stores", "table", AUDIT, "stores", PROD, "stores"),
        PublishStep("model.p.regions", "table", AUDIT, "regions", PROD, "regions"),
        PublishStep("model.p.big_orders", "view", AUDIT, "big_orders", PROD, "big_orders"),
    ]


RUN = "20261130t120000_ab12cd"
RECORD = (RUN, "prod")


@pytest.fixture(autouse=True)
def _auto_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(publish_module.MODE_ENV, raising=False)


def test_a_catalog_managed_prod_on_a_sql_warehouse_publishes_in_one_atomic_block_with_its_record() -> None:
    warehouse = _warehouse()

    done = publish(warehouse, _steps(), {AUDIT: PROD}, record=RECORD)

    assert done.mode == ATOMIC
    assert done.reason.startswith("SQL warehouse, and all 2 existing table(s) written")
    p, a, log = f"`main`.`{PROD}`", f"`main`.`{AUDIT}`", "`main`.`quality`.`publish_log`"
    writes = warehouse.writes()
    assert writes[0].startswith(f"CREATE TABLE IF NOT EXISTS {log} (")
    assert "catalogManaged" in writes[0]
    assert writes[1].startswith(f"INSERT INTO {log} (run_id, target, published_at, steps, status, rolled_back_at)")
    assert writes[2] == (
        f"CREATE TABLE IF NOT EXISTS {p}.`regions` LIKE {a}.`regions` "
        "TBLPROPERTIES ('delta.feature.catalogManaged' = 'supported')"
    )
    assert writes[3] == f"create or replace view {p}.`big_orders` as select order_id from {p}.`orders`"
    block = writes[4].splitlines()
    assert block[0] == "BEGIN ATOMIC"
    assert block[-1] == "END;"
    assert block[1:5] == [
        f"  merge into {p}.`orders` as quality_target__ using (select * from {a}.`orders` except select * from "
        f"{p}.`orders`) as quality_change__ on quality_target__.`order_id` = quality_change__.`order_id` "
        "when matched then update set * when not matched then insert *;",
        f"  DELETE FROM {p}.`stores`;",
        f"  INSERT INTO {p}.`stores` SELECT * FROM {a}.`stores`;",
        f"  DELETE FROM {p}.`regions`;",
    ]
    assert block[5] == f"  INSERT INTO {p}.`regions` SELECT * FROM {a}.`regions`;"
    assert block[6].startswith(f"  UPDATE {log} SET status = 'published', steps = '[")
    assert block[6].endswith(f"WHERE run_id = '{RUN}';")
    assert len(block) == 8
    assert writes[5].startswith(f"UPDATE {log} SET steps = ? WHERE run_id = ?"), "the versions publish left"
    assert writes[6:] == []
    assert not any(re.search(r"(?i)\b(create|clone|restore|drop)\b", line) for line in block)

    assert warehouse.prod() == {
        "table orders": "prod orders merged with audit orders",
        "table stores": "audit stores",
        "table regions": "audit regions",
        "view big_orders": f"select order_id from `main`.`{PROD}`.`orders`",
    }
    assert warehouse.table_versions(PROD) == {"orders": 2, "stores": 1, "regions": 1}, "one commit per table"
    record = run_log.read(warehouse, RUN)
    assert record is not None
    assert record["status"] == "published"
    steps = {step["prod_name"]: step for step in record["steps"]}
    assert {n: (s["mode"], s["method"], s["prod_version"], s["published_version"]) for n, s in steps.items()} == {
        "orders": (ATOMIC, MERGE, 1, 2),
        "stores": (ATOMIC, REPLACE, 0, 1),
        "regions": (ATOMIC, REPLACE, None, 1),
        "big_orders": (ATOMIC, None, None, None),
    }
    assert (steps["orders"]["merged_inserted"], steps["orders"]["merged_updated"], steps["orders"]["rows"]) == (1, 1, 4)
    assert steps["big_orders"]["previous_definition"] == "select 1 as before"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda w: setattr(w, "http_path", "/sql/protocolv1/o/1/0123-cluster"), "is not a SQL warehouse"),
        (
            lambda w: w.features.__setitem__((PROD, "stores"), ["appendOnly"]),
            f"{PROD}.stores has no catalog commits (DESCRIBE DETAIL tableFeatures: appendOnly)",
        ),
        (
            lambda w: w.columns_of.__setitem__((AUDIT, "stores"), [("order_id", "bigint"), ("amount", "bigint")]),
            f"the columns of {PROD}.stores changed (-amount int, +amount bigint)",
        ),
        (
            lambda w: [w.tables.pop((PROD, n)) for n in ("orders", "stores")],
            "no prod table exists yet: the harness does not turn catalog commits on by itself",
        ),
        (lambda w: w.tables.__setitem__(LOG, ["log"]), "quality.publish_log has no catalog commits"),
    ],
    ids=["cluster", "table without catalog commits", "schema change", "first publish", "record table"],
)
def test_the_mode_falls_back_to_clone_with_undo_and_says_why(change: Any, reason: str) -> None:
    warehouse = _warehouse()
    change(warehouse)

    mode, why = databricks_mode(warehouse, _steps(), {AUDIT: PROD})

    assert (mode, reason in why) == (CLONE_WITH_UNDO, True), why


def test_the_mode_can_be_forced_to_clone_with_undo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(publish_module.MODE_ENV, "clone-with-undo")
    warehouse = _warehouse()

    done = publish(warehouse, _steps(), {AUDIT: PROD}, record=RECORD)

    forced = "QUALITY_DATABRICKS_PUBLISH=clone-with-undo"  # pragma: allowlist secret
    assert (done.mode, done.reason) == (CLONE_WITH_UNDO, forced)
    assert not any(s.startswith("BEGIN ATOMIC") for s in warehouse.statements)
    assert any(" deep clone " in s for s in warehouse.statements)
    assert run_log.read(warehouse, RUN)["status"] == "published"  # type: ignore[index]


def test_a_block_that_fails_changes_no_table_and_the_ddl_before_it_is_undone() -> None:
    warehouse = _warehouse(fail_on="BEGIN ATOMIC")
    before = warehouse.prod()

    with pytest.raises(
        PublishError,
        match=r"The transaction \(BEGIN ATOMIC\) rolled back, so no table changed; "
        r"1 new table\(s\) dropped and 1 view\(s\) put back",
    ):
        publish(warehouse, _steps(), {AUDIT: PROD}, record=RECORD)

    assert warehouse.prod() == before
    assert run_log.records(warehouse, "prod") == [], "a publish that never happened leaves no row"


@pytest.mark.parametrize(
    "crash_at",
    ["publish_after_record", "publish_after_new_tables", "publish_after_views", "publish_after_atomic_block"],
)
def test_a_crash_at_any_atomic_publish_step_leaves_prod_and_record_consistent_and_rollback_exact(
    crash_at: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    warehouse = _warehouse()
    before = warehouse.prod()

    def crash(point: str) -> None:
        if point == crash_at:
            raise Crash(point)

    with monkeypatch.context() as patch:
        patch.setattr(interrupts, "crash_point", crash)
        with pytest.raises(Crash):
            publish(warehouse, _steps(), {AUDIT: PROD}, record=RECORD)

    record = run_log.read(warehouse, RUN)
    assert record is not None
    tables_changed = warehouse.prod()["table stores"] != before["table stores"]
    if crash_at == "publish_after_atomic_block":
        assert (record["status"], tables_changed) == ("published", True), "both new: they committed together"
    else:
        assert (record["status"], tables_changed) == ("publishing", False), "both old: the block never ran"
        with pytest.raises(PublishError, match=f"unfinished run\\(s\\): {RUN} \\(publishing\\)"):
            publish(warehouse, _steps(), {AUDIT: PROD}, record=("20261130t130000_cdef01", "prod"))

    rollback_run(warehouse, tmp_path / RUN, target="prod")

    after = warehouse.prod()
    if crash_at == "publish_after_atomic_block":  # a finished publish: tables back, views stay as published
        after.pop("view big_orders")
        before.pop("view big_orders")
    assert after == before, "rollback restores the recorded versions exactly"
    assert run_log.read(warehouse, RUN)["status"] == "rolled_back"  # type: ignore[index]
