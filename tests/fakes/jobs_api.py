"""Routes of the Databricks Jobs API 2.2 and Secrets API on a `FakeWorkspace`, with scripted runs.

`FakeJobsApi(fake)` installs: `jobs/list|create|reset|run-now`, `jobs/runs/list|get|get-output` and
`secrets/list`. Each run follows a `RunScript`: how many polls it stays RUNNING, then its final states and
each task's output. `ArtifactServer` serves a dbt artifacts archive (bytes) as a "signed link" on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.ports import LOOPBACK
from tests.fakes.workspace import FakeResponse, FakeWorkspace, RecordedRequest, error_response

TERMINAL = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})


@dataclass
class TaskScript:
    """One task of a scripted run: its final result and what `runs/get-output` returns for it."""

    task_key: str
    result_state: str = "SUCCESS"
    state_message: str = ""
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunScript:
    """How a run behaves: `running_polls` RUNNING answers, then `life_cycle_state`/`result_state`.

    `running_polls=None` keeps it RUNNING forever (a hanging run).
    """

    running_polls: int | None = 1
    life_cycle_state: str = "TERMINATED"
    result_state: str = "SUCCESS"
    state_message: str = ""
    tasks: list[TaskScript] = field(default_factory=lambda: [TaskScript("gate"), TaskScript("snapshot")])


@dataclass
class FakeRun:
    run_id: int
    job_id: int
    script: RunScript
    idempotency_token: str | None
    polls: int = 0
    task_run_ids: dict[str, int] = field(default_factory=dict)


class FakeJobsApi:
    """The Jobs API state of one fake workspace: jobs, runs and secret scopes."""

    def __init__(self, fake: FakeWorkspace, *, secrets: dict[str, list[str]] | None = None) -> None:
        self.fake = fake
        self.jobs: dict[int, dict[str, Any]] = {}
        self.runs: dict[int, FakeRun] = {}
        self.secrets: dict[str, list[str]] = secrets if secrets is not None else {}
        self.next_script = RunScript()
        self._next_job_id = 1001
        self._next_run_id = 5001
        self._lock = threading.Lock()
        for method, path, handler in (
            ("GET", "/api/2.2/jobs/list", self._list_jobs),
            ("POST", "/api/2.2/jobs/create", self._create),
            ("POST", "/api/2.2/jobs/reset", self._reset),
            ("POST", "/api/2.2/jobs/run-now", self._run_now),
            ("GET", "/api/2.2/jobs/runs/list", self._list_runs),
            ("GET", "/api/2.2/jobs/runs/get", self._get_run),
            ("GET", "/api/2.2/jobs/runs/get-output", self._get_output),
            ("GET", "/api/2.0/secrets/list", self._list_secrets),
        ):
            fake.route(method, path, handler)

    # --- test set-up ---------------------------------------------------------------------------------
    def add_job(self, settings: dict[str, Any]) -> int:
        with self._lock:
            job_id = self._next_job_id
            self._next_job_id += 1
            self.jobs[job_id] = {"job_id": job_id, "settings": settings, "created_time": 1764000000000}
            return job_id

    def add_run(self, job_id: int, script: RunScript) -> int:
        with self._lock:
            return self._new_run(job_id, script, None).run_id

    def run_page_url(self, job_id: int, run_id: int) -> str:
        return f"{self.fake.url}/#job/{job_id}/run/{run_id}"

    # --- routes --------------------------------------------------------------------------------------
    def _list_jobs(self, request: RecordedRequest) -> dict[str, Any]:
        name = request.query.get("name", [None])[0]
        with self._lock:
            found = [
                job
                for job in self.jobs.values()
                if name is None or str(job["settings"].get("name", "")).lower() == name.lower()
            ]
        return {"jobs": found, "has_more": False} if found else {"has_more": False}

    def _create(self, request: RecordedRequest) -> dict[str, Any]:
        return {"job_id": self.add_job(request.json())}

    def _reset(self, request: RecordedRequest) -> FakeResponse | dict[str, Any]:
        body = request.json()
        with self._lock:
            job = self.jobs.get(int(body["job_id"]))
            if job is None:
                return error_response(400, f"Job {body['job_id']} does not exist.")
            job["settings"] = body["new_settings"]
        return {}

    def _run_now(self, request: RecordedRequest) -> FakeResponse | dict[str, Any]:
        body = request.json()
        token = body.get("idempotency_token")
        with self._lock:
            if int(body["job_id"]) not in self.jobs:
                return error_response(400, f"Job {body['job_id']} does not exist.")
            existing = next((r for r in self.runs.values() if token and r.idempotency_token == token), None)
            run = existing or self._new_run(int(body["job_id"]), self.next_script, token)
        return {"run_id": run.run_id, "number_in_job": run.run_id}

    def _list_runs(self, request: RecordedRequest) -> dict[str, Any]:
        job_id = int(request.query["job_id"][0])
        active_only = request.query.get("active_only", ["false"])[0] == "true"
        with self._lock:
            runs = [
                self._run_json(run, advance=False)
                for run in sorted(self.runs.values(), key=lambda r: -r.run_id)
                if run.job_id == job_id
            ]
        if active_only:
            runs = [run for run in runs if run["state"]["life_cycle_state"] not in TERMINAL]
        return {"runs": runs, "has_more": False} if runs else {"has_more": False}

    def _get_run(self, request: RecordedRequest) -> FakeResponse | dict[str, Any]:
        run_id = int(request.query["run_id"][0])
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return error_response(400, f"Run {run_id} does not exist.")
            return self._run_json(run, advance=True)

    def _get_output(self, request: RecordedRequest) -> FakeResponse | dict[str, Any]:
        task_run_id = int(request.query["run_id"][0])
        with self._lock:
            for run in self.runs.values():
                for task in run.script.tasks:
                    if run.task_run_ids.get(task.task_key) == task_run_id:
                        return {**task.output, "metadata": {"run_id": task_run_id, "task_key": task.task_key}}
        return error_response(400, f"Retrieving the output of runs with multiple tasks is not supported: {task_run_id}")

    def _list_secrets(self, request: RecordedRequest) -> FakeResponse | dict[str, Any]:
        scope = request.query.get("scope", [""])[0]
        if scope not in self.secrets:
            return error_response(404, f"Scope {scope} does not exist!")
        return {"secrets": [{"key": key, "last_updated_timestamp": 1764000000000} for key in self.secrets[scope]]}

    # --- internals (called with the lock held) -------------------------------------------------------
    def _new_run(self, job_id: int, script: RunScript, token: str | None) -> FakeRun:
        run = FakeRun(run_id=self._next_run_id, job_id=job_id, script=script, idempotency_token=token)
        self._next_run_id += 10
        run.task_run_ids = {task.task_key: run.run_id + 1 + i for i, task in enumerate(script.tasks)}
        self.runs[run.run_id] = run
        return run

    def _run_json(self, run: FakeRun, *, advance: bool) -> dict[str, Any]:
        script = run.script
        running = script.running_polls is None or run.polls < script.running_polls
        if advance:
            run.polls += 1
        run_state = (
            {"life_cycle_state": "RUNNING", "state_message": "In run"}
            if running
            else {
                "life_cycle_state": script.life_cycle_state,
                "result_state": script.result_state,
                "state_message": script.state_message,
            }
        )
        tasks = [
            {
                "task_key": task.task_key,
                "run_id": run.task_run_ids[task.task_key],
                "state": {"life_cycle_state": "RUNNING"}
                if running
                else {
                    "life_cycle_state": "TERMINATED",
                    "result_state": task.result_state,
                    "state_message": task.state_message,
                },
            }
            for task in script.tasks
        ]
        return {
            "job_id": run.job_id,
            "run_id": run.run_id,
            "run_page_url": self.run_page_url(run.job_id, run.run_id),
            "state": run_state,
            "tasks": tasks,
        }


def dbt_artifacts_archive(files: dict[str, Any]) -> bytes:
    """A tar.gz like the one behind `dbt_output.artifacts_link`: JSON files under their paths."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = json.dumps(content).encode() if not isinstance(content, bytes) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class ArtifactServer:
    """Serves fixed bytes at any path on 127.0.0.1 and records the request headers (a signed-link host)."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.headers: list[dict[str, str]] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(server.payload)))
                self.end_headers()
                self.wfile.write(server.payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="artifact-server", daemon=True
        )
        self.url = f"http://{LOOPBACK}:{self._httpd.server_address[1]}"

    def __enter__(self) -> ArtifactServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
