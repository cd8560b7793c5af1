"""Seeds with `+schema: raw` share the audit's raw schema with raw fixtures: each is published once, where its
prod target puts it, and the views reading them are rewritten to the same place (DuckDB)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from quality.cli import main
from tests.integration.mini_project import write_mini_project

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_project"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "jaffle"
    shutil.copytree(SAMPLE, root)
    with (root / "dbt_project.yml").open("a") as config:
        config.write("seeds:\n  jaffle_sample:\n    +schema: raw\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAFFLE_DUCKDB_PATH", str(tmp_path / "prod.duckdb"))
    assert main(["init", "--project-dir", str(root)]) == 0
    return root


def _query(path: Path, sql: str) -> list[list[object]]:
    """Read the file in a process of its own (this one may still hold dbt's connection to it)."""
    script = "import duckdb, json, sys; print(json.dumps(duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2]).fetchall()))"
    done = subprocess.run([sys.executable, "-c", script, str(path), sql], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _relations(path: Path) -> set[tuple[str, str]]:
    rows = _query(
        path,
        "select schema_name, table_name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views() where not internal",
    )
    return {(str(schema), str(name)) for schema, name in rows}


def test_seeds_in_the_raw_schema_are_published_once_where_prod_puts_them(project: Path, tmp_path: Path) -> None:
    gate = [sys.executable, "-m", "quality.cli", "gate", "--project-dir", str(project)]
    gate += ["--artifacts-dir", str(tmp_path / "runs")]
    for _ in range(2):  # the second publish backs the seeds up once and replaces them once
        done = subprocess.run(gate, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    relations = _relations(tmp_path / "prod.duckdb")
    assert {("main_raw", "raw_customers"), ("main_raw", "raw_orders")} <= relations
    assert not {name for schema, name in relations if schema == "raw"}  # not also under the sources' raw schema
    ((staged, seeded),) = _query(
        tmp_path / "prod.duckdb",
        "select (select count(*) from main_staging.stg_orders), (select count(*) from main_raw.raw_orders)",
    )
    assert staged == seeded
    assert isinstance(staged, int)
    assert staged > 0


DBT_DEFAULT_BRANCH = """
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set base = var('quality_schema_base', none) -%}
    {%- if base -%}{{ base }}_{{ custom_schema_name or 'main' }}
    {%- else -%}{{ default__generate_schema_name(custom_schema_name, node) }}{%- endif -%}
{%- endmacro %}
"""


def _shop_with_a_raw_seed(root: Path, *, macro: str | None = None) -> Path:
    project = write_mini_project(root)
    with (project / "dbt_project.yml").open("a") as config:
        config.write("seeds:\n  shop:\n    +schema: raw\n")
    (project / "seeds").mkdir()
    (project / "seeds" / "regions.csv").write_text("region_id,name\n1,north\n2,south\n")
    if macro is not None:
        (project / "macros" / "generate_schema_name.sql").write_text(macro)
    return project


def _gate(root: Path, project: Path, *extra: str, fixtures: bool = True) -> subprocess.CompletedProcess[str]:
    args = ["gate", "--project-dir", str(project), "--artifacts-dir", str(root / "runs"), *extra]
    args += ["--fixtures", str(root / "fixtures")] if fixtures else []
    env = {**os.environ, "SHOP_DUCKDB_PATH": str(root / "shop.duckdb"), "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "quality.cli", *args], cwd=root, env=env, capture_output=True, text=True
    )


def test_a_raw_seed_and_raw_fixtures_bound_for_one_prod_schema_publish_side_by_side(tmp_path: Path) -> None:
    project = _shop_with_a_raw_seed(tmp_path)  # the mini project's macro: custom schema 'raw' is prod's raw

    done = _gate(tmp_path, project)

    assert done.returncode == 0, done.stdout + done.stderr
    relations = _relations(tmp_path / "shop.duckdb")
    assert {("raw", "sales"), ("raw", "regions"), ("marts", "fct_sales")} <= relations


def test_a_raw_seed_bound_elsewhere_than_the_raw_fixtures_is_refused_before_anything_is_published(
    tmp_path: Path,
) -> None:
    project = _shop_with_a_raw_seed(tmp_path, macro=DBT_DEFAULT_BRANCH)  # seeds to main_raw, sources to raw

    done = _gate(tmp_path, project)

    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, output
    assert "holds raw fixture tables (sales, published to raw) and nodes of the project (regions to main_raw)" in output
    assert "Give those seeds or models another custom schema than 'raw'" in output
    assert "Traceback" not in output
    assert not (tmp_path / "shop.duckdb").exists() or not _relations(tmp_path / "shop.duckdb")


@pytest.mark.parametrize("enabled_by_a_var", [False, True], ids=["seeds", "seeds-enabled-by-vars"])
def test_seeds_that_models_read_through_source_are_built_before_their_readers(
    tmp_path: Path, enabled_by_a_var: bool
) -> None:
    """dbt-labs/jaffle-shop's layout: the raw data are seeds (switched on by a var), read with source()."""
    project = write_mini_project(tmp_path)
    with (project / "dbt_project.yml").open("a") as config:  # the contract of fct_sales wants a bigint key
        config.write("seeds:\n  shop:\n    +schema: raw\n    sales:\n      +column_types: {sale_id: bigint}\n")
        if enabled_by_a_var:
            config.write("    +enabled: \"{{ var('load_source_data', false) }}\"\n")
    (project / "seeds").mkdir()
    (project / "seeds" / "sales.csv").write_text((tmp_path / "fixtures" / "sales.csv").read_text())
    (tmp_path / "fixtures" / "sales.csv").unlink()

    done = _gate(
        tmp_path, project, *(["--vars", "{load_source_data: true}"] if enabled_by_a_var else []), fixtures=False
    )

    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(next((tmp_path / "runs").glob("*/run_results.json")).read_text())["results"]
    order = [result["unique_id"] for result in results]
    assert order.index("seed.shop.sales") < order.index("model.shop.stg_sales")  # both commands' nodes are kept
    assert ("raw", "sales") in _relations(tmp_path / "shop.duckdb")
