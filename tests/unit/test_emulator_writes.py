"""What the endpoint reads from the statements it checks itself, without Sail: a BEGIN ATOMIC block split
into its statements (and the commands Databricks refuses in one), the PRIMARY / FOREIGN KEY clause as
Databricks' grammar allows it, the catalog-commits property kept under the endpoint's name, and the Delta
log rewound as a refused write leaves it. The endpoint tests run the same statements on Sail for real
(tests/integration/test_local_databricks_constraints.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from quality.emulator import atomic, delta_log, gaps
from quality.emulator.spark import SparkSqlError
from tests.unit.test_emulator_statements import RecordingSpark, translator, warehouse

__all__ = ["warehouse"]  # the fixture, shared


class TestAtomicBlock:
    def test_a_block_is_split_at_semicolons_outside_strings_names_and_comments(self) -> None:
        block = gaps.strip_comments(
            "/* dbt */ BEGIN ATOMIC\n  DELETE FROM `a;b`.t;\n  INSERT INTO t VALUES ('x; y');\n"
            "  -- a comment; with a semicolon\n  UPDATE log SET s = 'published' WHERE id = 'r1';\nEND;"
        )

        assert atomic.is_block(block)
        assert atomic.statements(block) == [
            "DELETE FROM `a;b`.t",
            "INSERT INTO t VALUES ('x; y')",
            "UPDATE log SET s = 'published' WHERE id = 'r1'",
        ]

    @pytest.mark.parametrize(
        "statement", ["SELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x", "INSERT INTO t SELECT 1", "MERGE INTO t"]
    )
    def test_dml_and_queries_may_run_inside(self, statement: str) -> None:
        assert atomic.refused(statement) is None

    @pytest.mark.parametrize(
        ("statement", "command"),
        [
            ("CREATE TABLE t (a int)", "CREATE TABLE"),
            ("create or replace table t deep clone s", "CREATE OR"),
            ("RESTORE TABLE t TO VERSION AS OF 1", "RESTORE TABLE"),
            ("ALTER TABLE t SET TBLPROPERTIES ('a' = 'b')", "ALTER TABLE"),
        ],
    )
    def test_any_other_command_is_refused_with_databricks_error(self, statement: str, command: str) -> None:
        error = atomic.refused(statement)

        assert error is not None
        assert error.error_class == "TRANSACTION_NOT_SUPPORTED.COMMAND"
        assert error.sql_state == "0A000"
        assert f"Command `{command}` is not supported in a transaction" in error.message

    def test_a_refused_command_fails_the_block_before_any_statement_runs(self, warehouse: Path) -> None:
        spark = RecordingSpark("main")

        with pytest.raises(SparkSqlError, match=r"TRANSACTION_NOT_SUPPORTED\.COMMAND"):
            translator(spark).run("BEGIN ATOMIC INSERT INTO s.t VALUES (1); CREATE VIEW s.v AS SELECT 1; END;")

        assert spark.sent == []


def _table(**columns: tuple[pa.DataType, bool]) -> pa.Table:
    schema = pa.schema([pa.field(name, kind, nullable) for name, (kind, nullable) in columns.items()])
    return schema.empty_table()


def _spark(columns: pa.Table, missing: str = "missing") -> RecordingSpark:
    def answer(sql: str) -> pa.Table | None:
        if missing in sql:
            raise SparkSqlError(
                f"[TABLE_OR_VIEW_NOT_FOUND] Table or view not found: {missing}", "TABLE_OR_VIEW_NOT_FOUND"
            )
        return columns if sql.endswith("LIMIT 0") else None

    return RecordingSpark("main", answer=answer)


ORDERS = _table(order_id=(pa.int64(), False), note=(pa.string(), True))


class TestKeys:
    @pytest.mark.parametrize(
        "clause",
        [
            "PRIMARY KEY (order_id)",
            "PRIMARY KEY (`order_id`) NOT ENFORCED RELY",
            "primary key (order_id timeseries) deferrable initially deferred norely",
            "FOREIGN KEY (order_id) REFERENCES main.s.parent (id) MATCH FULL ON DELETE NO ACTION",
            "FOREIGN KEY (note) REFERENCES s.parent NOT ENFORCED",
        ],
    )
    def test_what_the_grammar_allows_is_accepted(self, warehouse: Path, clause: str) -> None:
        translator(_spark(ORDERS)).run(f"ALTER TABLE main.s.orders ADD CONSTRAINT k {clause}")

    def test_text_after_the_clause_is_a_syntax_error(self, warehouse: Path) -> None:
        with pytest.raises(SparkSqlError) as refused:
            translator(_spark(ORDERS)).run("ALTER TABLE main.s.orders ADD CONSTRAINT pk PRIMARY KEY (order_id) garbage")

        assert (refused.value.error_class, refused.value.sql_state) == ("PARSE_SYNTAX_ERROR", "42601")
        assert "'garbage'" in refused.value.message

    def test_a_key_column_the_table_lacks_is_unresolved(self, warehouse: Path) -> None:
        with pytest.raises(SparkSqlError) as refused:
            translator(_spark(ORDERS)).run("ALTER TABLE main.s.orders ADD CONSTRAINT pk PRIMARY KEY (id)")

        assert refused.value.error_class == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
        assert "`id`" in refused.value.message
        assert "[`order_id`, `note`]" in refused.value.message

    def test_a_nullable_primary_key_column_is_refused(self, warehouse: Path) -> None:
        with pytest.raises(SparkSqlError) as refused:
            translator(_spark(ORDERS)).run("ALTER TABLE main.s.orders ADD CONSTRAINT pk PRIMARY KEY (order_id, note)")

        assert refused.value.message == (
            "Cannot create the primary key `pk` because its child column(s) `note` is nullable. Please change the "
            "column nullability and retry."
        )

    def test_a_foreign_key_to_a_missing_table_is_refused(self, warehouse: Path) -> None:
        with pytest.raises(SparkSqlError) as refused:
            translator(_spark(ORDERS)).run(
                "ALTER TABLE main.s.orders ADD CONSTRAINT fk FOREIGN KEY (order_id) REFERENCES main.s.missing (id)"
            )

        assert refused.value.error_class == "TABLE_OR_VIEW_NOT_FOUND"


class TestCatalogCommits:
    def test_the_property_is_kept_under_the_endpoints_name_in_create_and_alter_only(self) -> None:
        assert (
            gaps.sail_spelling(
                "CREATE TABLE t (a int) USING DELTA TBLPROPERTIES ('delta.feature.catalogManaged' = 'supported')"
            )
            == f"CREATE TABLE t (a int) USING DELTA TBLPROPERTIES ('{delta_log.CATALOG_MANAGED}' = 'supported')"
        )
        assert "'quality.emulator.catalogManaged'" in gaps.sail_spelling(
            "alter table t set tblproperties ('delta.feature.catalogManaged' = 'supported')"
        )
        assert gaps.sail_spelling("select 'delta.feature.catalogManaged'") == "select 'delta.feature.catalogManaged'"


class TestRewind:
    def test_commits_and_checkpoints_after_the_version_go_and_nothing_before(self, tmp_path: Path) -> None:
        log = tmp_path / "_delta_log"
        log.mkdir()
        names = [f"{v:020d}.{ext}" for v in range(13) for ext in ("json", "crc")]
        for name in [*names, f"{10:020d}.checkpoint.parquet"]:
            (log / name).write_text("{}")
        (log / "_last_checkpoint").write_text(json.dumps({"version": 10, "size": 3}))

        removed = delta_log.rewind(tmp_path, 9)

        assert removed == [10, 11, 12]
        assert sorted(p.name for p in log.iterdir()) == sorted(names[:20])
        assert delta_log.version(tmp_path) == 9

    def test_a_checkpoint_before_the_version_stays(self, tmp_path: Path) -> None:
        log = tmp_path / "_delta_log"
        log.mkdir()
        for v in range(12):
            (log / f"{v:020d}.json").write_text("{}")
        (log / f"{10:020d}.checkpoint.parquet").write_text("")
        (log / "_last_checkpoint").write_text(json.dumps({"version": 10}))

        delta_log.rewind(tmp_path, 10)

        assert (log / "_last_checkpoint").exists()
        assert delta_log.version(tmp_path) == 10
