import re
from pathlib import Path
from typing import ClassVar

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.engines.publish import PublishStep, order_views, prod_differences, publish, rewrite_schemas
from quality.errors import PublishError

BASE = "audit_20261125t131000_ab12cd"
SCHEMA_MAP = {f"{BASE}_marts": "marts", f"{BASE}_staging": "staging", f"{BASE}_raw": "raw"}


def _steps() -> list[PublishStep]:
    return [
        PublishStep("model.p.stg_orders", "view", f"{BASE}_staging", "stg_orders", "staging", "stg_orders"),
        PublishStep("model.p.fct_orders", "table", f"{BASE}_marts", "fct_orders", "marts", "fct_orders", "backup_1"),
        PublishStep("raw.orders", "table", f"{BASE}_raw", "orders", "raw", "orders", "backup_1"),
    ]


@pytest.fixture
def engine(tmp_path: Path) -> DuckDBEngine:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    for schema in ("raw", "staging", "marts", *SCHEMA_MAP):
        engine.create_schema(schema)
    engine.execute("create table marts.fct_orders (order_id bigint primary key, amount decimal(18,2) not null)")
    engine.execute("insert into marts.fct_orders values (1, 10.00)")
    engine.execute(
        f'create table "{BASE}_raw".orders as select * from (values (1, 10.0), (2, 20.0)) t(order_id, amount)'
    )
    engine.execute(f'create view "{BASE}_staging".stg_orders as select order_id, amount from "{BASE}_raw".orders')
    engine.execute(
        f'create table "{BASE}_marts".fct_orders (order_id bigint primary key, amount decimal(18,2) not null)'
    )
    engine.execute(f'insert into "{BASE}_marts".fct_orders select order_id, amount from "{BASE}_staging".stg_orders')
    return engine


def test_rewrite_schemas_points_audit_sql_at_prod() -> None:
    sql = f'select * from "warehouse"."{BASE}_raw"."orders" join {BASE}_marts.x using (id)'
    assert rewrite_schemas(sql, SCHEMA_MAP) == 'select * from "warehouse"."raw"."orders" join marts.x using (id)'


def test_publish_switches_tables_and_views_and_keeps_constraints_and_a_backup(engine: DuckDBEngine) -> None:
    publish(engine, order_views(_steps(), {}), SCHEMA_MAP)
    assert engine.query("select order_id, amount from marts.fct_orders order by 1") == [(1, 10), (2, 20)]
    assert engine.query("select count(*) from staging.stg_orders") == [(2,)]
    assert "raw" in engine.table_sql("staging", "stg_orders")
    assert BASE not in engine.table_sql("staging", "stg_orders")
    assert "PRIMARY KEY" in engine.table_sql("marts", "fct_orders")
    assert engine.query("select order_id from backup_1.fct_orders") == [(1,)]


def test_a_failing_publish_changes_nothing_in_prod(engine: DuckDBEngine) -> None:
    broken = [*_steps(), PublishStep("model.p.gone", "table", f"{BASE}_marts", "missing", "marts", "missing")]
    with pytest.raises(Exception, match="missing"):
        publish(engine, order_views(broken, {}), SCHEMA_MAP)
    assert engine.query("select order_id, amount from marts.fct_orders") == [(1, 10)]
    assert not engine.relation_exists("staging", "stg_orders")
    assert "backup_1" not in engine.list_schemas()


def test_order_views_puts_tables_first_and_views_after_their_parents() -> None:
    steps = [
        PublishStep("model.p.int_b", "view", "a", "int_b", "p", "int_b"),
        PublishStep("model.p.stg_a", "view", "a", "stg_a", "p", "stg_a"),
        PublishStep("model.p.fct", "table", "a", "fct", "p", "fct"),
    ]
    ordered = order_views(steps, {"model.p.int_b": ["model.p.stg_a"]})
    assert [step.name for step in ordered] == ["fct", "stg_a", "int_b"]


