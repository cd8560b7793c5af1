"""GX and the DuckDB file: validation joins the database this process already has open (after an
in-process dbt-duckdb build, or through the harness's engine), releases it afterwards, and a file held
elsewhere is reported as EngineBusyError instead of a GX traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.errors import EngineBusyError
from quality.expectations.report import ValidationReport
from quality.expectations.spec import check_suites
from quality.expectations.validate import validate_models

pytestmark = pytest.mark.integration

PROJECT = {
    "dbt_project.yml": "name: shop\nprofile: shop\nversion: '1.0'\nconfig-version: 2\n",
    "profiles.yml": (
        "shop:\n  target: local\n  outputs:\n    local:\n      type: duckdb\n"
        "      path: \"{{ env_var('SHOP_DUCKDB_PATH') }}\"\n      schema: main\n      threads: 1\n"
    ),
    "seeds/raw_orders.csv": "order_id,amount\n1,10\n2,-5\n3,7\n",
    "models/fct_orders.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('raw_orders') }}\n",
    "models/schema.yml": """
models:
  - name: fct_orders
    columns:
      - name: order_id
        meta:
          quality:
            expectations:
              - expectation: expect_column_values_to_be_unique
      - name: amount
        meta:
          quality:
            expectations:
              - expectation: expect_column_values_to_be_between
                kwargs: {min_value: 0}
""",
}


def table_file(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A DuckDB file with main.fct_orders and the manifest node describing it."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table main.fct_orders as select range as order_id from range(4)")
    meta = {"quality": {"expectations": [{"expectation": "expect_table_row_count_to_equal", "kwargs": {"value": 4}}]}}
    node = {
        "unique_id": "model.shop.fct_orders",
        "resource_type": "model",
        "name": "fct_orders",
        "database": "warehouse",
        "schema": "main",
        "alias": "fct_orders",
        "relation_name": '"warehouse"."main"."fct_orders"',
        "config": {"meta": meta},
        "meta": meta,
        "columns": {"order_id": {"name": "order_id", "meta": {}}},
    }
    return path, {"nodes": {node["unique_id"]: node}, "sources": {}}


def validate(target: str | DuckDBEngine, manifest: dict[str, Any]) -> ValidationReport:
    return validate_models(check_suites(manifest), manifest, target, data_docs_dir=None, run_name="sharing")


def passed(report: ValidationReport) -> list[tuple[str, bool]]:
    assert report.errors == []
    return [(result.expectation, result.success) for result in report.results]


def test_validation_after_an_in_process_dbt_build_that_keeps_the_file_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbt.cli.main import dbtRunner

    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    path = tmp_path / "shop.duckdb"
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(path))
    args = ["build", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path), "--quiet"]
    assert dbtRunner().invoke(args).success
    with pytest.raises(duckdb.ConnectionException, match="different configuration"):
        duckdb.connect(str(path), config={"threads": 1})  # dbt-duckdb still holds the file in-process
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8"))

    report = validate(f"duckdb:///{path}", manifest)

    assert sorted(passed(report)) == [
        ("expect_column_values_to_be_between", False),
        ("expect_column_values_to_be_unique", True),
    ]


def test_validation_through_the_harness_engine_while_it_holds_the_file(tmp_path: Path) -> None:
    path, manifest = table_file(tmp_path)
    engine = DuckDBEngine(path)
    try:
        assert passed(validate(engine, manifest)) == [("expect_table_row_count_to_equal", True)]
        assert passed(validate(engine.sqlalchemy_url(), manifest)) == [("expect_table_row_count_to_equal", True)]
        assert engine.query("select count(*) from main.fct_orders") == [(4,)]  # the engine is still usable
    finally:
        engine.close()


def test_validation_releases_the_file(tmp_path: Path) -> None:
    path, manifest = table_file(tmp_path)

    validate(f"duckdb:///{path}", manifest)

    with duckdb.connect(str(path), config={"threads": 1}) as connection:  # no instance left in-process
        assert connection.execute("select count(*) from main.fct_orders").fetchall() == [(4,)]


def test_a_file_held_with_another_configuration_is_engine_busy(tmp_path: Path) -> None:
    path, manifest = table_file(tmp_path)
    with (
        duckdb.connect(str(path), config={"threads": 1}),
        pytest.raises(EngineBusyError, match="open in this process with a non-default configuration"),
    ):
        validate(f"duckdb:///{path}", manifest)


def test_a_file_locked_by_another_process_is_engine_busy(tmp_path: Path) -> None:
    path, manifest = table_file(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(EngineBusyError, match=r"is locked by another process .* one writer process per file"):
            validate(f"duckdb:///{path}", manifest)
    finally:
        holder.communicate("")
