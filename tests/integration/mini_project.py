"""A tiny dbt project (any team's project, not ours) for testing the plugin and the CLI in isolation.

It has a source, a staging view, a mart table with an enforced contract, a test and one GX expectation,
and the harness's generate_schema_name macro (or not, to test the guard). `gate` runs `quality gate` on it
in process; `only_report` and `plain` read what that run said.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quality.cli import main

DBT_PROJECT = """
name: shop
profile: shop
version: "1.0"
config-version: 2
models:
  shop:
    staging:
      +schema: staging
      +materialized: view
    marts:
      +schema: marts
      +materialized: table
"""

PROFILES = """
shop:
  target: local
  outputs:
    local:
      type: duckdb
      path: "{{ env_var('SHOP_DUCKDB_PATH', 'shop.duckdb') }}"
      schema: main
      threads: 2
"""

GENERATE_SCHEMA_NAME = """
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set base = var('quality_schema_base', none) -%}
    {%- if base -%}{{ base }}_{{ custom_schema_name or 'main' }}
    {%- elif custom_schema_name -%}{{ custom_schema_name | trim }}
    {%- else -%}{{ target.schema }}{%- endif -%}
{%- endmacro %}
"""

STG_SALES = "select sale_id, amount from {{ source('raw', 'sales') }}"
FCT_SALES = "select sale_id, cast(amount as decimal(18, 2)) as amount from {{ ref('stg_sales') }}"

SCHEMA_YML = """
sources:
  - name: raw
    schema: "{{ var('raw_schema', 'raw') }}"
    tables:
      - name: sales
models:
  - name: stg_sales
  - name: fct_sales
    config:
      contract: {enforced: true}
      meta:
        quality:
          expectations:
            - expectation: expect_table_row_count_to_be_between
              kwargs: {min_value: 1}
    columns:
      - name: sale_id
        data_type: bigint
        constraints: [{type: not_null}]
        data_tests: [unique]
      - name: amount
        data_type: decimal(18,2)
        meta:
          quality:
            expectations:
              - expectation: expect_column_values_to_be_between
                kwargs: {min_value: 0}
"""

SALES_CSV = "sale_id,amount\n1,10.50\n2,20.00\n3,5.25\n"


def write_mini_project(root: Path, *, with_schema_macro: bool = True) -> Path:
    """Write the project under root/dbt and its raw fixtures under root/fixtures; returns the project dir."""
    project = root / "dbt"
    files = {
        project / "dbt_project.yml": DBT_PROJECT,
        project / "profiles.yml": PROFILES,
        project / "models" / "staging" / "stg_sales.sql": STG_SALES,
        project / "models" / "marts" / "fct_sales.sql": FCT_SALES,
        project / "models" / "schema.yml": SCHEMA_YML,
        root / "fixtures" / "sales.csv": SALES_CSV,
    }
    if with_schema_macro:
        files[project / "macros" / "generate_schema_name.sql"] = GENERATE_SCHEMA_NAME
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip(), encoding="utf-8")
    return project


def gate(root: Path, *args: str) -> int:
    """`quality gate` of the project under root (as write_mini_project lays it out), its runs in root/runs."""
    return main(["gate", "--project-dir", str(root / "dbt"), "--artifacts-dir", str(root / "runs"), *args])


def only_report(runs: Path) -> dict[str, Any]:
    """report.json of the one run in runs."""
    (path,) = runs.glob("*/report.json")
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def plain(text: str) -> str:
    """Console output as one line: wrapped lines joined (a long path may still be folded mid-word)."""
    return " ".join(text.split())
