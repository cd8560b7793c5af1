"""The publish plan check: one prod relation is written by one audit relation, raw tables never land on a
node's relation, and nothing is written into a schema the project does not own."""

from __future__ import annotations

from typing import Any

import pytest

from quality.engines.publish import PublishStep
from quality.wap.publish_plan import PublishPlanError, check_publish_plan

PROD: dict[str, Any] = {
    "nodes": {
        "snapshot.shop.customers_snapshot": {
            "resource_type": "snapshot",
            "name": "customers_snapshot",
            "schema": "snapshots",
            "alias": "customers_snapshot",
            "original_file_path": "snapshots/customers_snapshot.yml",
            "config": {"materialized": "snapshot"},
        },
        "model.shop.orders": {
            "resource_type": "model",
            "name": "orders",
            "schema": "marts",
            "alias": "orders",
            "original_file_path": "models/orders.sql",
            "config": {"materialized": "table"},
        },
        "model.shop.orders_v2": {
            "resource_type": "model",
            "name": "orders_v2",
            "schema": "marts",
            "alias": "orders",
            "original_file_path": "models/orders_v2.sql",
            "config": {"materialized": "table"},
        },
    },
    "sources": {"source.shop.raw.customers": {"schema": "raw"}, "source.shop.snaps.x": {"schema": "snapshots"}},
}


def step(unique_id: str, audit: str, name: str, prod_schema: str, prod_name: str) -> PublishStep:
    return PublishStep(unique_id, "table", audit, name, prod_schema, prod_name)


SNAPSHOT = step(
    "snapshot.shop.customers_snapshot", "a_snapshots", "customers_snapshot", "snapshots", "customers_snapshot"
)
RAW_STAND_IN = step("raw.customers_snapshot", "a_raw", "customers_snapshot", "snapshots", "customers_snapshot")


def test_a_raw_table_and_a_snapshot_onto_one_relation_are_refused_naming_both() -> None:
    with pytest.raises(PublishPlanError) as refused:
        check_publish_plan([SNAPSHOT, RAW_STAND_IN], PROD, target="local")
    message = str(refused.value)
    assert "would write 2 relations onto one prod relation snapshots.customers_snapshot" in message
    assert "snapshot customers_snapshot (a_snapshots.customers_snapshot, snapshots/customers_snapshot.yml)" in message
    assert "the raw table customers_snapshot (a_raw.customers_snapshot, loaded from the raw fixtures)" in message
    assert "rename or remove the fixture" in message


def test_a_raw_table_onto_a_nodes_relation_is_refused_even_when_the_node_is_not_published_this_run() -> None:
    with pytest.raises(PublishPlanError, match=r"onto snapshots\.customers_snapshot, the prod relation of snapshot"):
        check_publish_plan([RAW_STAND_IN], PROD, target="local")


def test_two_models_with_one_alias_are_refused() -> None:
    steps = [
        step("model.shop.orders", "a_marts", "orders", "marts", "orders"),
        step("model.shop.orders_v2", "a_marts", "orders_v2", "marts", "orders"),
    ]
    with pytest.raises(PublishPlanError, match="Give the nodes different aliases or schemas"):
        check_publish_plan(steps, PROD, target="local")


def test_a_schema_the_project_does_not_own_is_refused() -> None:
    stray = step("raw.payments", "a_raw", "payments", "finance", "payments")
    with pytest.raises(PublishPlanError, match="into schema finance, which is neither"):
        check_publish_plan([stray], PROD, target="local")


def test_a_plan_of_distinct_owned_relations_passes() -> None:
    raw = step("raw.customers", "a_raw", "customers", "raw", "customers")
    check_publish_plan(
        [SNAPSHOT, raw, step("model.shop.orders", "a_marts", "orders", "marts", "orders")], PROD, target="x"
    )
