"""The gate's raw data must match the project's declared sources: a stray fixture file is refused by name,
and missing raw tables are one line naming them and the two ways to give the gate data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.errors import FixtureError, QualityError
from quality.harness.raw_sources import (
    SourceTable,
    check_fixture_tables,
    declared_sources,
    fixture_folder,
    gate_hint,
    generator_mismatch,
    read_sources,
    require_raw_tables,
    require_source_data,
    seeds_read_as_sources,
)


def read_by_a_model(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's nodes, plus a model reading every source (a source no built node reads needs no data)."""
    reader = {"resource_type": "model", "name": "reader", "depends_on": {"nodes": list(manifest["sources"])}}
    return {**manifest.get("nodes", {}), "model.shop.reader": reader}


MANIFEST = {
    "sources": {
        "source.shop.raw.orders": {"name": "orders", "schema": "audit_x_raw", "database": "w"},
        "source.shop.raw.customers": {"name": "customers", "schema": "audit_x_raw", "database": "w"},
        "source.shop.raw.lines": {"name": "lines", "identifier": "order_lines", "schema": "audit_x_raw"},
        "source.shop.crm.accounts": {"name": "accounts", "schema": "crm", "database": "other_catalog"},
    }
}


def test_declared_sources_are_read_by_identifier_sorted() -> None:
    assert declared_sources(MANIFEST) == [
        SourceTable("audit_x_raw", "customers", "w"),
        SourceTable("audit_x_raw", "order_lines", None),
        SourceTable("audit_x_raw", "orders", "w"),
        SourceTable("crm", "accounts", "other_catalog"),
    ]


def test_fixture_files_that_are_declared_sources_pass() -> None:
    check_fixture_tables(Path("fx"), ["orders", "order_lines"], declared_sources(MANIFEST), "audit_x_raw")


@pytest.mark.parametrize(
    ("loaded", "files"),
    [
        (["orders", "zz_extra"], "zz_extra.csv in fx is"),
        (["orders copy", "lines", "orders"], "lines.csv, orders copy.csv in fx are"),
    ],
    ids=["stray-file", "file-names-that-are-no-table"],
)
def test_a_fixture_file_that_is_no_declared_source_is_refused_naming_it(loaded: list[str], files: str) -> None:
    with pytest.raises(FixtureError) as error:
        check_fixture_tables(Path("fx"), loaded, declared_sources(MANIFEST), "audit_x_raw")
    assert str(error.value) == (
        f"{files} not a source table of the project, and every fixture file becomes a raw table that is "
        "published to prod; declared source tables: customers, order_lines, orders. Rename the file to one of "
        "them or move it out of the folder."
    )


