"""Cross-engine fidelity: the same project built on DuckDB and on Databricks (or the local endpoint) gives the same tables."""
