from pathlib import Path

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.engines.publish import PublishStep, order_views, publish, rewrite_schemas

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
