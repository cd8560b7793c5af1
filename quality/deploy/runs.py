"""Follow a job run to its end within a deadline, fetch each task's output, and judge the result ourselves.

`run_now(...).result()` returns normally for a run that TERMINATED with result_state FAILED, and its
polling sleeps grow to 10 s; so we poll `runs/get` on our own interval against a monotonic deadline and
read `result_state` ourselves. Task output (`runs/get-output`) is fetched with each TASK's run id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from quality.deploy.connection import api_call
from quality.deploy.errors import DeployLockedError, JobRunFailed, JobRunTimedOut

FINAL_STATES = frozenset(
    {jobs.RunLifeCycleState.TERMINATED, jobs.RunLifeCycleState.SKIPPED, jobs.RunLifeCycleState.INTERNAL_ERROR}
)


@dataclass(frozen=True)
class TaskOutcome:
    """One task of a finished run, with what `runs/get-output` said about it."""

    task_key: str
    run_id: int
    result_state: str
    state_message: str
    error: str
    error_trace: str
    logs: str
    dbt_artifacts_link: str | None
    dbt_artifacts_headers: dict[str, str]

    @property
    def succeeded(self) -> bool:
        return self.result_state == "SUCCESS"


def life_cycle(run: jobs.Run) -> str:
    state = run.state.life_cycle_state if run.state else None
    return state.value if state else "UNKNOWN"


def result_of(run: jobs.Run | jobs.RunTask) -> str:
    """result_state, or the Jobs 2.2 `status.termination_details.code` when the legacy state lacks it."""
    if run.state and run.state.result_state:
        return run.state.result_state.value
    details = run.status.termination_details if run.status else None
    if details and details.code:
        return details.code.value
    return "UNKNOWN"


def wait_for_run(
    client: WorkspaceClient,
    run_id: int,
    *,
    timeout_seconds: float,
    poll_seconds: float = 5.0,
    job_name: str = "",
    on_poll: Callable[[jobs.Run], None] | None = None,
) -> jobs.Run:
    """Poll `runs/get` until the run reaches a final state; past the deadline raise `JobRunTimedOut`."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        with api_call(f"reading run {run_id}", client.config.host):
            run = client.jobs.get_run(run_id)
        if run.state and run.state.life_cycle_state in FINAL_STATES:
            return run
        if on_poll is not None:
            on_poll(run)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JobRunTimedOut(
                f"deploy run {run_id} of job '{job_name}' did not finish within {timeout_seconds:g} s (it is still "
                f"{life_cycle(run)}: {_message(run)}). It keeps running on Databricks and holds the deploy lock "
                f"until it ends: follow it at {run.run_page_url}, cancel it there if it hangs, or wait longer "
                "with --timeout."
            )
        time.sleep(min(poll_seconds, remaining))


def task_outcomes(client: WorkspaceClient, run: jobs.Run) -> list[TaskOutcome]:
    return [_task_outcome(client, task) for task in run.tasks or [] if task.run_id is not None]


def _task_outcome(client: WorkspaceClient, task: jobs.RunTask) -> TaskOutcome:
    run_id = int(task.run_id or 0)
    with api_call(f"reading the output of task '{task.task_key}' (run {run_id})", client.config.host):
        output = client.jobs.get_run_output(run_id)
    dbt = output.dbt_output
    return TaskOutcome(
        task_key=task.task_key,
        run_id=run_id,
        result_state=result_of(task),
        state_message=(task.state.state_message or "") if task.state else "",
        error=output.error or "",
        error_trace=output.error_trace or "",
        logs=output.logs or "",
        dbt_artifacts_link=dbt.artifacts_link if dbt else None,
        dbt_artifacts_headers=dict(dbt.artifacts_headers or {}) if dbt else {},
    )


def raise_for_result(run: jobs.Run, outcomes: list[TaskOutcome], job_name: str) -> None:
    """Pass only for result_state SUCCESS; otherwise one paragraph with the run URL and the failing task."""
    state = life_cycle(run)
    if state == "SKIPPED":
        raise DeployLockedError(
            f"Databricks skipped deploy run {run.run_id} of job '{job_name}' ({_message(run)}): another run was "
            f"active and the job allows one at a time. See {run.run_page_url}; wait for that run and deploy again."
        )
    result = result_of(run)
    if state == "TERMINATED" and result == "SUCCESS":
        return
    failed = [outcome for outcome in outcomes if not outcome.succeeded]
    culprit = (
        next((o for o in failed if o.error), None)
        or next((o for o in failed if o.state_message), None)
        or (failed[0] if failed else None)
    )
    raise JobRunFailed(
        f"deploy run {run.run_id} of job '{job_name}' ended {state}/{result}"
        f"{_describe_task(culprit, failed)}. Run page: {run.run_page_url}. "
        "When the gate fails nothing is published to prod (write-audit-publish); fix the failing model, test or "
        "expectation named above, or the job configuration, and deploy again."
    )


def _describe_task(culprit: TaskOutcome | None, failed: list[TaskOutcome]) -> str:
    if culprit is None:
        return f": {'no task output' if not failed else 'tasks failed'}"
    others = [o.task_key for o in failed if o is not culprit]
    message = _first_line(culprit.error) or _first_line(culprit.state_message) or "no error message"
    tail = f" (also not successful: {', '.join(others)})" if others else ""
    return f": task '{culprit.task_key}' {culprit.result_state}: {message}{tail}"


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _message(run: jobs.Run) -> str:
    return (run.state.state_message if run.state else None) or "no state message"
