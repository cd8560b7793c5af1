"""`quality deploy` through the CLI: environment checks, git revision, and a full run against the fake."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from quality.cli import main
from quality.commands.deploy import resolve_git_ref
from quality.deploy.errors import DeployConfigError
from quality.deploy.job_spec import SECRET_ENV, GitRef
from tests.fakes import DEFAULT_TOKEN, FakeWorkspace, refusing_port, silent_server
from tests.fakes.jobs_api import FakeJobsApi

SHA = "89abcdef0123456789abcdef0123456789abcdef"  # pragma: allowlist secret
REPO = "https://github.com/acme/retail"


pytestmark = pytest.mark.usefixtures("hermetic_databricks_env")


@pytest.fixture
def fake(fake_workspace: FakeWorkspace) -> FakeWorkspace:
    return fake_workspace


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--job-name", "--wait", "--no-wait", "--timeout", "--secret-scope", "--git-commit"):
        assert option in out


def test_a_missing_host_is_named_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy"]) == 1
    assert "DATABRICKS_HOST is not set: export the workspace URL" in capsys.readouterr().err


def test_missing_credentials_name_both_ways_to_authenticate(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.2.azuredatabricks.net")

    assert main(["deploy"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "no Databricks credentials for https://adb-1.2.azuredatabricks.net: set DATABRICKS_TOKEN" in err
    assert "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET" in err


def test_an_oauth_client_without_its_secret_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.2.azuredatabricks.net")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "sp-client")

    assert main(["deploy"]) == 1
    assert "DATABRICKS_CLIENT_SECRET is not" in " ".join(capsys.readouterr().err.split())


class TestGitRevision:
    def test_github_actions_variables_give_repo_and_commit(self) -> None:
        environ = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/retail", "GITHUB_SHA": SHA}

        assert resolve_git_ref(environ, url="", commit="", tag="", branch="") == GitRef(REPO, "commit", SHA)

    def test_an_explicit_tag_wins_over_the_ambient_commit(self) -> None:
        ref = resolve_git_ref({"GITHUB_SHA": SHA}, url=REPO, commit="", tag="v1.4.0", branch="")

        assert ref == GitRef(REPO, "tag", "v1.4.0")

    def test_a_branch_is_used_only_when_asked(self) -> None:
        assert resolve_git_ref({}, url=REPO, commit="", tag="", branch="main") == GitRef(REPO, "branch", "main")

    def test_no_revision_is_an_error_not_a_guess(self) -> None:
        with pytest.raises(DeployConfigError, match=r"^no revision to deploy: pass --git-commit"):
            resolve_git_ref({}, url=REPO, commit="", tag="", branch="")

    def test_no_repository_is_an_error(self) -> None:
        with pytest.raises(DeployConfigError, match=r"QUALITY_GIT_URL"):
            resolve_git_ref({"GITHUB_SHA": SHA}, url="", commit="", tag="", branch="")


def test_a_full_deploy_through_the_cli(
    fake: FakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeJobsApi(fake, secrets={"quality": list(SECRET_ENV.values())})
    monkeypatch.setenv("DATABRICKS_HOST", fake.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/retail")
    monkeypatch.setenv("GITHUB_SHA", SHA)

    code = main(["deploy", "--poll", "0.05", "--timeout", "10", "--outputs-dir", str(tmp_path / "out")])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    host = fake.url.removeprefix("http://")
    assert captured.out.startswith(
        f"connecting to Databricks at {host} (giving up after 300 s)\n"
        "created job 'retail-quality-prod' (id 1001)\nstarted run 5001\n"
    )
    assert captured.out.endswith(
        f"run 5001 succeeded: {fake.url}/#job/1001/run/5001\ntask outputs in {tmp_path / 'out' / '5001'}\n"
    )
    created = fake.calls("POST", "/api/2.2/jobs/create")[0].json()
    assert created["git_source"] == {"git_url": REPO, "git_provider": "gitHub", "git_commit": SHA}
    assert DEFAULT_TOKEN not in captured.out + captured.err


class TestBoundedWaits:
    """`--http-timeout 5 --retry-timeout 5` bound the whole connect: fail well within 15 s, saying why."""

    ARGS = ("deploy", "--http-timeout", "5", "--retry-timeout", "5", "--git-url", REPO, "--git-commit", SHA)

    def _deploy(self, host: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, float]:
        monkeypatch.setenv("DATABRICKS_HOST", host)
        monkeypatch.setenv("DATABRICKS_TOKEN", DEFAULT_TOKEN)
        started = time.monotonic()
        code = main(list(self.ARGS))
        return code, time.monotonic() - started

    def test_a_refused_port_fails_at_once(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with refusing_port() as port:
            code, elapsed = self._deploy(f"http://127.0.0.1:{port}", monkeypatch)

        captured = capsys.readouterr()
        assert (code, elapsed < 15) == (1, True), (elapsed, captured.err)
        assert captured.out == f"connecting to Databricks at 127.0.0.1:{port} (giving up after 5 s)\n"
        err = " ".join(captured.err.split())
        assert f"could not reach Databricks at http://127.0.0.1:{port} while connecting (ConnectionRefusedError)" in err

    def test_a_hanging_host_fails_after_the_timeout_with_progress(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with silent_server() as server:
            code, elapsed = self._deploy(server.url, monkeypatch)

        captured = capsys.readouterr()
        assert (code, 5 <= elapsed < 15) == (1, True), (elapsed, captured.err)
        host = f"127.0.0.1:{server.port}"
        first, *progress = captured.out.splitlines()
        assert first == f"connecting to Databricks at {host} (giving up after 5 s)"
        assert 1 <= len(progress) <= 2, progress  # every 5/3 s; a loaded machine can wake late
        assert all(re.fullmatch(rf"still waiting for {re.escape(host)}: [1-5] s of 5 s", line) for line in progress)
        err = " ".join(captured.err.split())
        assert f"Databricks at {host} did not answer within 5 s while connecting" in err
        assert DEFAULT_TOKEN not in captured.out + captured.err
