"""Jobs API operations of a deploy: find our job by name, create or reset it, hold the deploy lock, run it.

The deploy lock is two-fold: before touching the job we refuse when it has an active run
(`runs/list?active_only=true`), and the job itself has `max_concurrent_runs: 1` with its queue disabled,
so a run that slips through the race is SKIPPED by Databricks instead of running twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from quality.deploy.connection import api_call
from quality.deploy.errors import DeployLockedError, JobOwnershipError
from quality.deploy.job_spec import MANAGED_BY_TAG


@dataclass(frozen=True)
class DeployedJob:
    job_id: int
    name: str
    created: bool


@dataclass(frozen=True)
class StartedRun:
    job_id: int
    run_id: int
    idempotency_token: str


def find_managed_job(client: WorkspaceClient, name: str) -> int | None:
    """The id of the job named exactly `name` that carries our managed-by tag; None when there is none."""
    with api_call(f"listing jobs named '{name}'", client.config.host):
        named = [job for job in client.jobs.list(name=name) if job.settings and job.settings.name == name]
    if not named:
        return None
    key, value = MANAGED_BY_TAG
    ours = [job for job in named if job.settings and (job.settings.tags or {}).get(key) == value]
    if len(named) > 1:
        ids = ", ".join(str(job.job_id) for job in named)
        raise JobOwnershipError(
            f"{len(named)} jobs are named '{name}' (ids {ids}), so the deploy cannot tell which one to update; "
            "delete the duplicates in the workspace or deploy under another --job-name."
        )
    if not ours or ours[0].job_id is None:
        raise JobOwnershipError(
            f"a job named '{name}' (id {named[0].job_id}) exists but lacks the tag {key}: {value}, so it was not "
            "created by `quality deploy` and will not be overwritten; rename that job, add the tag if it is ours, "
            "or deploy under another --job-name."
        )
    return int(ours[0].job_id)


def refuse_if_running(client: WorkspaceClient, job_id: int, name: str) -> None:
    """The deploy lock: no second deploy while a run of the job is queued, pending, running or terminating."""
    with api_call(f"listing active runs of job {job_id}", client.config.host):
        active = next(iter(client.jobs.list_runs(job_id=job_id, active_only=True, limit=1)), None)
    if active is None:
        return
    state = active.state.life_cycle_state.value if active.state and active.state.life_cycle_state else "active"
    raise DeployLockedError(
        f"another deploy is in progress: run {active.run_id} of job '{name}' is {state} ({active.run_page_url}). "
        "Only one deploy may run at a time; wait for it to finish (or cancel it in the workspace) and deploy again."
    )


def upsert_job(client: WorkspaceClient, settings: jobs.JobSettings) -> DeployedJob:
    """Create the job, or reset the existing managed job to exactly `settings` (idempotent)."""
    name = settings.name or ""
    job_id = find_managed_job(client, name)
    if job_id is None:
        with api_call(f"creating job '{name}'", client.config.host):
            created = client.jobs.create(**{f.name: getattr(settings, f.name) for f in fields(settings)})
        return DeployedJob(job_id=int(created.job_id or 0), name=name, created=True)
    refuse_if_running(client, job_id, name)
    with api_call(f"resetting job '{name}' ({job_id})", client.config.host):
        client.jobs.reset(job_id, new_settings=settings)
    return DeployedJob(job_id=job_id, name=name, created=False)


def start_run(client: WorkspaceClient, job: DeployedJob) -> StartedRun:
    """`run-now` with an idempotency token, so the SDK's retry of a throttled request starts one run only."""
    token = uuid.uuid4().hex
    with api_call(f"starting job '{job.name}' ({job.job_id})", client.config.host):
        waiter = client.jobs.run_now(job.job_id, idempotency_token=token)
    response: jobs.RunNowResponse = waiter.response
    return StartedRun(job_id=job.job_id, run_id=int(response.run_id or 0), idempotency_token=token)
