"""check_suites: expectations declared in model YAML, read from a dbt 1.11-shaped manifest, no GX import."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from quality.errors import ExpectationConfigError, HarnessError
from quality.expectations.relations import Relation
from quality.expectations.spec import ExpectationSpec, check_suites, rebind_suites

BASE = "ci_20261125t131000_ab12cd"


def model_node(
    name: str,
    columns: dict[str, list[dict[str, Any]]] | None = None,
    expectations: list[dict[str, Any]] | None = None,
    *,
    base: str = BASE,
    resource_type: str = "model",
    materialized: str = "table",
) -> dict[str, Any]:
    """A manifest node as dbt 1.11 writes it: meta mirrored in `config.meta` and `meta`."""
    schema = f"{base}_marts"
    meta = {"quality": {"expectations": expectations}} if expectations is not None else {}
    ephemeral = materialized == "ephemeral"
    return {
        "unique_id": f"{resource_type}.retail.{name}",
        "resource_type": resource_type,
        "name": name,
        "package_name": "retail",
        "database": "warehouse",
        "schema": schema,
        "alias": name,
        "relation_name": None if ephemeral else f'"warehouse"."{schema}"."{name}"',
        "config": {"materialized": materialized, "meta": meta},
        "meta": meta,
        "columns": {
            column: {
                "name": column,
                "meta": {"quality": {"expectations": items}} if items else {},
                "config": {"meta": {"quality": {"expectations": items}} if items else {}, "tags": []},
            }
            for column, items in (columns or {}).items()
        },
    }


def manifest(*nodes: dict[str, Any], base: str = BASE) -> dict[str, Any]:
    raw = f"{base}_raw"
    return {
        "nodes": {node["unique_id"]: node for node in nodes},
        "sources": {
            "source.retail.raw.payments": {
                "unique_id": "source.retail.raw.payments",
                "resource_type": "source",
                "source_name": "raw",
                "name": "payments",
                "database": "warehouse",
                "schema": raw,
                "identifier": "payments",
                "relation_name": f'"warehouse"."{raw}"."payments"',
            }
        },
    }


def config_error(project: dict[str, Any]) -> str:
    with pytest.raises(ExpectationConfigError) as caught:
        check_suites(project)
    return str(caught.value)


class TestParsing:
    def test_table_and_column_items_become_specs_once_each(self) -> None:
        node = model_node(
            "fct_orders",
            columns={
                "order_id": [{"expectation": "expect_column_values_to_be_unique"}],
                "order_total": [
                    {
                        "expectation": "expect_column_values_to_be_between",
                        "kwargs": {"min_value": 0},
                        "severity": "warn",
                        "description": "no negative totals",
                    }
                ],
            },
            expectations=[{"expectation": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}],
        )

        [suite] = check_suites(manifest(node))

        assert suite.model == "model.retail.fct_orders"
        assert suite.name == "fct_orders"
        assert suite.relation == Relation(
            "warehouse", f"{BASE}_marts", "fct_orders", f'"warehouse"."{BASE}_marts"."fct_orders"'
        )
        assert suite.specs == (
            ExpectationSpec("fct_orders", None, "expect_table_row_count_to_be_between", {"min_value": 1}),
            ExpectationSpec("fct_orders", "order_id", "expect_column_values_to_be_unique", {"column": "order_id"}),
            ExpectationSpec(
                "fct_orders",
                "order_total",
                "expect_column_values_to_be_between",
                {"min_value": 0, "column": "order_total"},
                severity="warn",
                description="no negative totals",
            ),
        )

    def test_meta_only_under_config_is_read(self) -> None:
        node = model_node("dim_customers", columns={"customer_id": []})
        node["config"]["meta"] = {
            "quality": {"expectations": [{"expectation": "expect_table_row_count_to_be_between"}]}
        }
        node["columns"]["customer_id"]["config"]["meta"] = {
            "quality": {"expectations": [{"expectation": "expect_column_values_to_not_be_null"}]}
        }

        [suite] = check_suites(manifest(node))

        assert [(spec.column, spec.expectation) for spec in suite.specs] == [
            (None, "expect_table_row_count_to_be_between"),
            ("customer_id", "expect_column_values_to_not_be_null"),
        ]

    def test_models_without_expectations_have_no_suite(self) -> None:
        assert check_suites(manifest(model_node("stg_orders", columns={"order_id": []}))) == []

    def test_unexpected_rows_query_resolves_ref_and_source_and_keeps_batch(self) -> None:
        lines = model_node("fct_order_lines", columns={"order_id": []})
        query = (
            "select o.order_id from {batch} o join {ref:fct_order_lines} l using (order_id) "
            "join {source:raw.payments} p using (order_id) where o.order_total <> l.amount"
        )
        orders = model_node("fct_orders", expectations=[{"expectation": "unexpected_rows", "query": query}])

        [suite] = check_suites(manifest(lines, orders))

        [spec] = suite.specs
        assert spec.query == query
        assert spec.resolved_query == (
            f'select o.order_id from {{batch}} o join "warehouse"."{BASE}_marts"."fct_order_lines" l '
            f'using (order_id) join "warehouse"."{BASE}_raw"."payments" p using (order_id) '
            "where o.order_total <> l.amount"
        )

    def test_compound_key_columns_are_respelled_as_declared(self) -> None:
        node = model_node(
            "fct_order_lines",
            columns={"Order_Id": [], "line_no": []},
            expectations=[
                {
                    "expectation": "expect_compound_columns_to_be_unique",
                    "kwargs": {"column_list": ["order_id", "LINE_NO"]},
                }
            ],
        )

        [suite] = check_suites(manifest(node))

        assert suite.specs[0].kwargs == {"column_list": ["Order_Id", "line_no"]}


class TestRefusals:
    def test_unknown_column_names_model_column_and_fix(self) -> None:
        node = model_node(
            "fct_orders",
            columns={"order_id": []},
            expectations=[{"expectation": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_ud"}}],
        )

        message = config_error(manifest(node))

        assert "1 invalid expectation declaration(s)" in message
        assert (
            "- model fct_orders expect_column_values_to_not_be_null: unknown column 'order_ud': model "
            "fct_orders declares ['order_id']; did you mean 'order_id'? declare the column under the "
            "model's `columns:` or fix the name"
        ) in message

    def test_unknown_expectation_suggests_the_close_name(self) -> None:
        node = model_node("fct_orders", columns={"order_id": [{"expectation": "expect_column_values_to_be_uniq"}]})

        message = config_error(manifest(node))

        assert (
            "- model fct_orders column order_id expect_column_values_to_be_uniq: unknown expectation "
            "'expect_column_values_to_be_uniq' (not a Great Expectations 1.24.1 expectation nor "
            "`unexpected_rows`); did you mean 'expect_column_values_to_be_unique'?"
        ) in message

    def test_bad_severity(self) -> None:
        node = model_node(
            "fct_orders",
            expectations=[{"expectation": "expect_table_row_count_to_be_between", "severity": "fatal"}],
        )

        assert "severity 'fatal' is not one of 'error' (default) or 'warn'" in config_error(manifest(node))

    def test_unexpected_rows_without_query(self) -> None:
        node = model_node("fct_orders", expectations=[{"expectation": "unexpected_rows"}])

        assert "model fct_orders unexpected_rows: an unexpected_rows item needs `query:" in config_error(manifest(node))

    def test_placeholder_naming_unknown_ref_and_source(self) -> None:
        query = "select * from {batch} b join {ref:fct_ordres} o using (id) join {source:raw.refunds} r using (id)"
        node = model_node("fct_orders", expectations=[{"expectation": "unexpected_rows", "query": query}])

        message = config_error(manifest(node))

        assert "2 invalid expectation declaration(s)" in message
        assert "{ref:fct_ordres} names no model, seed or snapshot with a relation in the manifest" in message
        assert "{source:raw.refunds} names no source table in the manifest" in message

    def test_unknown_placeholder_and_stray_brace(self) -> None:
        node = model_node(
            "fct_orders",
            expectations=[
                {"expectation": "unexpected_rows", "query": "select * from {table}"},
                {"expectation": "unexpected_rows", "query": "select '{' from {batch}"},
            ],
        )

        message = config_error(manifest(node))

        assert "unknown placeholder {table}; use {batch}, {ref:NAME} or {source:SOURCE.TABLE}" in message
        assert "the query has a stray brace" in message

    def test_table_expectation_declared_under_a_column(self) -> None:
        node = model_node("fct_orders", columns={"order_id": [{"expectation": "expect_table_row_count_to_equal"}]})

        assert "declared under column 'order_id' but it does not take a single `column`" in config_error(manifest(node))

    def test_unknown_item_key_and_query_on_a_column_expectation(self) -> None:
        node = model_node(
            "fct_orders",
            columns={
                "order_id": [{"expectation": "expect_column_values_to_be_unique", "kwarg": {}, "query": "select 1"}]
            },
        )

        message = config_error(manifest(node))

        assert "unknown key(s) ['kwarg']" in message
        assert "`query` belongs to `expectation: unexpected_rows` only; remove it" in message

    def test_ephemeral_model_cannot_carry_expectations(self) -> None:
        node = model_node(
            "int_orders",
            expectations=[{"expectation": "expect_table_row_count_to_be_between"}],
            materialized="ephemeral",
        )

        assert "model int_orders: it has no relation (an ephemeral model?)" in config_error(manifest(node))

    def test_unsupported_expectation_says_why(self) -> None:
        node = model_node("fct_orders", expectations=[{"expectation": "expect_query_results_to_match_comparison"}])

        assert "not supported here: it compares two data sources" in config_error(manifest(node))


class TestRebind:
    def test_suites_checked_on_one_manifest_point_at_the_run_manifest(self) -> None:
        def project(base: str) -> dict[str, Any]:
            lines = model_node("fct_order_lines", base=base)
            query = "select * from {batch} o join {ref:fct_order_lines} l using (order_id)"
            orders = model_node(
                "fct_orders", expectations=[{"expectation": "unexpected_rows", "query": query}], base=base
            )
            return manifest(lines, orders, base=base)

        suites = check_suites(project("dev_alice"))
        run_base = "ci_20261125t140000_0f0f0f"

        [rebound] = rebind_suites(suites, project(run_base))

        assert rebound.relation.schema == f"{run_base}_marts"
        assert rebound.specs[0].resolved_query == (
            f'select * from {{batch}} o join "warehouse"."{run_base}_marts"."fct_order_lines" l using (order_id)'
        )

    def test_model_missing_from_the_run_manifest_is_a_harness_error(self) -> None:
        suites = check_suites(
            manifest(model_node("fct_orders", expectations=[{"expectation": "expect_table_row_count_to_equal"}]))
        )

        with pytest.raises(HarnessError, match=r"model fct_orders \(model.retail.fct_orders\) has no relation"):
            rebind_suites(suites, manifest())


def test_spec_module_does_not_import_great_expectations() -> None:
    code = (
        "import sys; import quality.expectations.spec, quality.expectations.report; "
        "print('great_expectations' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"
