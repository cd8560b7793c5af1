"""The harness' Databricks engine against the local Databricks SQL endpoint instead of regex fakes: the
`local_databricks` target opened as any Databricks target (`open_engine`, preflight included), schemas,
relations, fixture loading, Delta time travel, publish and its undo, the smoke and diff reads, and Great
Expectations validating a table in the endpoint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from quality.dbt.project import load_project
from quality.dbt.targets import Target, resolve_target
from quality.emulator.endpoint import LocalEndpoint
from quality.engines.databricks import DatabricksEngine
from quality.engines.factory import open_engine
from quality.engines.publish import PublishStep, publish, restore
from quality.errors import PublishError
from quality.wap.diff import ModelDiff, diff_model
from quality.wap.smoke import actual_columns, count_rows
from tests.integration.local_databricks import on_local_endpoint, running_endpoint, unique_schema

# One endpoint and one engine for the module: its tests run on one worker under `--dist loadgroup`.
pytestmark = on_local_endpoint("local_databricks_engine")

ROOT = Path(__file__).resolve().parents[2]
STORES = ROOT / "tests" / "fixtures" / "raw" / "stores.csv"
UTC = dt.UTC


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    with running_endpoint(all_variables=True) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def target(endpoint: LocalEndpoint) -> Target:
    return resolve_target(load_project(ROOT / "dbt"), "local_databricks")


@pytest.fixture(scope="module")
def engine(target: Target) -> Iterator[DatabricksEngine]:
    engine = open_engine(target)
    assert isinstance(engine, DatabricksEngine)
    yield engine
    engine.close()


@pytest.fixture
def schemas(engine: DatabricksEngine) -> Iterator[list[str]]:
    """Schemas the test creates (append their names); dropped afterwards."""
    created: list[str] = []
    yield created
    for schema in created:
        engine.drop_schema(schema)


def new_schema(engine: DatabricksEngine, schemas: list[str], prefix: str) -> str:
    schema = unique_schema(prefix)
    engine.create_schema(schema)
    schemas.append(schema)
    return schema


def rows(
    engine: DatabricksEngine, schema: str, table: str, columns: str = "*", order: str = "1"
) -> list[tuple[Any, ...]]:
    return engine.query(f"select {columns} from {engine.relation_ref(schema, table)} order by {order}")


class TestTarget:
    def test_local_databricks_resolves_to_the_endpoint_with_the_profiles_connection_parameters(
        self, endpoint: LocalEndpoint, target: Target, engine: DatabricksEngine
    ) -> None:
        assert target.databricks is not None
        assert (target.engine, target.databricks.host, target.databricks.catalog) == (
            "databricks",
            endpoint.host,
            "main",
        )
        profile = yaml.safe_load((ROOT / "dbt" / "profiles.yml").read_text(encoding="utf-8"))
        assert (
            target.databricks.connection_parameters
            == profile["retail"]["outputs"]["local_databricks"]["connection_parameters"]
        )
        assert engine.connect_arguments()["use_sea"] is True
        assert engine.query("select current_catalog() = 'main', 40 + 2") == [(True, 42)]


class TestSchemasAndRelations:
    def test_a_schema_is_created_listed_and_dropped_with_its_relations(self, engine: DatabricksEngine) -> None:
        schema = unique_schema("eph")
        engine.create_schema(schema)
        engine.execute(f"create table {engine.relation_ref(schema, 't')} (id int) using delta")
        assert schema in engine.list_schemas()

        engine.drop_schema(schema)

        assert schema not in engine.list_schemas()
        assert engine.list_relations(schema) == []

    def test_relations_are_listed_by_kind_and_found_by_name_in_any_case(
        self, engine: DatabricksEngine, schemas: list[str]
    ) -> None:
        schema = new_schema(engine, schemas, "rel")
        engine.execute(f"create table {engine.relation_ref(schema, 'orders')} (id int) using delta")
        engine.execute(
            f"create view {engine.relation_ref(schema, 'active_orders')} as select id from "
            f"{engine.relation_ref(schema, 'orders')}"
        )

        assert engine.list_relations(schema) == [("active_orders", "view"), ("orders", "table")]
        assert engine.list_relations(schema.upper()) == [("active_orders", "view"), ("orders", "table")]
        assert engine.relation_exists(schema, "Orders") is True
        assert engine.relation_exists(schema, "active_orders") is True
        assert engine.relation_exists(schema, "missing") is False


class TestLoading:
    def test_a_fixture_csv_loads_with_iso_dates_and_timestamps_typed(
        self, engine: DatabricksEngine, schemas: list[str]
    ) -> None:
        schema = new_schema(engine, schemas, "raw")

        assert engine.load_csv(schema, "stores", STORES) == 15

        columns = engine.query(
            "select column_name, full_data_type from main.information_schema.columns "
            "where table_schema = ? and table_name = 'stores' order by ordinal_position",
            [schema],
        )
        assert columns == [
            ("store_id", "bigint"),
            ("store_name", "string"),
            ("store_type", "string"),
            ("city", "string"),
            ("country_code", "string"),
            ("opened_on", "date"),
            ("updated_at", "timestamp"),
            ("_loaded_at", "timestamp"),
        ]
        assert rows(engine, schema, "stores")[0] == (
            1,
            "Store 001",
            "online",
            "Madrid",
            "ES",
            dt.date(2020, 4, 9),
            dt.datetime(2020, 4, 9, 16, 5, 32, tzinfo=UTC),
            dt.datetime(2026, 1, 1, 6, 0, tzinfo=UTC),
        )
        assert engine.query(
            f"select count(*), count(distinct store_id) from {engine.relation_ref(schema, 'stores')}"
        ) == [(15, 15)]

    def test_a_frame_is_appended_without_replace_in_insert_batches(
        self, engine: DatabricksEngine, schemas: list[str]
    ) -> None:
        schema = new_schema(engine, schemas, "frame")
        first = pd.DataFrame({"id": [1, 2], "amount": [Decimal("1.50"), None], "note": ["it's", "C:\\x"]})
        engine.max_params_per_insert = 3  # one row per INSERT
        try:
            engine.load_frame(schema, "t", first)
            engine.load_frame(schema, "t", first.assign(id=[3, 4]), replace=False)
        finally:
            engine.max_params_per_insert = 10_000

        assert rows(engine, schema, "t") == [
            (1, Decimal("1.50"), "it's"),
            (2, None, "C:\\x"),
            (3, Decimal("1.50"), "it's"),
            (4, None, "C:\\x"),
        ]


class TestTimeTravel:
    def test_table_versions_gives_each_delta_tables_current_version_and_skips_views(
        self, engine: DatabricksEngine, schemas: list[str]
    ) -> None:
        schema = new_schema(engine, schemas, "tt")
        engine.load_csv(schema, "stores", STORES)  # version 0 create, version 1 insert
        engine.execute(f"create table {engine.relation_ref(schema, 'empty')} (id int) using delta")
        engine.execute(f"create view {engine.relation_ref(schema, 'v')} as select 1 as x")

        assert engine.table_versions(schema) == {"empty": 0, "stores": 1}

    def test_delta_restore_brings_back_the_rows_of_a_version(
        self, engine: DatabricksEngine, schemas: list[str]
    ) -> None:
        schema = new_schema(engine, schemas, "tt")
        engine.load_csv(schema, "stores", STORES)
        engine.execute(f"delete from {engine.relation_ref(schema, 'stores')} where store_id > 2")

        engine.delta_restore(schema, "stores", 1)

        assert engine.query(f"select count(*) from {engine.relation_ref(schema, 'stores')}") == [(15,)]
        assert engine.table_versions(schema) == {"stores": 3}


@pytest.fixture
def audit(engine: DatabricksEngine, schemas: list[str]) -> tuple[str, str]:
    """An audit schema with table `stores` (15 rows) and view `online_stores`; and the prod schema to publish to."""
    audit, prod = new_schema(engine, schemas, "audit"), unique_schema("prod")
    schemas.append(prod)
    engine.load_csv(audit, "stores", STORES)
    engine.execute(
        f"create view {engine.relation_ref(audit, 'online_stores')} as select store_id, city from "
        f"{engine.relation_ref(audit, 'stores')} where store_type = 'online'"
    )
    return audit, prod


def steps(audit: str, prod: str) -> list[PublishStep]:
    return [
        PublishStep("model.retail.stores", "table", audit, "stores", prod, "stores"),
        PublishStep("model.retail.online_stores", "view", audit, "online_stores", prod, "online_stores"),
    ]


class TestPublish:
    def test_publish_deep_clones_tables_and_points_views_at_prod(
        self, engine: DatabricksEngine, audit: tuple[str, str]
    ) -> None:
        audit_schema, prod = audit

        published = publish(engine, steps(audit_schema, prod), {audit_schema: prod})

        assert [(step.prod_name, step.prod_version) for step in published] == [
            ("stores", None),
            ("online_stores", None),
        ]
        assert engine.list_relations(prod) == [("online_stores", "view"), ("stores", "table")]
        assert rows(engine, prod, "stores", "count(*)") == [(15,)]
        [(definition,)] = engine.query(f"show create table {engine.relation_ref(prod, 'online_stores')}")
        assert definition == (
            f"CREATE VIEW `main`.`{prod}`.`online_stores` AS select store_id, city from `main`.`{prod}`.`stores` "
            "where store_type = 'online'"
        )
        assert rows(engine, prod, "online_stores", order="store_id") == rows(
            engine, audit_schema, "online_stores", order="store_id"
        )

    def test_a_second_publish_records_the_version_it_replaced_and_restore_goes_back(
        self, engine: DatabricksEngine, audit: tuple[str, str]
    ) -> None:
        audit_schema, prod = audit
        first = publish(engine, steps(audit_schema, prod), {audit_schema: prod})
        engine.execute(f"delete from {engine.relation_ref(audit_schema, 'stores')} where store_id > 3")
        second = publish(engine, steps(audit_schema, prod), {audit_schema: prod})
        assert [step.prod_version for step in second] == [0, None]
        assert rows(engine, prod, "stores", "count(*)") == [(3,)]

        assert restore(engine, second) == [f"{prod}.stores"]
        assert rows(engine, prod, "stores", "count(*)") == [(15,)]

        assert restore(engine, first) == [f"{prod}.stores"]  # it was new: the undo drops it; views stay
        assert engine.list_relations(prod) == [("online_stores", "view")]

    def test_a_publish_that_fails_part_way_puts_prod_back(
        self, engine: DatabricksEngine, audit: tuple[str, str]
    ) -> None:
        audit_schema, prod = audit
        publish(engine, steps(audit_schema, prod), {audit_schema: prod})
        engine.execute(f"delete from {engine.relation_ref(audit_schema, 'stores')} where store_id > 3")
        broken = [
            *steps(audit_schema, prod),
            PublishStep("model.retail.gone", "table", audit_schema, "gone", prod, "gone"),
        ]

        with pytest.raises(PublishError) as caught:
            publish(engine, broken, {audit_schema: prod})

        assert str(caught.value).startswith(f"Publishing to catalog main failed at {prod}.gone: ")
        assert (
            "Nothing stays published: 1 table(s) restored to their versions before this run and 1 view(s) put back"
            in str(caught.value)
        )
        assert rows(engine, prod, "stores", "count(*)") == [(15,)]
        assert engine.list_relations(prod) == [("online_stores", "view"), ("stores", "table")]

    def test_publish_records_the_rows_of_each_table_for_prod_smoke(
        self, engine: DatabricksEngine, audit: tuple[str, str]
    ) -> None:
        audit_schema, prod = audit

        published = publish(engine, steps(audit_schema, prod), {audit_schema: prod})

        assert [step.rows for step in published if step.kind == "table"] == [15]


class TestProdReads:
    def test_smoke_reads_columns_and_row_counts_of_prod_tables(
        self, engine: DatabricksEngine, audit: tuple[str, str]
    ) -> None:
        audit_schema, _ = audit

        assert actual_columns(engine, audit_schema, "stores") == {
            "store_id": "bigint",
            "store_name": "string",
            "store_type": "string",
            "city": "string",
            "country_code": "string",
            "opened_on": "date",
            "updated_at": "timestamp",
            "_loaded_at": "timestamp",
        }
        assert count_rows(engine, [f"{audit_schema}.stores", f"{audit_schema}.missing"]) == {
            f"{audit_schema}.stores": 15
        }

    def test_the_data_diff_counts_added_removed_and_changed_rows_by_key(
        self, engine: DatabricksEngine, schemas: list[str]
    ) -> None:
        schema = new_schema(engine, schemas, "diff")
        prod, pr = engine.relation_ref(schema, "prod_orders"), engine.relation_ref(schema, "pr_orders")
        engine.execute(
            f"create table {prod} using delta as select * from values (1, 'a', 1.0), (2, 'b', 2.0), (3, 'c', 3.0) as t(id, status, amount)"
        )
        engine.execute(
            f"create table {pr} using delta as select * from values "
            "(1, 'a', 1.0, 'x'), (2, 'B', 2.0, 'y'), (4, 'd', 4.0, 'z') as t(id, status, amount, extra)"
        )

        diff = diff_model(
            engine,
            ModelDiff("orders", ["id"], pr, prod),
            ["id", "status", "amount", "extra"],
            ["id", "status", "amount"],
        )

        assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 1, 1, 1)
        assert (diff.column_changes, diff.new_columns, diff.dropped_columns) == ({"status": 1}, ["extra"], [])


def orders_manifest(schema: str) -> dict[str, Any]:
    """A dbt manifest with one model whose relation is the endpoint's `main.<schema>.orders`."""
    meta = {
        "quality": {
            "expectations": [
                {"expectation": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10}},
                {"expectation": "unexpected_rows", "query": "select order_id, total from {batch} where total < 0"},
            ]
        }
    }

    def column(name: str, *expectations: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "meta": {"quality": {"expectations": list(expectations)}} if expectations else {}}

    node = {
        "unique_id": "model.retail.orders",
        "resource_type": "model",
        "name": "orders",
        "package_name": "retail",
        "database": "main",
        "schema": schema,
        "alias": "orders",
        "relation_name": f"`main`.`{schema}`.`orders`",
        "config": {"meta": meta},
        "meta": meta,
        "columns": {
            "order_id": column("order_id", {"expectation": "expect_column_values_to_be_unique"}),
            "status": column(
                "status",
                {"expectation": "expect_column_values_to_not_be_null"},
                {"expectation": "expect_column_values_to_be_in_set", "kwargs": {"value_set": ["placed", "shipped"]}},
            ),
            "total": column("total", {"expectation": "expect_column_values_to_be_between", "kwargs": {"min_value": 0}}),
        },
    }
    return {"nodes": {node["unique_id"]: node}, "sources": {}}


