"""One deploy, start to end: secrets present -> job created or reset -> lock -> run -> wait -> judge -> keep outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from quality.deploy.job_spec import JobAuth, secret_env
from quality.deploy.jobs import DeployedJob, StartedRun, start_run, upsert_job
from quality.deploy.outputs import save_task_outputs
from quality.deploy.runs import TaskOutcome, life_cycle, raise_for_result, task_outcomes, wait_for_run
from quality.deploy.secrets import require_secrets


@dataclass(frozen=True)
class DeployPlan:
    settings: jobs.JobSettings
    secret_scope: str
    wait: bool = True
    timeout_seconds: float = 3600.0
    poll_seconds: float = 10.0
    outputs_dir: Path | None = None
    auth: JobAuth = "pat"  # how the job authenticates: which keys the secret scope must hold


@dataclass(frozen=True)
class DeployResult:
    job: DeployedJob
    run: StartedRun
    run_page_url: str | None = None
    result_state: str | None = None
    outcomes: list[TaskOutcome] = field(default_factory=list)
    outputs_dir: Path | None = None


def deploy(client: WorkspaceClient, plan: DeployPlan, say: Callable[[str], None] = lambda _: None) -> DeployResult:
    require_secrets(client, plan.secret_scope, secret_env(plan.auth))
    job = upsert_job(client, plan.settings)
    say(f"{'created' if job.created else 'updated'} job '{job.name}' (id {job.job_id})")
    started = start_run(client, job)
    say(f"started run {started.run_id}")
    if not plan.wait:
        return DeployResult(job=job, run=started)
    run = wait_for_run(
        client,
        started.run_id,
        timeout_seconds=plan.timeout_seconds,
        poll_seconds=plan.poll_seconds,
        job_name=job.name,
        on_poll=lambda polled: say(f"run {started.run_id}: {life_cycle(polled)}"),
    )
    outcomes = task_outcomes(client, run)
    saved = save_task_outputs(plan.outputs_dir, started.run_id, outcomes) if plan.outputs_dir else None
    raise_for_result(run, outcomes, job.name)
    return DeployResult(
        job=job,
        run=started,
        run_page_url=run.run_page_url,
        result_state="SUCCESS",
        outcomes=outcomes,
        outputs_dir=saved,
    )
