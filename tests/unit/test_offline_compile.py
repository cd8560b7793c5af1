"""What the offline Databricks compile answers for relations and columns, and that its patches are undone."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from quality.dbt.adapter import ExistingRelation, OfflineQueryError, offline_databricks
from quality.dbt.offline_compile import (
    catalog_columns,
    declared_columns,
    manifest_catalog,
    placeholder_environment,
    relations_from_manifest,
)


def node(name: str, kind: str = "model", materialized: str = "table", **extra: Any) -> dict[str, Any]:
    return {
        "unique_id": f"{kind}.shop.{name}",
        "resource_type": kind,
        "name": name,
        "alias": name,
        "database": "Prod",
        "schema": "Marts",
        "config": {"materialized": materialized},
        "columns": {},
        **extra,
    }


MANIFEST = {
    "nodes": {
        "model.shop.stg": node("stg", materialized="view", schema="staging"),
        "model.shop.fct": node("fct", materialized="incremental", alias="FCT_Orders"),
        "model.shop.eph": node("eph", materialized="ephemeral"),
        "model.shop.mv": node("mv", materialized="materialized_view"),
        "snapshot.shop.snap": node("snap", kind="snapshot", materialized="snapshot", schema="snapshots"),
        "test.shop.not_null": node("not_null", kind="test", materialized="test"),
    },
    "sources": {
        "source.shop.raw.orders": {
            "resource_type": "source",
            "name": "orders",
            "identifier": "orders_v2",
            "database": "prod",
            "schema": "raw",
        }
    },
}


def test_prod_relations_are_listed_per_schema_as_information_schema_would() -> None:
    assert relations_from_manifest(MANIFEST) == {
        ("prod", "staging"): [ExistingRelation("stg", "view", None, None)],
        ("prod", "marts"): [
            ExistingRelation("fct_orders", "table", "delta", "managed"),
            ExistingRelation("mv", "materialized_view", None, None),
        ],
        ("prod", "snapshots"): [ExistingRelation("snap", "table", "delta", "managed")],
        ("prod", "raw"): [ExistingRelation("orders_v2", "table", None, None)],
    }


def test_only_fully_typed_yaml_columns_count_as_known() -> None:
    typed = {"id": {"name": "id", "data_type": "bigint"}, "amount": {"name": "amount", "data_type": "decimal(18,2)"}}
    partly = {"id": {"name": "id", "data_type": "bigint"}, "note": {"name": "note", "data_type": None}}
    manifest = {"nodes": {"a": node("a", columns=typed), "b": node("b", columns=partly), "c": node("c")}}
    assert declared_columns(manifest) == {("prod", "marts", "a"): (("id", "bigint"), ("amount", "decimal(18,2)"))}


def test_catalog_columns_keep_table_order() -> None:
    catalog = {
        "nodes": {
            "model.shop.a": {
                "metadata": {"database": "Prod", "schema": "Marts", "name": "A"},
                "columns": {
                    "b": {"name": "b", "type": "string", "index": 2},
                    "a": {"name": "a", "type": "bigint", "index": 1},
                },
            }
        }
    }
    assert catalog_columns(catalog) == {("prod", "marts", "a"): (("a", "bigint"), ("b", "string"))}


def test_the_catalog_is_taken_from_the_prod_manifest_only_when_it_is_one() -> None:
    assert manifest_catalog(MANIFEST) == "Prod"
    mixed = {"nodes": {"a": node("a"), "b": node("b", database="other")}}
    assert manifest_catalog(mixed) is None
    assert manifest_catalog({}) is None


def test_placeholders_fill_only_unset_variables_and_leave_with_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "adb-1.azuredatabricks.net")
    monkeypatch.delenv("DBT_CATALOG", raising=False)
    monkeypatch.delenv("DATABRICKS_TOKEN", raising=False)
    with placeholder_environment("prod") as added:
        assert os.environ["DATABRICKS_HOST"] == "adb-1.azuredatabricks.net"
        assert os.environ["DBT_CATALOG"] == "prod"
        assert "DATABRICKS_HOST" not in added
        assert {"DBT_CATALOG", "DATABRICKS_TOKEN"} <= set(added)
    assert "DBT_CATALOG" not in os.environ
    assert "DATABRICKS_TOKEN" not in os.environ


def test_opening_a_session_names_the_node_and_the_adapter_is_whole_again_after() -> None:
    from dbt.adapters.databricks.connections import DatabricksConnectionManager
    from dbt.adapters.databricks.impl import DatabricksAdapter
    from dbt.adapters.databricks.spog import probe

    originals = (vars(DatabricksConnectionManager)["open"], DatabricksAdapter.get_columns_in_relation, probe.probe_host)
    connection: Any = SimpleNamespace(name="model.shop.fct")
    with offline_databricks():
        with pytest.raises(OfflineQueryError, match=r"^model\.shop\.fct needs the warehouse at compile time"):
            DatabricksConnectionManager.open(connection)
        assert probe.probe_host("dbc-x.cloud.databricks.com").host_type is None
    assert (vars(DatabricksConnectionManager)["open"], DatabricksAdapter.get_columns_in_relation, probe.probe_host) == (
        originals
    )
