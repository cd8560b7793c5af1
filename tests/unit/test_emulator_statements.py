"""What the statement layer sends to Sail for what a Databricks client sends: dbt's comment stripped, Sail's
spelling, a managed folder for each CREATE TABLE (the current one on replace), a CTAS comment kept aside,
COMMENT ON kept for information_schema, the statement log, and the catalog journal that outlives a restart.

Sail itself is replaced by `RecordingSpark`, which records each statement and answers from a script: these
tests are about the exact SQL Sail gets (the endpoint tests run the same statements on Sail for real).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest

from quality.emulator import gaps
from quality.emulator.catalog_journal import CatalogEntry, CatalogJournal
from quality.emulator.spark import SparkSql, SparkSqlError
from quality.emulator.statements import StatementTranslator

FOLDER = r"[0-9a-f]{12}"


@dataclass
class RecordingSpark(SparkSql):
    """Records every statement; `answer` gives a statement's rows (None: no rows), or raises SparkSqlError."""

    answer: Callable[[str], pa.Table | None] = lambda statement: None
    sent: list[str] = field(default_factory=list)

    def run(self, sql: str) -> pa.Table:
        self.sent.append(sql)
        answer = self.answer(sql)
        return answer if answer is not None else gaps.OK


def listing(schema: str, *relations: tuple[str, str, str]) -> pa.Table:
    """SHOW TABLE EXTENDED's answer: (name, Type, Location) per relation."""
    return pa.table(
        {
            "namespace": [schema] * len(relations),
            "tableName": [name for name, _, _ in relations],
            "isTemporary": [False] * len(relations),
            "information": [f"Table: {name}\nType: {kind}\nLocation: {where}\n" for name, kind, where in relations],
        }
    )


def show_tables(schema: str, *relations: tuple[str, str, str]) -> Callable[[str], pa.Table | None]:
    """An `answer` that lists `relations` for SHOW TABLE EXTENDED and gives no rows for anything else."""
    return lambda sql: listing(schema, *relations) if sql.startswith("SHOW TABLE EXTENDED") else None


def managed(sent: str, warehouse: Path) -> str:
    """A statement with its managed folder as <warehouse>/<schema>/<name>-<id>, whitespace collapsed."""
    sent = sent.replace(str(warehouse), "<warehouse>")
    return " ".join(re.sub(rf"(<warehouse>/\w+/\w+)-{FOLDER}'", r"\1-<id>'", sent).split())


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The endpoint runs in its state folder: managed tables go under ./spark-warehouse."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUALITY_EMULATOR_LOG", raising=False)
    return tmp_path.resolve() / "spark-warehouse"


def translator(spark: RecordingSpark, journal: CatalogJournal | None = None) -> StatementTranslator:
    return StatementTranslator(spark, "main", journal)


class TestCleanup:
    def test_strip_comments_drops_dbts_leading_comment_and_the_trailing_semicolon(self) -> None:
        assert gaps.strip_comments('/* {"app": "dbt", "node_id": "model.x"} */\ncreate table t as select 1;') == (
            "create table t as select 1"
        )

    def test_strip_comments_drops_every_leading_comment_but_none_inside(self) -> None:
        assert gaps.strip_comments("  -- one\n/* two */ -- three\n  select 1 /* inner */ -- tail\n ;  ") == (
            "select 1 /* inner */ -- tail"
        )

    def test_sail_spelling_numbers_days_of_the_week_as_spark_does(self) -> None:
        assert gaps.sail_spelling(
            "select extract(DAYOFWEEK_ISO from d), extract( dow_iso  from d), extract(dow from d), extract(year from d)"
        ) == ("select extract(isodow FROM d), extract(isodow FROM d), dayofweek(d), extract(year from d)")


