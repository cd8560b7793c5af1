"""The local Databricks SQL endpoint (the fidelity engine): the Statement Execution API over HTTPS on
Spark SQL through Sail, so the real dbt-databricks adapter and the harness' Databricks engine run offline.

Nothing outside this package knows that the endpoint is not Databricks: clients get the standard
`DATABRICKS_*` variables (`LocalEndpoint.environment()`), and `quality emulator -- COMMAND` runs any
command against it. The statements Spark SQL cannot run as Databricks would are answered in
`statements.py`; each gap and what it means for prod is listed in docs/fidelity.md.
"""
