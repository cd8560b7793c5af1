"""Constraints and transactions on the local Databricks SQL endpoint, through databricks-sql-connector, each
against the statement Databricks documents:

- NOT NULL added by `ALTER TABLE ... ALTER COLUMN ... SET NOT NULL` (how dbt-databricks adds a contract's)
  and CHECK constraints hold on every later write: INSERT, INSERT OVERWRITE, UPDATE, MERGE; a refused
  write fails with Delta's error class and leaves no Delta version (docs: "Constraints on Databricks");
- PRIMARY / FOREIGN KEY, COMMENT ON and DEEP CLONE refused where Databricks refuses them; SHOW
  TBLPROPERTIES with a key;
- `BEGIN ATOMIC ... END` (docs: "ATOMIC compound statement"): all statements commit, or none; the error is
  the failing statement's; only SELECT / INSERT / MERGE / UPDATE / DELETE inside; `catalogManaged` in
  DESCRIBE DETAIL for a table created with 'delta.feature.catalogManaged' = 'supported';
- an endpoint stopped inside a block rolls the block's tables back at its next start.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import pytest
from databricks.sql.exc import ServerOperationError

from tests.integration.local_databricks import Session, connect, on_local_endpoint, running_endpoint, unique_schema

pytestmark = on_local_endpoint("local_databricks_constraints")


@pytest.fixture
def orders(session: Session) -> Session:
    """`orders` with one row; `name` made NOT NULL after creation, as dbt-databricks does for a contract."""
    session.execute(f"create table {session.ref('orders')} (order_id bigint, name string, amount int) using delta")
    session.execute(f"insert into {session.ref('orders')} values (1, 'a', 10)")
    session.execute(f"alter table {session.ref('orders')} alter column name set not null")
    return session


def versions(session: Session, table: str) -> list[int]:
    return [row[0] for row in session.query(f"describe history {session.ref(table)}")]


def refused(session: Session, statement: str) -> str:
    with pytest.raises(ServerOperationError) as error:
        session.execute(statement)
    return str(error.value)


class TestNotNullAfterCreation:
    @pytest.mark.parametrize(
        "write",
        [
            "insert into {t} values (2, null, 20)",
            "insert into {t} select 2, cast(null as string), 20",
            "insert overwrite {t} select 2 as order_id, cast(null as string) as name, 20 as amount",
            "update {t} set name = null where order_id = 1",
            "merge into {t} as t using (select 2 as order_id, cast(null as string) as name, 20 as amount) as s "
            "on t.order_id = s.order_id when matched then update set * when not matched then insert *",
        ],
    )
    def test_a_null_write_fails_as_on_databricks_and_leaves_no_version(self, orders: Session, write: str) -> None:
        before = versions(orders, "orders")

        message = refused(orders, write.format(t=orders.ref("orders")))

        assert "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint violated for column: name." in message
        assert versions(orders, "orders") == before, "a refused write makes no Delta version"
        assert orders.query(f"select * from {orders.ref('orders')}") == [(1, "a", 10)]

    def test_set_not_null_on_a_column_holding_a_null_is_refused(self, orders: Session) -> None:
        orders.execute(f"insert into {orders.ref('orders')} values (2, 'b', null)")

        message = refused(orders, f"alter table {orders.ref('orders')} alter column amount set not null")

        assert "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED]" in message

    def test_drop_not_null_lets_nulls_in_again(self, orders: Session) -> None:
        orders.execute(f"alter table {orders.ref('orders')} alter column name drop not null")
        orders.execute(f"insert into {orders.ref('orders')} values (2, null, 20)")

        assert orders.query(f"select count(*) from {orders.ref('orders')} where name is null") == [(1,)]

    def test_good_writes_pass_and_a_check_constraint_holds_too(self, orders: Session) -> None:
        orders.execute(f"alter table {orders.ref('orders')} add constraint positive check (amount > 0)")
        orders.execute(f"insert into {orders.ref('orders')} values (2, 'b', 20)")

        message = refused(orders, f"update {orders.ref('orders')} set amount = -1 where order_id = 2")

        assert "[DELTA_VIOLATE_CONSTRAINT_WITH_VALUES]" in message
        assert orders.query(f"select amount from {orders.ref('orders')} order by 1") == [(10,), (20,)]


class TestRefusedDefinitions:
    def test_primary_key_on_a_missing_column(self, orders: Session) -> None:
        message = refused(orders, f"alter table {orders.ref('orders')} add constraint pk primary key (id)")

        assert "[UNRESOLVED_COLUMN.WITH_SUGGESTION]" in message

    def test_primary_key_on_a_nullable_column(self, orders: Session) -> None:
        message = refused(orders, f"alter table {orders.ref('orders')} add constraint pk primary key (order_id)")

        assert "Cannot create the primary key `pk` because its child column(s) `order_id` is nullable" in message

    def test_primary_key_on_a_not_null_column_is_accepted(self, orders: Session) -> None:
        orders.execute(f"alter table {orders.ref('orders')} alter column order_id set not null")
        orders.execute(f"alter table {orders.ref('orders')} add constraint pk primary key (order_id) rely")

    def test_trailing_text_after_the_constraint(self, orders: Session) -> None:
        message = refused(orders, f"alter table {orders.ref('orders')} add constraint pk primary key (name) oops")

        assert "[PARSE_SYNTAX_ERROR]" in message

    def test_foreign_key_to_a_missing_table(self, orders: Session) -> None:
        statement = (
            f"alter table {orders.ref('orders')} add constraint fk foreign key (order_id) "
            f"references {orders.ref('customers')} (customer_id)"
        )

        assert "TABLE_OR_VIEW_NOT_FOUND" in refused(orders, statement)

    def test_comment_on_a_missing_table_or_column(self, orders: Session) -> None:
        assert "TABLE_OR_VIEW_NOT_FOUND" in refused(orders, f"comment on table {orders.ref('nothing')} is 'x'")
        message = refused(orders, f"comment on column {orders.ref('orders')}.nothing is 'x'")
        assert "[UNRESOLVED_COLUMN.WITH_SUGGESTION]" in message

    def test_deep_clone_of_a_view(self, orders: Session) -> None:
        orders.execute(f"create view {orders.ref('v')} as select * from {orders.ref('orders')}")

        message = refused(orders, f"create table {orders.ref('c')} deep clone {orders.ref('v')}")

        assert "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE]" in message

    def test_show_tblproperties_honours_its_key(self, orders: Session) -> None:
        table = orders.ref("orders")
        orders.execute(f"alter table {table} set tblproperties ('team' = 'sales')")

        assert orders.query(f"show tblproperties {table} ('team')") == [("team", "sales")]
        assert orders.query(f"show tblproperties {table} ('owner')") == [
            ("owner", f"Table {table} does not have property: owner")
        ]


class TestAtomicBlocks:
    @pytest.fixture
    def tables(self, session: Session) -> Session:
        for name in ("a", "b"):
            session.execute(
                f"create table {session.ref(name)} (id bigint, note string) using delta "
                "tblproperties ('delta.feature.catalogManaged' = 'supported')"
            )
            session.execute(f"insert into {session.ref(name)} values (1, 'old')")
        session.execute(f"alter table {session.ref('b')} alter column note set not null")
        return session

    def test_catalog_commits_are_reported_as_databricks_reports_them(self, tables: Session) -> None:
        detail = tables.query(f"describe detail {tables.ref('a')}")[0]

        assert "catalogManaged" in detail[-1]
        assert tables.query(f"show tblproperties {tables.ref('a')} ('delta.feature.catalogManaged')") == [
            ("delta.feature.catalogManaged", "supported")
        ]

    def test_every_statement_commits(self, tables: Session) -> None:
        a, b = tables.ref("a"), tables.ref("b")

        tables.execute(
            f"BEGIN ATOMIC\n  DELETE FROM {a};\n  INSERT INTO {a} VALUES (2, 'new; really');\n"
            f"  UPDATE {b} SET note = 'new' WHERE id = 1;\nEND;"
        )

        assert tables.query(f"select * from {a}") == [(2, "new; really")]
        assert tables.query(f"select * from {b}") == [(1, "new")]

    def test_a_failing_statement_rolls_every_table_back_with_its_error(self, tables: Session) -> None:
        a, b = tables.ref("a"), tables.ref("b")
        before = {name: versions(tables, name) for name in ("a", "b")}

        message = refused(
            tables,
            f"BEGIN ATOMIC\n  DELETE FROM {a};\n  INSERT INTO {a} VALUES (2, 'new');\n"
            f"  MERGE INTO {b} USING (SELECT 1 AS id, 'x' AS note) s ON {b}.id = s.id WHEN MATCHED THEN UPDATE SET *;\n"
            f"  INSERT INTO {b} VALUES (3, NULL);\nEND;",
        )

        assert "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint violated for column: note." in message
        assert tables.query(f"select * from {a}") == [(1, "old")]
        assert tables.query(f"select * from {b}") == [(1, "old")]
        assert {name: versions(tables, name) for name in ("a", "b")} == before, "no version left behind"

    def test_ddl_inside_is_refused_before_anything_runs(self, tables: Session) -> None:
        a = tables.ref("a")

        message = refused(tables, f"BEGIN ATOMIC DELETE FROM {a}; CREATE TABLE {tables.ref('c')} (x int); END;")

        assert "[TRANSACTION_NOT_SUPPORTED.COMMAND] Command `CREATE TABLE` is not supported" in message
        assert tables.query(f"select * from {a}") == [(1, "old")]


def test_an_endpoint_stopped_inside_a_block_rolls_it_back_at_its_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, schema = tmp_path / "warehouse", unique_schema("interrupted")
    with running_endpoint(state_dir=state) as endpoint, closing(connect(endpoint)) as connection:
        session = Session(connection, schema)
        session.execute(f"create schema main.{schema}")
        session.execute(f"create table {session.ref('t')} (id bigint) using delta")
        session.execute(f"insert into {session.ref('t')} values (1)")
    monkeypatch.setenv("QUALITY_TEST_CRASH_AT", "atomic_after_first_write")
    with running_endpoint(state_dir=state) as endpoint:
        connection = connect(endpoint, _retry_stop_after_attempts_count=1, _socket_timeout=10)
        with pytest.raises(Exception):  # noqa: B017, PT011 - the endpoint is gone: whatever the connector says
            Session(connection, schema).execute(f"BEGIN ATOMIC DELETE FROM main.{schema}.t; END;")
        deadline = time.monotonic() + 30
        while endpoint.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not endpoint.alive(), "the endpoint stopped inside the block (the test hook)"
    monkeypatch.delenv("QUALITY_TEST_CRASH_AT")

    with running_endpoint(state_dir=state) as endpoint, closing(connect(endpoint)) as connection:
        assert "stopped inside a BEGIN ATOMIC block" in endpoint.ready["notice"]
        assert f"`main`.`{schema}`.`t` (version 1)" in endpoint.ready["notice"]
        session = Session(connection, schema)
        assert session.query(f"select * from {session.ref('t')}") == [(1,)]
        assert [row[0] for row in session.query(f"describe history {session.ref('t')}")] == [1, 0]
    assert not (state / "_atomic_block.json").exists()
