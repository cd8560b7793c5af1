"""The deployed job with an OAuth service principal: its spec and bundle, its entry script, and `quality deploy`
authenticating by OAuth M2M against the jobs fake (which serves the OIDC routes as a workspace does)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

from quality.cli import main
from quality.deploy import job_entry
from quality.deploy.job_spec import (
    OAUTH_SECRET_ENV,
    SECRET_ENV,
    GitRef,
    JobOptions,
    build_job_settings,
    runtime_requirements,
    secret_env,
)
from quality.errors import QualityError
from tests.fakes import FakeWorkspace
from tests.fakes.jobs_api import FakeJobsApi
from tests.unit.test_deploy_job_spec import SECRET_REFERENCE, assert_bundle_job_equals_api_spec, bundle_job

pytestmark = pytest.mark.usefixtures("hermetic_databricks_env")

SHA = "0123456789abcdef0123456789abcdef01234567"  # pragma: allowlist secret
GIT = GitRef(url="https://github.com/acme/retail", kind="commit", value=SHA)
CLIENT_ID = "6f1c1a3e-0000-4000-8000-00000000c11e"
CLIENT_SECRET = "dose" + "5ec4e7" * 8  # pragma: allowlist secret
ACCESS = "m2m-deploy-access-token"


def spec(**overrides: Any) -> dict[str, Any]:
    return build_job_settings(JobOptions(**{"git": GIT, **overrides})).as_dict()


def cluster_env(settings: dict[str, Any]) -> dict[str, str]:
    return dict(settings["job_clusters"][0]["new_cluster"]["spark_env_vars"])


class TestJobSpec:
    def test_an_oauth_job_reads_client_id_and_secret_from_the_scope_and_no_token(self) -> None:
        env = cluster_env(spec(auth="oauth-m2m", secret_scope="quality-prod"))

        assert env == {
            "DATABRICKS_HOST": "{{secrets/quality-prod/databricks_host}}",
            "DATABRICKS_HTTP_PATH": "{{secrets/quality-prod/databricks_http_path}}",
            "DATABRICKS_CLIENT_ID": "{{secrets/quality-prod/databricks_client_id}}",
            "DATABRICKS_CLIENT_SECRET": "{{secrets/quality-prod/databricks_client_secret}}",
            "DBT_CATALOG": "{{secrets/quality-prod/dbt_catalog}}",
            "DATABRICKS_AUTH_TYPE": "oauth-m2m",
        }

    def test_every_credential_is_a_secret_reference_and_the_only_literal_is_the_auth_type(self) -> None:
        for auth in ("pat", "oauth-m2m"):
            env = cluster_env(spec(auth=auth))
            literals = {name: value for name, value in env.items() if not SECRET_REFERENCE.match(value)}

            assert literals == ({"DATABRICKS_AUTH_TYPE": "oauth-m2m"} if auth == "oauth-m2m" else {})
            assert CLIENT_SECRET not in json.dumps(spec(auth=auth))

    def test_the_pat_job_is_unchanged_by_default(self) -> None:
        assert cluster_env(spec()) == cluster_env(spec(auth="pat"))
        assert "DATABRICKS_TOKEN" in cluster_env(spec())
        assert secret_env("pat") == SECRET_ENV

    def test_the_entry_script_requires_exactly_the_variables_the_oauth_job_gets(self) -> None:
        assert tuple(OAUTH_SECRET_ENV) == job_entry.OAUTH_REQUIRED_ENV
        assert tuple(SECRET_ENV) == job_entry.REQUIRED_ENV

    def test_an_unknown_auth_is_refused(self) -> None:
        with pytest.raises(QualityError, match=r"by 'pat' or 'oauth-m2m', not 'oauth'"):
            secret_env("oauth")  # type: ignore[arg-type]


class TestJobEntry:
    BASE: ClassVar[dict[str, str]] = {"DATABRICKS_HOST": "h", "DATABRICKS_HTTP_PATH": "p", "DBT_CATALOG": "c"}

    def test_with_oauth_the_client_id_and_secret_replace_the_token(self) -> None:
        oauth = {**self.BASE, "DATABRICKS_AUTH_TYPE": "oauth-m2m", "DATABRICKS_CLIENT_ID": "i"}

        assert job_entry.missing_env({**oauth, "DATABRICKS_CLIENT_SECRET": "s"}) == []
        assert job_entry.missing_env(oauth) == ["DATABRICKS_CLIENT_SECRET"]
        assert job_entry.missing_env(self.BASE) == ["DATABRICKS_TOKEN"]

    def test_a_missing_client_secret_fails_the_task_naming_it(self, capsys: pytest.CaptureFixture[str]) -> None:
        environ = {**self.BASE, "DATABRICKS_AUTH_TYPE": "oauth-m2m", "DATABRICKS_CLIENT_ID": "i"}

        assert job_entry.main(["gate", "--target", "prod"], environ) == 2
        assert capsys.readouterr().err.startswith("error: the job cluster lacks DATABRICKS_CLIENT_SECRET: ")


class TestAssetBundle:
    def test_the_prod_oauth_bundle_job_equals_the_api_job_spec_with_oauth(self) -> None:
        api = spec(auth="oauth-m2m", target="prod_oauth", requirements=runtime_requirements())
        assert_bundle_job_equals_api_spec("prod_oauth", api)

    def test_each_bundle_target_gets_one_kind_of_credentials(self) -> None:
        envs = {target: cluster_env(bundle_job(target)) for target in ("dev", "prod", "prod_oauth")}

        assert set(envs["dev"]) == set(envs["prod"]) == set(SECRET_ENV)
        assert set(envs["prod_oauth"]) == {*OAUTH_SECRET_ENV, "DATABRICKS_AUTH_TYPE"}

    def test_the_prod_oauth_dbt_target_is_prod_by_oauth_m2m(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from quality.dbt.project import load_project
        from quality.dbt.targets import resolve_target

        for name, value in {
            "DATABRICKS_HOST": "adb-1.2.azuredatabricks.net",
            "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/abc",
            "DATABRICKS_CLIENT_ID": CLIENT_ID,
            "DATABRICKS_CLIENT_SECRET": CLIENT_SECRET,
            "DBT_CATALOG": "main",
        }.items():
            monkeypatch.setenv(name, value)

        target = resolve_target(load_project(Path(__file__).resolve().parents[2] / "dbt"), "prod_oauth")

        assert target.is_prod
        assert target.databricks is not None
        assert (target.databricks.auth_type, target.databricks.client_id, target.databricks.token) == (
            "oauth",
            CLIENT_ID,
            None,
        )
        assert CLIENT_SECRET not in repr(target)


@pytest.fixture
def oauth_fake(fake_workspace: FakeWorkspace, monkeypatch: pytest.MonkeyPatch) -> FakeWorkspace:
    """The jobs fake as an OAuth server for one service principal; the deploy's environment has no token."""
    fake_workspace.serve_oauth_m2m(CLIENT_ID, CLIENT_SECRET, access_token=ACCESS)
    monkeypatch.delenv("DATABRICKS_TOKEN", raising=False)
    monkeypatch.setenv("DATABRICKS_HOST", fake_workspace.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/retail")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    return fake_workspace


def deploy_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["deploy", "--poll", "0.05", "--timeout", "10", "--outputs-dir", str(tmp_path / "out"), *extra]


class TestQualityDeployByM2M:
    def test_deploys_a_job_that_authenticates_by_oauth_logging_in_by_oauth_itself(
        self, oauth_fake: FakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        FakeJobsApi(oauth_fake, secrets={"quality": list(OAUTH_SECRET_ENV.values())})

        code = main(deploy_args(tmp_path, "--job-auth", "oauth-m2m"))

        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "run 5001 succeeded" in captured.out
        logins = oauth_fake.calls("POST", "/oidc/v1/token")
        assert len(logins) == 1
        assert logins[0].body.decode().startswith("grant_type=client_credentials")
        api_calls = [r for r in oauth_fake.requests if r.path.startswith("/api/")]
        assert api_calls
        assert {r.bearer_token for r in api_calls} == {ACCESS}
        created = oauth_fake.calls("POST", "/api/2.2/jobs/create")[0].json()
        env = created["job_clusters"][0]["new_cluster"]["spark_env_vars"]
        assert env["DATABRICKS_CLIENT_SECRET"] == "{{secrets/quality/databricks_client_secret}}"
        assert "DATABRICKS_TOKEN" not in env
        assert CLIENT_SECRET not in json.dumps(created)
        assert CLIENT_SECRET not in captured.out + captured.err
        assert ACCESS not in captured.out + captured.err

    def test_the_job_auth_comes_from_quality_job_auth_too(
        self, oauth_fake: FakeWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        FakeJobsApi(oauth_fake, secrets={"quality": list(OAUTH_SECRET_ENV.values())})
        monkeypatch.setenv("QUALITY_JOB_AUTH", "oauth-m2m")

        assert main(deploy_args(tmp_path)) == 0
        created = oauth_fake.calls("POST", "/api/2.2/jobs/create")[0].json()
        assert "DATABRICKS_CLIENT_ID" in created["job_clusters"][0]["new_cluster"]["spark_env_vars"]

    def test_a_scope_without_the_client_secret_stops_before_the_job_is_touched(
        self, oauth_fake: FakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        keys = [key for key in OAUTH_SECRET_ENV.values() if key != "databricks_client_secret"]
        FakeJobsApi(oauth_fake, secrets={"quality": keys})

        code = main(deploy_args(tmp_path, "--job-auth", "oauth-m2m"))

        err = capsys.readouterr().err
        assert code != 0
        assert "DATABRICKS_CLIENT_SECRET <- {{secrets/quality/databricks_client_secret}}" in err
        assert not oauth_fake.calls("POST", "/api/2.2/jobs/create")

    def test_a_wrong_client_secret_is_one_paragraph_without_the_secret(
        self,
        oauth_fake: FakeWorkspace,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        FakeJobsApi(oauth_fake, secrets={"quality": list(OAUTH_SECRET_ENV.values())})
        wrong = "dose" + "0" * 48  # pragma: allowlist secret
        monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", wrong)

        code = main(deploy_args(tmp_path, "--job-auth", "oauth-m2m"))

        err = capsys.readouterr().err
        assert code != 0
        assert re.search(
            r"refused the OAuth login \(auth oauth-m2m\) while listing secret scope 'quality' \(invalid_client: "
            r"Client authentication failed\): check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET",
            err.replace("\n", " "),
        ), err
        assert "Traceback" not in err
        assert wrong not in err
        assert not oauth_fake.calls("POST", "/api/2.2/jobs/create")

    def test_an_unknown_job_auth_is_refused_before_any_request(
        self, oauth_fake: FakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = main(deploy_args(tmp_path, "--job-auth", "oauth"))

        assert code != 0
        assert "--job-auth (or QUALITY_JOB_AUTH) is 'oauth'" in capsys.readouterr().err
        assert oauth_fake.requests == []
