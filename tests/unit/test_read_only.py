"""The smoke connection is read-only by construction: every statement is classified in the client, and
anything but a read is refused before it reaches the connection (proven by recording what is sent)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.engines.databricks import DatabricksEngine
from quality.engines.factory import open_engine
from quality.engines.read_only import ReadOnlyEngine, ReadOnlyError, read_only, statement_kind
from quality.wap.smoke import Mart, actual_columns, contract_problems, count_rows
from tests.unit.test_databricks_engine import HOST, HTTP_PATH, TOKEN, FakeConnection, RecordingConnect

ROOT = Path(__file__).resolve().parents[2]
FCT = "`main`.`marts`.`fct_orders`"


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ('/* {"app": "dbt"} */ select count(*) from t where a = ?', "SELECT"),
        ("with recent as (select * from t) select max(updated_at) from recent", "SELECT"),
        ("select 1 union all select 2", "SELECT"),
        ("SHOW SCHEMAS IN `main`", "SHOW"),
        ("DESCRIBE HISTORY `main`.`marts`.`fct_orders` LIMIT 1", "DESCRIBE"),
        ("desc t", "DESCRIBE"),
        ("EXPLAIN select * from t", "EXPLAIN"),
        ("select 1;", "SELECT"),
        ("delete from t", "DELETE"),
        ("with x as (select 1) insert into t select * from x", "INSERT"),
        ("create or replace table t as select 1", "CREATE"),
        ("drop table t", "DROP"),
        ("MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", "MERGE"),
        ("update t set a = 1", "UPDATE"),
        ("RESTORE TABLE t TO VERSION AS OF 1", "UNPARSEABLE"),
        ("OPTIMIZE t", "OPTIMIZE"),
        ("grant select on table t to `someone`", "GRANT"),
        ("select 1; drop table t", "MULTIPLE STATEMENTS"),
        ("EXPLAIN select 1; drop table t", "MULTIPLE STATEMENTS"),
        ("show tables; drop table t", "MULTIPLE STATEMENTS"),
        ("select ';'; select 2", "MULTIPLE STATEMENTS"),
        ("", "EMPTY"),
    ],
)
def test_statements_are_classified_in_the_databricks_dialect(sql: str, kind: str) -> None:
    assert statement_kind(sql, "databricks") == kind


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("EXPLAIN ANALYZE delete from t", "EXPLAIN ANALYZE"),
        ("copy t to 'out.csv'", "COPY"),
        ("attach 'other.duckdb'", "ATTACH"),
        ("set threads = 1", "SET"),
        ("pragma table_info('t')", "PRAGMA"),
        ("select * into t2 from t", "SELECT INTO"),
    ],
)
def test_duckdb_statements_that_write_or_change_the_session_are_not_reads(sql: str, kind: str) -> None:
    assert statement_kind(sql, "duckdb") == kind


def _recorded_engine(connection: FakeConnection) -> tuple[ReadOnlyEngine, RecordingConnect]:
    connect = RecordingConnect(connection)
    return read_only(DatabricksEngine(HOST, HTTP_PATH, "main", token=TOKEN, connect=connect)), connect


def test_the_smoke_queries_pass_and_are_sent_as_written() -> None:
    connection = FakeConnection(
        [
            ("select column_name", [("order_id", "int"), ("updated_at", "timestamp")]),
            ("select count(*)", [(7,)]),
            ("select max(updated_at)", [("2026-11-30",)]),
            ("SHOW SCHEMAS", [("marts",)]),
            ("SELECT 1", [(1,)]),
        ]
    )
    engine, _ = _recorded_engine(connection)

    mart = Mart("fct_orders", "marts", "fct_orders", {"order_id": "int", "updated_at": "timestamp"})
    assert contract_problems(mart, actual_columns(engine, "marts", "fct_orders")) == []
    assert count_rows(engine, ["marts.fct_orders"]) == {"marts.fct_orders": 7}
    assert engine.query(f"select max(updated_at) from {FCT}") == [("2026-11-30",)]
    assert engine.list_schemas() == ["marts"]
    assert engine.relation_exists("marts", "fct_orders") is True

    sent = [sql.split(" from ")[0].split(" FROM ")[0] for sql, _ in connection.statements]
    assert sent == [
        "select column_name, data_type",
        "select column_name, data_type",
        "select count(*)",
        "select max(updated_at)",
        "SHOW SCHEMAS IN `main`",
        "SELECT 1",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        f"delete from {FCT}",
        f"select * from {FCT}; drop table {FCT}",
        f"RESTORE TABLE {FCT} TO VERSION AS OF 3",
        f"with x as (select 1) insert into {FCT} select * from x",
    ],
)
def test_a_write_is_refused_before_anything_is_sent(statement: str) -> None:
    connection = FakeConnection()
    engine, connect = _recorded_engine(connection)

    with pytest.raises(ReadOnlyError, match=r"refused a .+ statement on the read-only connection") as raised:
        engine.execute(statement)

    assert connection.statements == []
    assert connect.calls == [], "not even a session is opened for a refused statement"
    assert "it was not sent" in str(raised.value)


def test_the_refusal_names_the_statement_kind() -> None:
    engine, _ = _recorded_engine(FakeConnection())
    with pytest.raises(ReadOnlyError, match=r"^refused a DELETE statement on the read-only connection to databricks"):
        engine.query(f"delete from {FCT}")


def test_loading_schemas_and_transactions_are_refused_with_nothing_sent(tmp_path: Path) -> None:
    connection = FakeConnection()
    engine, connect = _recorded_engine(connection)
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id\n1\n", encoding="utf-8")

    refusals = [
        lambda: engine.create_schema("marts"),
        lambda: engine.drop_schema("marts"),
        lambda: engine.load_frame("raw", "orders", pd.DataFrame({"order_id": [1]})),
        lambda: engine.load_csv("raw", "orders", csv),
        lambda: engine.transaction(),
    ]
    for refuse in refusals:
        with pytest.raises(ReadOnlyError, match=r"^refused .+ nothing was sent"):
            refuse()
    assert connection.statements == []
    assert connect.calls == []


def test_great_expectations_connections_are_guarded_too() -> None:
    connection = FakeConnection([("SELECT", [(1,)])])
    engine, _ = _recorded_engine(connection)

    gx_connection = engine.sqlalchemy_creator(5.0)()
    cursor = gx_connection.cursor()
    cursor.execute("SELECT count(*) FROM `main`.`marts`.`fct_orders` WHERE order_id IS NULL")
    with pytest.raises(ReadOnlyError, match="refused a DROP statement"):
        gx_connection.cursor().execute(f"DROP TABLE {FCT}")

    assert [sql for sql, _ in connection.statements] == [
        "SELECT count(*) FROM `main`.`marts`.`fct_orders` WHERE order_id IS NULL"
    ]


def test_the_engines_own_compound_reads_go_through_the_guarded_session() -> None:
    connection = FakeConnection()
    inner = DatabricksEngine(HOST, HTTP_PATH, "main", token=TOKEN, connect=RecordingConnect(connection))
    read_only(inner)

    with pytest.raises(ReadOnlyError, match="refused a CREATE statement"):
        inner.create_schema("marts")  # even the wrapped engine itself cannot send it any more
    assert connection.statements == []


def test_open_engine_read_only_guards_duckdb_in_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as setup:
        setup.execute("create schema marts; create table marts.fct_orders as select 1 as order_id")
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(path))
    project = load_project(ROOT / "dbt")
    engine = open_engine(resolve_target(project, "local"), read_only=True)
    try:
        assert isinstance(engine, ReadOnlyEngine)
        assert engine.query('select count(*) from "marts"."fct_orders"') == [(1,)]
        for statement in ('delete from "marts"."fct_orders"', "copy marts.fct_orders to 'out.csv'"):
            with pytest.raises(ReadOnlyError, match=r"refused a (DELETE|COPY) statement"):
                engine.execute(statement)
    finally:
        engine.close()
    assert not (tmp_path / "out.csv").exists()
