"""validate_models on real DuckDB tables with real GX: each failure kind, each severity, harness errors
kept apart from data failures, and Data Docs written.

The tables are built with DuckDB SQL in a temporary `warehouse.duckdb`; the manifest is a hand-written
dict shaped like dbt 1.11's, with relations in an ephemeral run's schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quality.errors import ExpectationConfigError
from quality.expectations.report import ExpectationResult, HarnessProblem, ValidationReport
from quality.expectations.spec import check_suites
from quality.expectations.validate import format_failures, validate_models

pytestmark = pytest.mark.integration

BASE = "ci_20261125t131000_ab12cd"
MARTS, SNAPSHOTS, RAW = f"{BASE}_marts", f"{BASE}_snapshots", f"{BASE}_raw"

TABLES_SQL = f"""
create schema {MARTS}; create schema {SNAPSHOTS}; create schema {RAW};
create table {MARTS}.fct_orders (order_id integer, customer_id integer, order_total decimal(18, 2), status varchar);
insert into {MARTS}.fct_orders values
    (1, 10, 30.00, 'shipped'), (2, 11, 7.50, 'placed'), (3, 12, 7.00, 'shipped'), (3, 12, 7.00, 'shipped'),
    (4, null, 10.00, 'returned_x');
create table {MARTS}.fct_order_lines (order_id integer, line_no integer, amount decimal(18, 2));
insert into {MARTS}.fct_order_lines values (1, 1, 10.00), (1, 2, 20.00), (2, 1, 12.50), (2, 2, -5.00),
    (3, 1, 7.00), (4, 1, 12.50);
create table {SNAPSHOTS}.customers_snapshot (customer_id integer, dbt_valid_from timestamp, dbt_valid_to timestamp);
insert into {SNAPSHOTS}.customers_snapshot values
    (10, '2026-01-01', '2026-02-01'), (10, '2026-02-01', null),
    (11, '2026-01-01', '2026-03-01'), (11, '2026-02-15', null);
