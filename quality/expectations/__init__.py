"""Great Expectations suites declared in the models' YAML.

- `spec` (no GX import): read the suites from a dbt manifest and refuse bad declarations;
- `validate` (imports GX, 7-10 s): validate them in the warehouse, deciding expensive expectations
  with one violation query each (`pushdown`), and write Data Docs;
- `report` (no GX import): plain result types and `format_failures`.

Only this package imports great_expectations (with quality/engines/gx_duckdb.py, its DuckDB shim).
"""