class TestManagedTables:
    def test_a_ctas_gets_a_new_folder_in_the_warehouse_before_its_query(self, warehouse: Path) -> None:
        spark = RecordingSpark("main")

        translator(spark).run("/* dbt */ create table `s`.`t` as select cast(1 as int) as x;")

        assert [managed(sent, warehouse) for sent in spark.sent] == [
            "create table `s`.`t` LOCATION '<warehouse>/s/t-<id>' as select cast(1 as int) as x"
        ]

    def test_a_create_table_with_columns_gets_its_folder_at_the_end(self, warehouse: Path) -> None:
        spark = RecordingSpark("main")

        translator(spark).run("create table main.s.Orders (id bigint, note string comment 'as told') using delta")

        assert [managed(sent, warehouse) for sent in spark.sent] == [
            "create table main.s.Orders (id bigint, note string comment 'as told') using delta "
            "LOCATION '<warehouse>/s/orders-<id>'"
        ]

    def test_the_query_starts_at_the_first_as_outside_parentheses_and_quotes(self, warehouse: Path) -> None:
        spark = RecordingSpark("main")

        translator(spark).run(
            "create table s.t using delta tblproperties ('note' = 'as is') cluster by (x) as (select 1 as x)"
        )

        assert [managed(sent, warehouse) for sent in spark.sent] == [
            "create table s.t using delta tblproperties ('note' = 'as is') cluster by (x) "
            "LOCATION '<warehouse>/s/t-<id>' as (select 1 as x)"
        ]

    def test_create_or_replace_keeps_the_current_folder_so_history_survives(self, warehouse: Path) -> None:
        current = warehouse / "s" / "t-current"
        spark = RecordingSpark("main", answer=show_tables("s", ("t", "MANAGED", f"file://{current}")))

        translator(spark).run("create or replace table s.t as select 2 as x")

        assert [managed(sent, warehouse) for sent in spark.sent] == [
            "SHOW TABLE EXTENDED IN `main`.`s` LIKE '*'",
            "create or replace table s.t LOCATION '<warehouse>/s/t-current' as select 2 as x",
        ]

    def test_create_or_replace_of_a_table_outside_the_warehouse_gets_a_new_folder(self, warehouse: Path) -> None:
        spark = RecordingSpark("main", answer=show_tables("s", ("t", "EXTERNAL", "file:///elsewhere/t")))

        translator(spark).run("create or replace table s.t as select 2 as x")

        assert managed(spark.sent[-1], warehouse) == (
            "create or replace table s.t LOCATION '<warehouse>/s/t-<id>' as select 2 as x"
        )

    def test_a_table_with_its_own_location_is_sent_unchanged(self, warehouse: Path) -> None:
        spark = RecordingSpark("main")
        statement = "create table s.t (id int) using delta location '/data/t'"

        translator(spark).run(statement)

        assert spark.sent == [statement]

    def test_dropping_a_managed_table_removes_its_folder_and_nothing_else(self, warehouse: Path) -> None:
        folder, other = warehouse / "s" / "t-0123456789ab", warehouse / "s" / "u-0123456789ab"
        folder.mkdir(parents=True)
        other.mkdir()
        spark = RecordingSpark("main", answer=show_tables("s", ("t", "MANAGED", f"file://{folder}")))

        translator(spark).run("drop table if exists s.t")

        assert spark.sent[-1] == "drop table if exists s.t"
        assert sorted(path.name for path in (warehouse / "s").iterdir()) == ["u-0123456789ab"]


class TestComments:
    def test_a_ctas_comment_is_kept_for_information_schema_and_left_out_for_sail(self, warehouse: Path) -> None:
        spark = RecordingSpark("main")
        statements = translator(spark)

        statements.run("create table s.T using delta comment 'it''s the \\'grain\\'' as select 1 as x")

        assert statements.comments == {("s", "t"): "it's the 'grain'"}
        assert [managed(sent, warehouse) for sent in spark.sent] == [
            "create table s.T using delta LOCATION '<warehouse>/s/t-<id>' as select 1 as x"
        ]

    def test_column_comments_of_a_create_table_without_query_stay_in_the_statement(self, warehouse: Path) -> None:
        spark = RecordingSpark("main")
        statements = translator(spark)

        statements.run("create table s.t (id int comment 'the id') using delta")

        assert statements.comments == {}
        assert [managed(sent, warehouse) for sent in spark.sent] == [
            "create table s.t (id int comment 'the id') using delta LOCATION '<warehouse>/s/t-<id>'"
        ]

    def test_comment_on_table_and_column_are_kept_once_sail_shows_they_exist(self, warehouse: Path) -> None:
        columns = pa.table({"order_id": pa.array([], pa.int64()), "Amount": pa.array([], pa.int64()), "status": []})
        spark = RecordingSpark("main", answer=lambda sql: columns if "LIMIT 0" in sql else None)
        statements = translator(spark)

        statements.run("comment on table `main`.`s`.`Orders` is 'one row per order'")
        statements.run("comment on column main.s.orders.`amount` is 'in EUR'")
        statements.run("alter table main.s.orders alter column status comment 'lifecycle'")

        assert all(sql.endswith("LIMIT 0") for sql in spark.sent)  # only: does it exist, which columns
        assert statements.comments == {("s", "orders"): "one row per order"}
        assert statements.column_comments == {
            ("s", "orders", "amount"): "in EUR",
            ("s", "orders", "status"): "lifecycle",
        }

    def test_comment_on_a_missing_column_is_refused_as_databricks_refuses_it(self, warehouse: Path) -> None:
        columns = pa.table({"order_id": pa.array([], pa.int64())})
        statements = translator(RecordingSpark("main", answer=lambda sql: columns if "LIMIT 0" in sql else None))

        with pytest.raises(SparkSqlError) as refused:
            statements.run("COMMENT ON COLUMN main.s.orders.amount IS 'in EUR'")

        assert refused.value.error_class == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
        assert refused.value.sql_state == "42703"
        assert "`amount`" in refused.value.message
        assert "[`order_id`]" in refused.value.message
        assert statements.column_comments == {}


