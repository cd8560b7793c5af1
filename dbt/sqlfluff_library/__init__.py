"""Lint-time stand-ins for dbt's Jinja context, used by sqlfluff's jinja templater (see ../.sqlfluff).

Each submodule becomes a Jinja global of the same name. They render what dbt-databricks renders, so
sqlfluff checks the SQL that runs on Databricks. They are never used by dbt itself.
"""
