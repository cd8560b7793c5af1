"""The smoke connection on the local Databricks SQL endpoint: `open_engine(read_only=True)` runs the smoke
reads and Great Expectations' SQL (through the guarded connector connections) and refuses a write in the
client, so the table is untouched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from quality.dbt.targets import Target
from quality.engines.factory import open_engine
from quality.engines.read_only import ReadOnlyEngine, ReadOnlyError
from quality.wap.smoke import count_rows
from tests.integration.local_databricks import on_local_endpoint, unique_schema
from tests.integration.test_local_databricks_engine import endpoint, orders_manifest, target

pytestmark = on_local_endpoint("local_databricks_read_only", slow=True)
__all__ = ["endpoint", "target"]  # module fixtures shared with the engine tests


@pytest.fixture(scope="module")
def orders_schema(target: Target) -> Iterator[str]:
    writer = open_engine(target)
    schema = unique_schema("smoke")
    writer.create_schema(schema)
    orders = writer.relation_ref(schema, "orders")
    writer.execute(f"create table {orders} (order_id bigint, status string, total decimal(18, 2)) using delta")
    writer.execute(f"insert into {orders} values (1, 'shipped', 10.00), (2, 'placed', 3.50)")
    yield schema
    writer.drop_schema(schema)
    writer.close()


def test_smoke_reads_and_gx_pass_the_guard_and_a_write_is_refused(target: Target, orders_schema: str) -> None:
    from quality.expectations.spec import check_suites
    from quality.expectations.validate import validate_models

    engine = open_engine(target, read_only=True)
    try:
        assert isinstance(engine, ReadOnlyEngine)
        assert count_rows(engine, [f"{orders_schema}.orders"]) == {f"{orders_schema}.orders": 2}
        manifest = orders_manifest(orders_schema)
        report = validate_models(check_suites(manifest), manifest, engine, data_docs_dir=None, run_name="smoke")
        assert report.errors == []
        assert [result.success for result in report.results] == [True] * 6
        with pytest.raises(ReadOnlyError, match="refused a DELETE statement"):
            engine.execute(f"delete from {engine.relation_ref(orders_schema, 'orders')}")
        assert count_rows(engine, [f"{orders_schema}.orders"]) == {f"{orders_schema}.orders": 2}
    finally:
        engine.close()
