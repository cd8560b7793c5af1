"""`quality deploy`: create or update the Databricks job that runs the gate, run it, and wait for its verdict."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quality.deploy.errors import DeployConfigError

if TYPE_CHECKING:
    from quality.deploy.job_spec import GitRef

DEFAULT_OUTPUTS_DIR = Path("artifacts/deploy")


def register(app: typer.Typer) -> None:
    app.command(name="deploy")(deploy_command)


def deploy_command(
    job_name: Annotated[str, typer.Option(help="Job name; default retail-quality-<target>.")] = "",
    target: Annotated[str, typer.Option(help="dbt target the job's gate and snapshot run on.")] = "prod",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the run and judge its result.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the run before failing.")] = 3600.0,
    poll: Annotated[float, typer.Option(help="Seconds between two polls of the run's state.")] = 10.0,
    secret_scope: Annotated[str, typer.Option(help="Databricks secret scope the job cluster reads.")] = "quality",
    git_url: Annotated[
        str, typer.Option(help="Repository the job checks out; default $QUALITY_GIT_URL or the GitHub repo.")
    ] = "",
    git_commit: Annotated[str, typer.Option(help="Commit to deploy; default $GITHUB_SHA.")] = "",
    git_tag: Annotated[str, typer.Option(help="Tag to deploy instead of a commit.")] = "",
    git_branch: Annotated[str, typer.Option(help="Branch to deploy instead of a commit.")] = "",
    node_type: Annotated[str, typer.Option(help="Node type of the single-node job cluster.")] = "i3.xlarge",
    spark_version: Annotated[str, typer.Option(help="Databricks Runtime of the job cluster.")] = "15.4.x-scala2.12",
    outputs_dir: Annotated[
        Path, typer.Option(help="Where task logs and dbt artifacts of the run are kept.")
    ] = DEFAULT_OUTPUTS_DIR,
    http_timeout: Annotated[float, typer.Option(help="Seconds one API request may take.")] = 60.0,
    retry_timeout: Annotated[int, typer.Option(help="Seconds of retries for a throttled API request.")] = 300,
    job_auth: Annotated[
        str,
        typer.Option(
            envvar="QUALITY_JOB_AUTH",
            help="How the job's tasks authenticate: pat (secret databricks_token) or oauth-m2m (secrets "
            "databricks_client_id and databricks_client_secret of a service principal).",
        ),
    ] = "pat",
) -> int:
    """Create or reset the managed gate job on Databricks (DATABRICKS_HOST + DATABRICKS_TOKEN or OAuth), run it
    once (refused while another run is active) and fail unless every task succeeded."""
    from quality.deploy.connection import auth_from_env, connect
    from quality.deploy.deployer import DeployPlan, deploy
    from quality.deploy.job_spec import JOB_AUTHS, JobOptions, build_job_settings

    auth = auth_from_env(os.environ)
    job_auth = job_auth.strip() or "pat"  # an empty QUALITY_JOB_AUTH (an unset CI variable) is the default
    if job_auth not in JOB_AUTHS:
        raise DeployConfigError(
            f"--job-auth (or QUALITY_JOB_AUTH) is {job_auth!r}; the job authenticates by 'pat' (a personal access "
            "token in the secret scope) or 'oauth-m2m' (a service principal's client id and secret there)."
        )
    git = resolve_git_ref(os.environ, url=git_url, commit=git_commit, tag=git_tag, branch=git_branch)
    options = JobOptions(
        git=git,
        target=target,
        job_name=job_name,
        secret_scope=secret_scope,
        node_type_id=node_type,
        spark_version=spark_version,
        auth="oauth-m2m" if job_auth == "oauth-m2m" else "pat",
    )
    client = connect(auth, http_timeout_seconds=http_timeout, retry_timeout_seconds=retry_timeout, say=typer.echo)
    plan = DeployPlan(
        settings=build_job_settings(options),
        secret_scope=secret_scope,
        wait=wait,
        timeout_seconds=timeout,
        poll_seconds=poll,
        outputs_dir=outputs_dir,
        auth=options.auth,
    )
    result = deploy(client, plan, say=typer.echo)
    if wait:
        typer.echo(f"run {result.run.run_id} succeeded: {result.run_page_url}")
        if result.outputs_dir:
            typer.echo(f"task outputs in {result.outputs_dir}")
    return 0


def resolve_git_ref(environ: Mapping[str, str], *, url: str, commit: str, tag: str, branch: str) -> GitRef:
    """The revision the job checks out: an explicit tag, commit or branch, else $GITHUB_SHA; never a guess."""
    from quality.deploy.job_spec import GitRef

    repo_url = url or environ.get("QUALITY_GIT_URL", "") or _github_url(environ)
    if not repo_url:
        raise DeployConfigError(
            "the job checks its code out from git, but no repository is known: pass --git-url or set "
            "QUALITY_GIT_URL (in GitHub Actions, GITHUB_SERVER_URL and GITHUB_REPOSITORY are used)."
        )
    if tag:
        return GitRef(url=repo_url, kind="tag", value=tag)
    if commit or environ.get("GITHUB_SHA"):
        return GitRef(url=repo_url, kind="commit", value=commit or environ["GITHUB_SHA"])
    if branch:
        return GitRef(url=repo_url, kind="branch", value=branch)
    raise DeployConfigError(
        "no revision to deploy: pass --git-commit, --git-tag or --git-branch, or set GITHUB_SHA (GitHub Actions "
        "sets it); deploying whatever a branch points to later is not done implicitly."
    )


def _github_url(environ: Mapping[str, str]) -> str:
    server, repository = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_REPOSITORY", "")
    return f"{server}/{repository}" if server and repository else ""