create table {RAW}.payments (order_id integer, amount decimal(18, 2));
insert into {RAW}.payments values (1, 30.00), (2, 7.50);
"""

RECONCILIATION = (
    "select o.order_id, o.order_total, l.lines_total from {batch} o join ("
    "select order_id, sum(amount) as lines_total from {ref:fct_order_lines} group by order_id"
    ") l on l.order_id = o.order_id where o.order_total <> l.lines_total"
)
SCD2_OVERLAP = (
    "select a.customer_id, a.dbt_valid_from, b.dbt_valid_from as overlapping_from from {batch} a "
    "join {batch} b on a.customer_id = b.customer_id and a.dbt_valid_from < b.dbt_valid_from "
    "and b.dbt_valid_from < coalesce(a.dbt_valid_to, timestamp '9999-12-31')"
)
ORPHAN_PAYMENTS = (
    "select p.order_id from {source:raw.payments} p left join {batch} o on o.order_id = p.order_id "
    "where o.order_id is null"
)
MISSING_TABLE = f"select o.* from {{batch}} o join warehouse.{MARTS}.no_such_table m on m.order_id = o.order_id"


def node(
    name: str,
    schema: str,
    columns: dict[str, list[dict[str, Any]]],
    expectations: list[dict[str, Any]] | None = None,
    resource_type: str = "model",
) -> dict[str, Any]:
    meta = {"quality": {"expectations": expectations}} if expectations else {}
    return {
        "unique_id": f"{resource_type}.retail.{name}",
        "resource_type": resource_type,
        "name": name,
        "package_name": "retail",
        "database": "warehouse",
        "schema": schema,
        "alias": name,
        "relation_name": f'"warehouse"."{schema}"."{name}"',
        "config": {"meta": meta},
        "meta": meta,
        "columns": {
            column: {"name": column, "meta": {"quality": {"expectations": items}} if items else {}}
            for column, items in columns.items()
        },
    }


def project_manifest() -> dict[str, Any]:
    orders = node(
        "fct_orders",
        MARTS,
        columns={
            "order_id": [{"expectation": "expect_column_values_to_be_unique"}],
            "customer_id": [
                {"expectation": "expect_column_values_to_not_be_null", "description": "every order has a customer"}
            ],
            "order_total": [],
            "status": [
                {
                    "expectation": "expect_column_values_to_be_in_set",
                    "kwargs": {"value_set": ["placed", "shipped", "returned"]},
                    "severity": "warn",
                }
            ],
        },
        expectations=[
            {"expectation": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 100}},
            {"expectation": "unexpected_rows", "query": RECONCILIATION, "description": "totals match lines"},
            {"expectation": "unexpected_rows", "query": ORPHAN_PAYMENTS},
        ],
    )
    lines = node(
        "fct_order_lines",
        MARTS,
        columns={
            "order_id": [],
            "line_no": [],
            "amount": [{"expectation": "expect_column_values_to_be_between", "kwargs": {"min_value": 0}}],
        },
        expectations=[
            {"expectation": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["order_id", "line_no"]}}
        ],
    )
    snapshot = node(
        "customers_snapshot",
        SNAPSHOTS,
        columns={"customer_id": [], "dbt_valid_from": [], "dbt_valid_to": []},
        expectations=[
            {"expectation": "unexpected_rows", "query": SCD2_OVERLAP, "description": "no overlapping versions"}
        ],
        resource_type="snapshot",
    )
    payments = {
        "unique_id": "source.retail.raw.payments",
        "resource_type": "source",
        "source_name": "raw",
        "name": "payments",
        "database": "warehouse",
        "schema": RAW,
        "identifier": "payments",
        "relation_name": f'"warehouse"."{RAW}"."payments"',
    }
    nodes = {item["unique_id"]: item for item in (orders, lines, snapshot)}
    return {"nodes": nodes, "sources": {payments["unique_id"]: payments}}


@dataclass(frozen=True)
class Warehouse:
    path: Path
    manifest: dict[str, Any]

    @property
    def url(self) -> str:
        return f"duckdb:///{self.path}"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    path = tmp_path_factory.mktemp("gx") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(TABLES_SQL)
    return Warehouse(path, project_manifest())


@pytest.fixture(scope="module")
def report(warehouse: Warehouse) -> ValidationReport:
    docs = warehouse.path.parent / "docs"
    suites = check_suites(warehouse.manifest)
    return validate_models(suites, warehouse.manifest, warehouse.url, data_docs_dir=docs, run_name="run-under-test")


def result(
    report: ValidationReport, model: str, column: str | None, expectation: str, index: int = 0
) -> ExpectationResult:
    found = [r for r in report.results if (r.model, r.column, r.expectation) == (model, column, expectation)]
    return found[index]


class TestFailureKinds:
    def test_duplicate_key_fails_unique_with_the_duplicate_in_the_sample(self, report: ValidationReport) -> None:
        unique = result(report, "fct_orders", "order_id", "expect_column_values_to_be_unique")

        assert (unique.success, unique.unexpected_count, unique.unexpected_sample) == (False, 2, (3, 3))

    def test_null_foreign_key_fails_not_null(self, report: ValidationReport) -> None:
        not_null = result(report, "fct_orders", "customer_id", "expect_column_values_to_not_be_null")

        assert (not_null.success, not_null.unexpected_count, not_null.unexpected_sample) == (False, 1, (None,))
        assert not_null.description == "every order has a customer"

    def test_negative_amount_fails_between_with_the_value(self, report: ValidationReport) -> None:
        between = result(report, "fct_order_lines", "amount", "expect_column_values_to_be_between")

        assert (between.success, between.unexpected_count, between.unexpected_sample) == (
            False,
            1,
            (Decimal("-5.00"),),
        )

    def test_overlapping_scd2_versions_are_returned_as_rows(self, report: ValidationReport) -> None:
        overlap = result(report, "customers_snapshot", None, "unexpected_rows")

        assert overlap.success is False
        assert overlap.unexpected_count == 1
        assert [row["customer_id"] for row in overlap.unexpected_sample] == [11]
        assert str(overlap.unexpected_sample[0]["overlapping_from"]) == "2026-02-15 00:00:00"

    def test_revenue_mismatch_across_a_ref_is_returned_as_rows(self, report: ValidationReport) -> None:
        reconciliation = result(report, "fct_orders", None, "unexpected_rows", index=0)

        assert reconciliation.description == "totals match lines"
        assert (reconciliation.success, reconciliation.observed_value) == (False, 1)
        assert reconciliation.unexpected_sample == (
            {"order_id": 4, "order_total": Decimal("10.00"), "lines_total": Decimal("12.50")},
        )


class TestPassesAndSeverities:
    def test_passing_expectations_report_their_observed_values(self, report: ValidationReport) -> None:
        row_count = result(report, "fct_orders", None, "expect_table_row_count_to_be_between")
        compound = result(report, "fct_order_lines", None, "expect_compound_columns_to_be_unique")
        orphans = result(report, "fct_orders", None, "unexpected_rows", index=1)

        assert (row_count.success, row_count.observed_value) == (True, 5)
        assert (compound.success, compound.unexpected_count) == (True, 0)
        assert (orphans.success, orphans.observed_value, orphans.unexpected_sample) == (True, 0, ())

    def test_warn_severity_is_a_warning_not_a_failure(self, report: ValidationReport) -> None:
        [warning] = report.warnings()

        assert (warning.model, warning.column, warning.unexpected_sample) == ("fct_orders", "status", ("returned_x",))
        assert warning not in report.failures()

    def test_error_failures_are_exactly_the_five_broken_rules(self, report: ValidationReport) -> None:
        failed = sorted((r.model, r.column or "", r.expectation) for r in report.failures())

        assert failed == [
            ("customers_snapshot", "", "unexpected_rows"),
            ("fct_order_lines", "amount", "expect_column_values_to_be_between"),
            ("fct_orders", "", "unexpected_rows"),
            ("fct_orders", "customer_id", "expect_column_values_to_not_be_null"),
            ("fct_orders", "order_id", "expect_column_values_to_be_unique"),
        ]
        assert report.errors == []
        assert report.ok is False
        assert len(report.results) == 9

    def test_format_failures_shows_model_column_and_sample(self, report: ValidationReport) -> None:
        message = format_failures(report)

        assert (
            "- [FAILED] fct_orders.order_id expect_column_values_to_be_unique\n    unexpected: 2\n    sample: [3, 3]"
            in message
        )
        assert "sample: [{'order_id': 4, 'order_total': Decimal('10.00'), 'lines_total': Decimal('12.50')}]" in message

    def test_data_docs_index_is_written(self, report: ValidationReport, warehouse: Warehouse) -> None:
        index = warehouse.path.parent / "docs" / "index.html"

        assert report.data_docs_index == index
        assert index.is_file()
        assert "fct_orders" in index.read_text(encoding="utf-8")


class TestHarnessErrors:
    def test_metric_error_is_a_harness_error_not_a_data_failure(self, warehouse: Warehouse) -> None:
        manifest = project_manifest()
        orders = node(
            "fct_orders",
            MARTS,
            columns={"order_id": []},
            expectations=[
                {"expectation": "unexpected_rows", "query": MISSING_TABLE},
                {"expectation": "expect_table_row_count_to_equal", "kwargs": {"value": 5}},
            ],
        )
        manifest["nodes"] = {orders["unique_id"]: orders}
        suites = check_suites(manifest)

        report = validate_models(suites, manifest, warehouse.url, data_docs_dir=None, run_name="metric-error")

        [problem] = report.errors
        assert (problem.model, problem.column, problem.expectation) == ("fct_orders", None, "unexpected_rows")
        assert "no_such_table does not exist" in problem.message
        assert [(r.expectation, r.success) for r in report.results] == [("expect_table_row_count_to_equal", True)]
        assert report.failures() == []
        assert report.ok is False

    def test_model_whose_table_is_missing_is_a_harness_error(self, warehouse: Warehouse) -> None:
        manifest = project_manifest()
        refunds = node(
            "fct_refunds", MARTS, columns={}, expectations=[{"expectation": "expect_table_row_count_to_be_between"}]
        )
        manifest["nodes"] = {refunds["unique_id"]: refunds}

        report = validate_models(
            check_suites(manifest), manifest, warehouse.url, data_docs_dir=None, run_name="missing"
        )

        assert report.results == []
        [problem] = report.errors
        assert problem == HarnessProblem("fct_refunds", None, None, problem.message)
        assert problem.message.startswith(f'cannot read "warehouse"."{MARTS}"."fct_refunds": ')

    def test_kwargs_gx_refuses_raise_a_config_error_before_validation(self, warehouse: Warehouse) -> None:
        manifest = project_manifest()
        orders = manifest["nodes"]["model.retail.fct_orders"]
        orders["columns"]["status"]["meta"] = {
            "quality": {
                "expectations": [{"expectation": "expect_column_values_to_be_in_set", "kwargs": {"value_sett": ["a"]}}]
            }
        }
        suites = check_suites(manifest)

        with pytest.raises(
            ExpectationConfigError, match=r"fct_orders\.status expect_column_values_to_be_in_set: .*value_set"
        ):
            validate_models(suites, manifest, warehouse.url, data_docs_dir=None, run_name="bad-kwargs")


def test_violation_queries_decide_exactly_as_gx_does(report: ValidationReport, warehouse: Warehouse) -> None:
    """Pushdown (the default) and GX validating every expectation as declared agree result for result."""
    declared = validate_models(
        check_suites(warehouse.manifest),
        warehouse.manifest,
        warehouse.url,
        data_docs_dir=None,
        run_name="as-declared",
        pushdown=False,
    )

    def key(item: ExpectationResult) -> tuple[str, str, str, str]:
        return (item.model, item.column or "", item.expectation, repr(item.unexpected_sample))

    assert sorted(declared.results, key=key) == sorted(report.results, key=key)
    assert declared.errors == report.errors == []


def test_regex_and_like_run_on_duckdb_with_databricks_semantics(tmp_path: Path) -> None:
    """GX 1.24 has no regex or LIKE for the duckdb dialect; the harness emulates them (nulls ignored)."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            f"create schema {MARTS}; create table {MARTS}.dim_products (sku varchar, email varchar, code varchar);"
            f"insert into {MARTS}.dim_products values ('SKU-0001', 'a@shop.test', 'A_1'), "
            "('sku-12', 'no-at-sign', 'AB1'), (null, null, null)"
        )
    products = node(
        "dim_products",
        MARTS,
        columns={
            "sku": [
                {"expectation": "expect_column_values_to_match_regex", "kwargs": {"regex": "^SKU-[0-9]{4}$"}},
                {"expectation": "expect_column_values_to_not_match_regex", "kwargs": {"regex": "[;']"}},
            ],
            "email": [{"expectation": "expect_column_values_to_match_like_pattern", "kwargs": {"like_pattern": "%@%"}}],
            "code": [
                {"expectation": "expect_column_values_to_not_match_like_pattern", "kwargs": {"like_pattern": "A\\_%"}}
            ],
        },
    )
    manifest = {"nodes": {products["unique_id"]: products}, "sources": {}}

    report = validate_models(
        check_suites(manifest), manifest, f"duckdb:///{path}", data_docs_dir=None, run_name="patterns"
    )

    assert report.errors == []
    assert [(r.column, r.expectation, r.success, r.unexpected_count, r.unexpected_sample) for r in report.results] == [
        ("code", "expect_column_values_to_not_match_like_pattern", False, 1, ("A_1",)),
        ("email", "expect_column_values_to_match_like_pattern", False, 1, ("no-at-sign",)),
        ("sku", "expect_column_values_to_match_regex", False, 1, ("sku-12",)),
        ("sku", "expect_column_values_to_not_match_regex", True, 0, ()),
    ]
