"""Jinja names dbt provides at compile time, for sqlfluff's fast jinja templater (`library_path`).

sqlfluff renders models without dbt (the dbt templater needs a warehouse connection and 4-8 s more per
run here), so what dbt would inject is emulated: `dbt.<cross-database macro>()` renders the Databricks
SQL that dbt-databricks would, `adapter.dispatch()` picks the project's `databricks__`/`spark__`/
`default__` macro, `modules.datetime` is Python's. Rendering only has to produce parseable Databricks
SQL with the same shape; it is never executed.
"""

from . import adapter, dbt, exceptions, modules

__all__ = ["adapter", "dbt", "exceptions", "modules"]
