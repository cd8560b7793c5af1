"""The deploy path against a local fake of the Jobs API: real HTTP, the real databricks-sdk WorkspaceClient."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient

from quality.deploy.connection import WorkspaceAuth, workspace_client
from quality.deploy.deployer import DeployPlan, deploy
from quality.deploy.errors import (
    DeployAuthError,
    DeployConfigError,
    DeployLockedError,
    JobOwnershipError,
    JobRunFailed,
    JobRunTimedOut,
)
from quality.deploy.job_spec import SECRET_ENV, GitRef, JobOptions, build_job_settings
from quality.deploy.outputs import print_report
from quality.observability.alerts import run_alerts
from quality.observability.run_record import load_run
from tests.fakes import DEFAULT_TOKEN, FakeWorkspace
from tests.fakes.jobs_api import ArtifactServer, FakeJobsApi, RunScript, TaskScript, dbt_artifacts_archive

GIT = GitRef(url="https://github.com/acme/retail", kind="commit", value="0123456789abcdef0123456789abcdef01234567")
SETTINGS = build_job_settings(JobOptions(git=GIT, requirements=("dbt-databricks==1.12.7",)))
JOB_NAME = "retail-quality-prod"
ALL_SECRETS = {"quality": sorted(SECRET_ENV.values())}
MANAGED = {"name": JOB_NAME, "tags": {"managed-by": "dbt-quality-harness"}}


pytestmark = pytest.mark.usefixtures("hermetic_databricks_env")


@pytest.fixture
def fake(fake_workspace: FakeWorkspace) -> FakeWorkspace:
    return fake_workspace


@pytest.fixture
def api(fake: FakeWorkspace) -> FakeJobsApi:
    return FakeJobsApi(fake, secrets=dict(ALL_SECRETS))


def client_for(fake: FakeWorkspace, token: str = DEFAULT_TOKEN, retry_timeout: int = 10) -> WorkspaceClient:
    return workspace_client(
        WorkspaceAuth(host=fake.url, token=token), http_timeout_seconds=5, retry_timeout_seconds=retry_timeout
    )


def plan(tmp_path: Path, *, timeout: float = 10.0, wait: bool = True) -> DeployPlan:
    return DeployPlan(
        settings=SETTINGS,
        secret_scope="quality",  # pragma: allowlist secret
        wait=wait,
        timeout_seconds=timeout,
        poll_seconds=0.05,
        outputs_dir=tmp_path / "deploy",
    )


def deploy_error(error: type[Exception], client: WorkspaceClient, deploy_plan: DeployPlan) -> str:
    """The message of the `error` that deploying `deploy_plan` with `client` raises."""
    with pytest.raises(error) as caught:
        deploy(client, deploy_plan)
    return str(caught.value)


def api_calls(fake: FakeWorkspace) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.path.startswith("/api/")]


class TestFirstDeploy:
    def test_creates_the_job_with_the_exact_settings_then_runs_it(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        result = deploy(client_for(fake), plan(tmp_path))

        assert (result.job.job_id, result.job.created, result.run.run_id) == (1001, True, 5001)
        assert result.result_state == "SUCCESS"
        assert result.run_page_url == f"{fake.url}/#job/1001/run/5001"
        assert api_calls(fake) == [
            "GET /api/2.0/secrets/list",
            "GET /api/2.2/jobs/list",
            "POST /api/2.2/jobs/create",
            "POST /api/2.2/jobs/run-now",
            "GET /api/2.2/jobs/runs/get",
            "GET /api/2.2/jobs/runs/get",
            "GET /api/2.2/jobs/runs/get-output",
            "GET /api/2.2/jobs/runs/get-output",
        ]
        assert fake.calls("GET", "/api/2.2/jobs/list")[0].query == {"name": [JOB_NAME]}
        assert fake.calls("POST", "/api/2.2/jobs/create")[0].json() == SETTINGS.as_dict()

    def test_run_now_sends_the_job_id_and_a_fresh_idempotency_token(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        result = deploy(client_for(fake), plan(tmp_path))

        body = fake.calls("POST", "/api/2.2/jobs/run-now")[0].json()
        assert body == {"job_id": 1001, "idempotency_token": result.run.idempotency_token}
        assert re.fullmatch(r"[0-9a-f]{32}", body["idempotency_token"])

    def test_task_outputs_are_read_with_the_task_run_ids_not_the_job_run_id(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        deploy(client_for(fake), plan(tmp_path))

        asked = [r.query["run_id"] for r in fake.calls("GET", "/api/2.2/jobs/runs/get-output")]
        assert asked == [["5002"], ["5003"]]

    def test_the_job_cluster_gets_secret_references_and_never_the_token(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        deploy(client_for(fake), plan(tmp_path))

        created = fake.calls("POST", "/api/2.2/jobs/create")[0].json()
        assert created["job_clusters"][0]["new_cluster"]["spark_env_vars"] == {
            "DATABRICKS_HOST": "{{secrets/quality/databricks_host}}",
            "DATABRICKS_HTTP_PATH": "{{secrets/quality/databricks_http_path}}",
            "DATABRICKS_TOKEN": "{{secrets/quality/databricks_token}}",
            "DBT_CATALOG": "{{secrets/quality/dbt_catalog}}",
        }
        assert all(DEFAULT_TOKEN.encode() not in r.body for r in fake.requests)

    def test_no_wait_returns_after_run_now_without_polling(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        result = deploy(client_for(fake), plan(tmp_path, wait=False))

        assert (result.run.run_id, result.result_state) == (5001, None)
        assert api_calls(fake)[-1] == "POST /api/2.2/jobs/run-now"


class TestRedeploy:
    def test_resets_the_managed_job_instead_of_creating_another(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        job_id = api.add_job(dict(MANAGED))

        result = deploy(client_for(fake), plan(tmp_path))

        assert (result.job.job_id, result.job.created) == (job_id, False)
        assert fake.calls("POST", "/api/2.2/jobs/create") == []
        reset = fake.calls("POST", "/api/2.2/jobs/reset")
        assert [r.json() for r in reset] == [{"job_id": job_id, "new_settings": SETTINGS.as_dict()}]
        active = fake.calls("GET", "/api/2.2/jobs/runs/list")[0].query
        assert active == {"job_id": [str(job_id)], "active_only": ["true"], "limit": ["1"]}

    def test_a_same_named_job_without_our_tag_is_not_overwritten(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        api.add_job({"name": JOB_NAME, "tags": {"owner": "analytics"}})

        message = deploy_error(JobOwnershipError, client_for(fake), plan(tmp_path))

        assert message == (
            f"a job named '{JOB_NAME}' (id 1001) exists but lacks the tag managed-by: dbt-quality-harness, so it "
            "was not created by `quality deploy` and will not be overwritten; rename that job, add the tag if it is "
            "ours, or deploy under another --job-name."
        )
        assert fake.calls("POST", "/api/2.2/jobs/reset") == []


class TestDeployLock:
    def test_a_second_deploy_while_a_run_is_active_is_refused(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        job_id = api.add_job(dict(MANAGED))
        run_id = api.add_run(job_id, RunScript(running_polls=None))

        message = deploy_error(DeployLockedError, client_for(fake), plan(tmp_path))

        assert message == (
            f"another deploy is in progress: run {run_id} of job '{JOB_NAME}' is RUNNING "
            f"({api.run_page_url(job_id, run_id)}). Only one deploy may run at a time; wait for it to finish (or "
            "cancel it in the workspace) and deploy again."
        )
        assert fake.calls("POST", "/api/2.2/jobs/reset") == []
        assert fake.calls("POST", "/api/2.2/jobs/run-now") == []

    def test_a_run_skipped_by_max_concurrent_runs_is_reported_as_locked(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        api.next_script = RunScript(
            running_polls=0,
            life_cycle_state="SKIPPED",
            result_state="MAXIMUM_CONCURRENT_RUNS_REACHED",
            state_message="Maximum concurrent runs reached",
            tasks=[],
        )

        with pytest.raises(DeployLockedError, match=r"^Databricks skipped deploy run 5001 .*Maximum concurrent"):
            deploy(client_for(fake), plan(tmp_path))

    def test_the_job_spec_itself_allows_one_run_and_no_queue(self) -> None:
        assert (SETTINGS.max_concurrent_runs, SETTINGS.queue and SETTINGS.queue.enabled) == (1, False)


class TestFailures:
    def test_a_refused_token_is_one_clear_paragraph_without_the_token(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        message = deploy_error(DeployAuthError, client_for(fake, token="dapi-wrong-token-000"), plan(tmp_path))

        assert message == (
            f"Databricks at {fake.url} refused the credentials while listing secret scope 'quality' "
            "(UNAUTHENTICATED: Invalid access token.). Check that DATABRICKS_TOKEN (or the OAuth client) is valid "
            "for this workspace and that its principal may manage jobs and read the job's secret scope; renew it "
            "in the secret store and run again."
        )
        assert api_calls(fake) == ["GET /api/2.0/secrets/list"]

    def test_throttled_run_now_is_retried_after_retry_after_and_starts_one_run(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        fake.fail(429, retry_after=1, path_prefix="/api/2.2/jobs/run-now")

        result = deploy(client_for(fake), plan(tmp_path))

        attempts = fake.calls("POST", "/api/2.2/jobs/run-now")
        assert len(attempts) == 2
        assert attempts[0].json() == attempts[1].json()
        assert (result.run.run_id, result.result_state, sorted(api.runs)) == (5001, "SUCCESS", [5001])

    def test_a_failed_run_names_the_task_its_error_and_the_run_page(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        api.next_script = RunScript(
            result_state="FAILED",
            state_message="Task gate failed with message: Workload failed.",
            tasks=[
                TaskScript(
                    "gate",
                    "FAILED",
                    "Workload failed, see run output for details",
                    output={
                        "error": "GateFailed: 2 expectations failed on marts.fct_orders; nothing was published\n"
                        "  expect_column_values_to_not_be_null(order_id): 3 rows",
                        "error_trace": 'Traceback (most recent call last):\n  File "job_entry.py", line 40',
                        "logs": "building in audit schema prod_audit_20261125t131000_ab12cd\n",
                    },
                ),
                TaskScript("snapshot", "UPSTREAM_FAILED", "Upstream task failed."),
            ],
        )

        message = deploy_error(JobRunFailed, client_for(fake), plan(tmp_path))

        assert message == (
            f"deploy run 5001 of job '{JOB_NAME}' ended TERMINATED/FAILED: task 'gate' FAILED: GateFailed: 2 "
            "expectations failed on marts.fct_orders; nothing was published (also not successful: snapshot). "
            f"Run page: {fake.url}/#job/1001/run/5001. When the gate fails nothing is published to prod "
            "(write-audit-publish); fix the failing model, test or expectation named above, or the job "
            "configuration, and deploy again."
        )
        gate_dir = tmp_path / "deploy" / "5001" / "gate"
        assert (gate_dir / "logs.txt").read_text() == "building in audit schema prod_audit_20261125t131000_ab12cd\n"
        assert (gate_dir / "error.txt").read_text().startswith("GateFailed: 2 expectations failed")

    def test_a_run_that_stays_running_fails_at_the_deadline_with_its_url(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        api.next_script = RunScript(running_polls=None)

        message = deploy_error(JobRunTimedOut, client_for(fake), plan(tmp_path, timeout=2.0))

        assert message == (
            f"deploy run 5001 of job '{JOB_NAME}' did not finish within 2 s (it is still RUNNING: In run). It keeps "
            "running on Databricks and holds the deploy lock until it ends: follow it at "
            f"{fake.url}/#job/1001/run/5001, cancel it there if it hangs, or wait longer with --timeout."
        )
        assert fake.calls("GET", "/api/2.2/jobs/runs/get-output") == []


class TestSecrets:
    def test_a_missing_secret_key_fails_before_the_job_is_touched(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        api.secrets["quality"] = [key for key in SECRET_ENV.values() if key != "databricks_token"]

        message = deploy_error(DeployConfigError, client_for(fake), plan(tmp_path))

        assert message == (
            f"the secret scope 'quality' on {fake.url} lacks 1 key(s) the job cluster needs: DATABRICKS_TOKEN <- "
            "{{secrets/quality/databricks_token}}. Add each with `databricks secrets put-secret quality <key>` and "
            "deploy again."
        )
        assert api_calls(fake) == ["GET /api/2.0/secrets/list"]

    def test_a_missing_scope_names_the_scope_and_how_to_create_it(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        api.secrets.clear()

        with pytest.raises(DeployConfigError, match=r"^the secret scope 'quality' does not exist on .*create-scope"):
            deploy(client_for(fake), plan(tmp_path))


class TestDbtArtifacts:
    def test_the_gate_report_relayed_in_the_task_logs_is_kept_for_metrics_and_alerts(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        report = {
            "run_id": "20261128t120000_ab12cd",
            "target": "prod",
            "status": "failed",
            "error": "dbt build failed on target 'prod': 1 node(s) failed.",
            "models": [{"unique_id": "model.retail.fct_orders", "status": "success", "execution_time": 4.2}],
            "tests": [
                {
                    "unique_id": "test.retail.unique_fct_orders_order_id",
                    "resource_type": "test",
                    "status": "fail",
                    "failures": 3,
                    "message": "Got 3 results, configured to fail if != 0",
                }
            ],
        }
        (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
        print_report(tmp_path / "report.json")  # what job_entry prints on the cluster
        logs = "building in the audit schema\n" + capsys.readouterr().out + "exit 1\n"
        api.next_script = RunScript(
            result_state="FAILED",
            tasks=[
                TaskScript("gate", "FAILED", "Workload failed", output={"error": "GateFailed", "logs": logs}),
                TaskScript("snapshot", "UPSTREAM_FAILED", "Upstream task failed."),
            ],
        )

        with pytest.raises(JobRunFailed):
            deploy(client_for(fake), plan(tmp_path))

        gate_dir = tmp_path / "deploy" / "5001" / "gate"
        assert json.loads((gate_dir / "report.json").read_text(encoding="utf-8")) == report
        run = load_run(gate_dir)
        assert (run.run_id, run.status, run.target) == ("20261128t120000_ab12cd", "failed", "prod")
        alerts = {(alert.kind, alert.subject) for alert in run_alerts(run)}
        assert ("run_failed", "run 20261128t120000_ab12cd") in alerts
        assert ("node_failed", "test.retail.unique_fct_orders_order_id") in alerts

    def test_the_dbt_task_artifacts_are_downloaded_and_unpacked(
        self, fake: FakeWorkspace, api: FakeJobsApi, tmp_path: Path
    ) -> None:
        run_results = {"metadata": {"dbt_version": "1.11.16"}, "results": [], "elapsed_time": 1.5}
        archive = dbt_artifacts_archive({"target/run_results.json": run_results, "logs/dbt.log": b"snapshot ok\n"})
        with ArtifactServer(archive) as signed:
            api.next_script = RunScript(
                tasks=[
                    TaskScript("gate", output={"logs": "published 12 models\n"}),
                    TaskScript(
                        "snapshot",
                        output={
                            "dbt_output": {
                                "artifacts_link": f"{signed.url}/dbt/5003/artifacts.tar.gz?sig=abc",
                                "artifacts_headers": {"x-ms-blob-type": "BlockBlob"},
                            }
                        },
                    ),
                ]
            )
            result = deploy(client_for(fake), plan(tmp_path))

        snapshot_dir = tmp_path / "deploy" / "5001" / "snapshot"
        assert json.loads((snapshot_dir / "target" / "run_results.json").read_text()) == run_results
        assert (snapshot_dir / "logs" / "dbt.log").read_text() == "snapshot ok\n"
        assert signed.headers[0]["x-ms-blob-type"] == "BlockBlob"
        assert "authorization" not in signed.headers[0]
        assert result.outputs_dir == tmp_path / "deploy" / "5001"
