"""Bringing a dbt project under the harness: `quality init` (scaffold) and `quality doctor`."""