class FakeDelta:
    """A Unity Catalog stand-in with Delta versions: what publish and restore use of the Databricks engine."""

    name = "databricks"
    database = "main"
    CLONE = re.compile(r"create or replace table `main`\.`(\w+)`\.`(\w+)` deep clone `main`\.`(\w+)`\.`(\w+)`")
    VIEW = re.compile(r"create or replace view `main`\.`(\w+)`\.`(\w+)` as (.*)", re.S)
    DROP = re.compile(r"drop (?:table|view) if exists `main`\.`(\w+)`\.`(\w+)`")
    ROWS: ClassVar[dict[str, int]] = {"audited orders": 3, "audited raw": 5, "audited new": 2}  # rows, by content

    def __init__(self, fail_on: str | None = None) -> None:
        self.tables: dict[tuple[str, str], list[str]] = {}  # every version's content, oldest first
        self.views: dict[tuple[str, str], str] = {}
        self.fail_on = fail_on

    def content(self, schema: str, name: str) -> str:
        return self.tables[(schema, name)][-1]

    def relation_ref(self, schema: str, name: str) -> str:
        return f"`main`.`{schema}`.`{name}`"

    def create_schema(self, schema: str) -> None:
        pass

    def relation_exists(self, schema: str, name: str) -> bool:
        return (schema, name) in self.tables or (schema, name) in self.views

    def table_versions(self, schema: str) -> dict[str, int]:
        return {name: len(versions) - 1 for (s, name), versions in self.tables.items() if s == schema}

    def query(self, sql: str) -> list[tuple[object]]:
        schema, name = re.findall(r"`(\w+)`", sql)[1:3]
        if sql.startswith("select count(*) from "):
            return [(self.ROWS[self.content(schema, name)],)]
        return [(f"CREATE VIEW `main`.`{schema}`.`{name}` AS {self.views[(schema, name)]}",)]

    def execute(self, sql: str) -> None:
        if self.fail_on and self.fail_on in sql:
            raise RuntimeError("[PERMISSION_DENIED] User does not have MODIFY on the table\nstack trace line")
        if match := self.CLONE.fullmatch(sql):
            schema, name, source_schema, source = match.groups()
            self.tables.setdefault((schema, name), []).append(self.content(source_schema, source))
        elif match := self.VIEW.fullmatch(sql):
            self.views[(match[1], match[2])] = match[3]
        elif match := self.DROP.fullmatch(sql):
            self.tables.pop((match[1], match[2]), None)
            self.views.pop((match[1], match[2]), None)
        else:
            raise AssertionError(f"unexpected statement: {sql}")

    def delta_restore(self, schema: str, table: str, version: int) -> None:
        versions = self.tables[(schema, table)]
        versions.append(versions[version])


def _delta_prod(fail_on: str | None = None) -> FakeDelta:
    delta = FakeDelta(fail_on)
    delta.tables[("marts", "fct_orders")] = ["orders v0", "orders v1"]
    delta.tables[("raw", "orders")] = ["raw v0"]
    delta.views[("staging", "stg_orders")] = "select 1 as prod_body"
    delta.tables[(f"{BASE}_marts", "fct_orders")] = ["audited orders"]
    delta.tables[(f"{BASE}_raw", "orders")] = ["audited raw"]
    delta.tables[(f"{BASE}_marts", "fct_new")] = ["audited new"]
    delta.views[(f"{BASE}_staging", "stg_orders")] = f"select order_id from {BASE}_raw.orders"
    return delta


def _delta_steps() -> list[PublishStep]:
    new = PublishStep("model.p.fct_new", "table", f"{BASE}_marts", "fct_new", "marts", "fct_new")
    return order_views([*_steps(), new], {})


def _prod_state(delta: FakeDelta) -> tuple[str, str, str, bool]:
    return (
        delta.content("marts", "fct_orders"),
        delta.content("raw", "orders"),
        delta.views[("staging", "stg_orders")],
        ("marts", "fct_new") in delta.tables,
    )


def test_databricks_publish_records_versions_and_row_counts_and_switches_every_relation() -> None:
    delta = _delta_prod()

    done = publish(delta, _delta_steps(), SCHEMA_MAP)

    assert _prod_state(delta) == ("audited orders", "audited raw", "select order_id from raw.orders", True)
    versions = {step.prod_name: step.prod_version for step in done if step.kind == "table"}
    assert versions == {"fct_orders": 1, "orders": 0, "fct_new": None}
    rows = {step.prod_name: step.rows for step in done}
    assert rows == {"fct_orders": 3, "orders": 5, "fct_new": 2, "stg_orders": None}


def test_databricks_rollback_check_names_a_table_whose_delta_version_moved_since_publish() -> None:
    delta = _delta_prod()
    done = publish(delta, _delta_steps(), SCHEMA_MAP)
    assert {step.prod_name: step.published_version for step in done if step.kind == "table"} == {
        "fct_orders": 2,
        "orders": 1,
        "fct_new": 0,
    }
    assert prod_differences(delta, done) == []

    delta.execute(f"create or replace table `main`.`marts`.`fct_orders` deep clone `main`.`{BASE}_marts`.`fct_orders`")

    assert prod_differences(delta, done) == [
        "marts.fct_orders is at Delta version 3, the record says publish left it at 2"
    ]


@pytest.mark.parametrize(
    "fail_on",
    ["`raw`.`orders` deep clone", "create or replace view `main`.`staging`"],
    ids=["second table", "the view after every table"],
)
def test_a_databricks_publish_failing_part_way_is_undone_and_says_so(fail_on: str) -> None:
    delta = _delta_prod(fail_on)
    before = _prod_state(delta)

    with pytest.raises(PublishError) as raised:
        publish(delta, _delta_steps(), SCHEMA_MAP)

    assert _prod_state(delta) == before, "every relation replaced before the failure is put back"
    message = str(raised.value)
    assert "Publishing to catalog main failed at " in message
    assert "[PERMISSION_DENIED] User does not have MODIFY on the table." in message
    assert "Nothing stays published" in message
    assert "stack trace line" not in message