class TestStatementLog:
    def test_quality_emulator_log_gets_each_statement_with_its_outcome(
        self, warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        log = tmp_path / "statements.log"
        monkeypatch.setenv("QUALITY_EMULATOR_LOG", str(log))

        def refuse_missing(sql: str) -> pa.Table | None:
            if "missing" in sql:
                raise SparkSqlError("[TABLE_OR_VIEW_NOT_FOUND] Table or view not found: missing")
            return None

        statements = translator(RecordingSpark("main", answer=refuse_missing))
        statements.run("/* dbt */ select 1")
        with pytest.raises(SparkSqlError):
            statements.run("select * from missing")

        assert re.sub(r" +\d+\.\d ms ", " <t> ms ", log.read_text()) == (
            "OK <t> ms select 1\n"
            "ERR <t> ms select * from missing\n"
            "    -> [TABLE_OR_VIEW_NOT_FOUND] Table or view not found: missing\n"
        )


class TestCatalogJournal:
    def test_schemas_tables_views_renames_and_drops_are_journaled(self, warehouse: Path) -> None:
        journal = CatalogJournal(warehouse.parent / "_catalog.json")
        location = f"{warehouse}/s/t-0123456789ab"
        spark = RecordingSpark("main", answer=show_tables("s", ("t", "MANAGED", f"file://{location}")))
        statements = translator(spark, journal)

        for statement in (
            "create schema if not exists `main`.`s`",
            "create schema gone",
            "drop schema gone cascade",
            "create table main.s.t (id int) using delta",
            "create or replace view main.s.v as select id from main.s.t",
            "create view main.s.old as select 1 as x",
            "alter view main.s.old rename to main.s.renamed",
        ):
            statements.run(statement)

        assert json.loads(journal.path.read_text()) == {
            "schemas": ["s"],
            "relations": {
                "s": {
                    "renamed": {"kind": "view", "location": None, "definition": "select 1 as x"},
                    "t": {"kind": "table", "location": location, "definition": None},
                    "v": {"kind": "view", "location": None, "definition": "select id from main.s.t"},
                }
            },
        }

        statements.run("drop view main.s.v")
        statements.run("drop table main.s.t")
        statements.run("drop view main.s.renamed")

        assert json.loads(journal.path.read_text()) == {"schemas": ["s"], "relations": {}}
        assert [path.name for path in journal.path.parent.iterdir() if path.name.startswith(".catalog-")] == []

    def test_a_journal_round_trips_and_a_missing_one_loads_empty(self, tmp_path: Path) -> None:
        journal = CatalogJournal(tmp_path / "state" / "_catalog.json")
        journal.load()
        assert (journal.schemas, journal.relations) == (set(), {})

        journal.schemas = {"b", "a"}
        journal.relations = {"a": {"t": CatalogEntry("table", location="/w/t")}, "b": {}}
        journal.save()
        again = CatalogJournal(journal.path)
        again.load()

        assert (again.schemas, again.relations) == ({"a", "b"}, {"a": {"t": CatalogEntry("table", location="/w/t")}})

    def test_restore_registers_schemas_tables_with_files_and_views_after_what_they_read(self, warehouse: Path) -> None:
        kept, lost = warehouse / "s" / "t-0123456789ab", warehouse / "s" / "lost-0123456789ab"
        kept.mkdir(parents=True)
        journal = CatalogJournal(warehouse.parent / "_catalog.json")
        journal.schemas = {"s"}
        journal.relations = {
            "s": {
                "lost": CatalogEntry("table", location=str(lost)),
                "t": CatalogEntry("table", location=str(kept)),
                "a_top": CatalogEntry("view", definition="select * from main.s.z_base"),
                "z_base": CatalogEntry("view", definition="select * from main.s.t"),
            }
        }
        journal.save()
        created: set[str] = set()

        def views_need_their_parents(sql: str) -> pa.Table | None:
            if sql.startswith("CREATE OR REPLACE VIEW `main`.`s`.`a_top`") and "z_base" not in created:
                raise SparkSqlError("[TABLE_OR_VIEW_NOT_FOUND] Table or view not found: z_base")
            created.update(name for name in ("a_top", "z_base") if f"`{name}` AS" in sql)
            return None

        spark = RecordingSpark("main", answer=views_need_their_parents)
        translator(spark, CatalogJournal(journal.path)).restore()

        assert spark.sent == [
            "CREATE SCHEMA IF NOT EXISTS `main`.`s`",
            f"CREATE TABLE `main`.`s`.`t` USING delta LOCATION '{kept}'",
            "CREATE OR REPLACE VIEW `main`.`s`.`a_top` AS select * from main.s.z_base",
            "CREATE OR REPLACE VIEW `main`.`s`.`z_base` AS select * from main.s.t",
            "CREATE OR REPLACE VIEW `main`.`s`.`a_top` AS select * from main.s.z_base",
        ]
