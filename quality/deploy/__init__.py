"""Deploy the quality gate as a Databricks job (Jobs API 2.2 through databricks-sdk) and run it safely.

- `job_spec`: the job's settings (gate task, then dbt snapshot; secrets only as scope references).
- `connection`: workspace client from the environment with bounded timeouts; API errors explained.
- `secrets`: every secret the job reads exists before the job is touched.
- `jobs`: find by name -> create or reset (idempotent); the deploy lock; run-now with an idempotency token.
- `runs`: wait against a deadline, read each task's output, judge `result_state` ourselves.
- `outputs`: keep task logs, errors and the dbt task's artifacts.
- `deployer`: the whole sequence; `job_entry`: the script the job's gate task runs on Databricks.
"""
