"""Warehouse engines: the only package that knows DuckDB from Databricks."""