@pytest.mark.slow
def test_great_expectations_validates_a_table_in_the_endpoint(engine: DatabricksEngine, schemas: list[str]) -> None:
    from quality.expectations.spec import check_suites
    from quality.expectations.validate import validate_models

    schema = new_schema(engine, schemas, "gx")
    orders = engine.relation_ref(schema, "orders")
    engine.execute(f"create table {orders} (order_id bigint, status string, total decimal(18, 2)) using delta")
    engine.execute(
        f"insert into {orders} values (1, 'shipped', 10.00), (2, 'placed', -1.00), (2, 'lost', 3.50), (3, null, 4.00)"
    )
    manifest = orders_manifest(schema)

    report = validate_models(check_suites(manifest), manifest, engine, data_docs_dir=None, run_name="endpoint")

    outcomes = [
        (r.column, r.expectation, r.success, r.observed_value, r.unexpected_count, r.unexpected_sample)
        for r in report.results
    ]
    assert outcomes == [
        (None, "expect_table_row_count_to_be_between", True, 4, None, ()),
        (None, "unexpected_rows", False, 1, 1, ({"order_id": 2, "total": Decimal("-1.00")},)),
        ("order_id", "expect_column_values_to_be_unique", False, None, 2, (2, 2)),
        ("status", "expect_column_values_to_not_be_null", False, None, 1, (None,)),
        ("status", "expect_column_values_to_be_in_set", False, None, 1, ("lost",)),
        ("total", "expect_column_values_to_be_between", False, None, 1, (Decimal("-1.00"),)),
    ]
    assert report.errors == []
    assert report.ok is False