def test_missing_raw_tables_are_named_in_one_line(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    try:
        engine.execute("create schema audit_x_raw; create table audit_x_raw.orders as select 1 as order_id")
        with pytest.raises(QualityError) as error:
            require_raw_tables(engine, declared_sources(MANIFEST), "target 'local'")
    finally:
        engine.close()
    message = str(error.value)
    assert message == (
        "no raw data on target 'local': source table(s) audit_x_raw.customers, audit_x_raw.order_lines do not "
        "exist. Give the gate raw data with --fixtures <folder of <table>.csv> or --orders N (generated), or load "
        "those tables into the target first."
    )
    assert "\n" not in message
    assert "crm.accounts" not in message, "a source in another catalog is not this engine's to check"


def test_present_raw_tables_pass(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    try:
        engine.execute("create schema audit_x_raw")
        for table in ("orders", "customers", "order_lines"):
            engine.execute(f"create table audit_x_raw.{table} as select 1 as id")
        require_raw_tables(engine, declared_sources(MANIFEST), "target 'local'")
    finally:
        engine.close()


def test_a_source_that_a_seed_builds_needs_no_table_before_the_build(tmp_path: Path) -> None:
    manifest = {
        **MANIFEST,
        "nodes": {
            "seed.shop.customers": {
                "resource_type": "seed",
                "schema": "AUDIT_X_RAW",
                "name": "customers",
                "alias": None,
            },
            "model.shop.order_lines": {"resource_type": "model", "schema": "audit_x_raw", "name": "order_lines"},
        },
    }
    manifest["nodes"] = read_by_a_model(manifest)
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    try:
        engine.execute("create schema audit_x_raw; create table audit_x_raw.orders as select 1 as order_id")
        with pytest.raises(QualityError) as error:
            require_source_data(engine, manifest, "the test workspace x", "Add a fixture.")
    finally:
        engine.close()
    assert str(error.value) == (
        "no raw data on the test workspace x: source table(s) audit_x_raw.order_lines do not exist. Add a fixture."
    )


def test_no_folder_or_a_folder_without_csv_means_no_fixtures_to_load(tmp_path: Path) -> None:
    assert fixture_folder(None) is None
    assert fixture_folder(tmp_path / "missing") is None
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("raw data are seeds\n", encoding="utf-8")
    assert fixture_folder(tmp_path / "empty") is None
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "orders.csv").write_text("order_id\n1\n", encoding="utf-8")
    assert fixture_folder(tmp_path / "raw") == tmp_path / "raw"


# A public project's sources, as dbt-labs/jaffle-shop writes them: the schema as written, not the harness's var.
LITERAL = {
    "sources": {
        f"source.jaffle.ecom.{name}": {
            "name": name,
            "source_name": "ecom",
            "schema": "raw",
            "identifier": f"raw_{name}",
            "original_file_path": "models/staging/__sources.yml",
        }
        for name in ("orders", "customers")
    }
}
ADVICE = (
    "The harness loads raw data into the schema var('raw_schema') names (ws_raw here), but these sources name "
    "their schema as written, so no fixture or seed can reach them. Let them read the var, which keeps their "
    "schema in your own runs: in models/staging/__sources.yml, source 'ecom' (tables raw_customers, raw_orders): "
    "schema: \"{{ var('raw_schema', 'raw') }}\"."
)


def test_a_fixture_for_a_source_that_names_its_schema_as_written_says_how_to_read_the_var() -> None:
    with pytest.raises(FixtureError) as error:
        check_fixture_tables(Path("fx"), ["raw_orders", "raw_customers"], declared_sources(LITERAL), "ws_raw")
    assert str(error.value) == f"raw_customers.csv, raw_orders.csv in fx cannot reach the project. {ADVICE}"


def test_a_missing_source_that_names_its_schema_as_written_is_told_the_fix(tmp_path: Path) -> None:
    manifest = {**LITERAL, "nodes": read_by_a_model(LITERAL)}
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    try:
        with pytest.raises(QualityError) as error:
            require_source_data(engine, manifest, "the test workspace ws", "Add fixtures.", raw_schema="ws_raw")
    finally:
        engine.close()
    assert str(error.value) == (
        "no raw data on the test workspace ws: source table(s) raw.raw_customers, raw.raw_orders do not exist. "
        f"Add fixtures. {ADVICE}"
    )


@pytest.mark.parametrize("where", ["meta", "source_meta", "config"])
@pytest.mark.parametrize("setting", ["external_location", "plugin"])
def test_a_source_dbt_duckdb_reads_from_files_needs_no_raw_table(where: str, setting: str) -> None:
    manifest = {"sources": {**MANIFEST["sources"]}}
    manifest["sources"]["source.shop.files.returns"] = {
        "name": "returns",
        "schema": "csv_files",
        where: {setting: "data/returns.csv"},
    }
    assert "returns" not in {table.identifier for table in declared_sources(manifest)}
    assert len(declared_sources(manifest)) == 4


def test_seeds_that_models_read_through_source_are_named_to_be_built_first() -> None:
    manifest = {
        **LITERAL,
        "nodes": {
            "seed.jaffle.raw_orders": {"resource_type": "seed", "schema": "RAW", "name": "raw_orders", "alias": None},
            "seed.jaffle.raw_items": {"resource_type": "seed", "schema": "raw", "name": "raw_items", "alias": None},
            "model.jaffle.raw_customers": {"resource_type": "model", "schema": "raw", "name": "raw_customers"},
        },
    }
    assert seeds_read_as_sources(manifest) == ["raw_orders"]  # raw_items is read by ref(); a model is no seed


def test_the_gate_offers_the_generator_only_to_projects_whose_sources_it_makes() -> None:
    demo = [SourceTable("raw", name) for name in ("orders", "customers", "payments")]
    assert "--orders N" in gate_hint(demo)
    assert generator_mismatch(demo) is None

    other = declared_sources(LITERAL)
    assert "--orders" not in gate_hint(other)
    assert generator_mismatch(other) == (
        "--orders generates the tables stores, products, customers, orders, order_lines, payments (the demo retail "
        "project's sources), but this project's sources include raw_customers, raw_orders, which it cannot make. "
        "Pass --fixtures <folder of <table>.csv> with one file per source table instead."
    )


def test_only_sources_that_a_model_seed_snapshot_or_data_test_reads_need_data() -> None:
    nodes = {
        "analysis.shop.weekly": {"resource_type": "analysis", "depends_on": {"nodes": ["source.shop.raw.orders"]}},
        "snapshot.shop.snap": {"resource_type": "snapshot", "depends_on": {"nodes": ["source.shop.raw.customers"]}},
        "test.shop.not_null": {"resource_type": "test", "depends_on": {"nodes": ["source.shop.raw.lines"]}},
    }
    assert [table.identifier for table in read_sources({**MANIFEST, "nodes": nodes})] == ["customers", "order_lines"]
