"""The settings of the Databricks job that runs the quality gate in production.

One job, two tasks on one single-node job cluster, the code checked out from git at the deployed commit:

1. `gate`: a `spark_python_task` running `quality/deploy/job_entry.py gate --target <target>`, i.e. the
   write-audit-publish gate (build in an audit schema, dbt tests + GX, publish only if green).
2. `snapshot`: a `dbt_task` (`dbt deps`, `dbt snapshot --target <target>`) that runs only if the gate succeeded.

The cluster gets its credentials and workspace only from secret scope references (`{{secrets/<scope>/<key>}}`),
never a literal: a personal access token (`auth="pat"`, key `databricks_token`) or an OAuth service principal
(`auth="oauth-m2m"`, keys `databricks_client_id` and `databricks_client_secret`, plus the one literal that is
no secret, DATABRICKS_AUTH_TYPE=oauth-m2m, which switches dbt/profiles.yml to OAuth). The job carries the tag `managed-by: dbt-quality-harness` (the deploy resets only jobs with it),
`max_concurrent_runs: 1` and a disabled queue, so a second run is skipped rather than queued behind the first.
`resources/quality_job.yml` describes the same job as an Asset Bundle; a unit test keeps the two in step.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Literal

from databricks.sdk.service import compute, jobs

from quality.deploy.errors import DeployConfigError

DISTRIBUTION = "dbt-quality-harness"
MANAGED_BY_TAG: tuple[str, str] = ("managed-by", DISTRIBUTION)
DEFAULT_SECRET_SCOPE = "quality"  # pragma: allowlist secret (a scope name)
DEFAULT_TARGET = "prod"
GATE_TASK = "gate"
SNAPSHOT_TASK = "snapshot"
JOB_CLUSTER_KEY = "quality"
GATE_ENTRY_FILE = "quality/deploy/job_entry.py"
DBT_PROJECT_DIR = "dbt"
DBT_PROFILES_DIR = "."  # relative to the project directory, where dbt runs: dbt/profiles.yml
DEFAULT_SPARK_VERSION = "15.4.x-scala2.12"
DEFAULT_NODE_TYPE = "i3.xlarge"
DEFAULT_JOB_TIMEOUT_SECONDS = 3 * 3600

# Environment of the job cluster: variable -> key in the secret scope. The dbt profile (dbt/profiles.yml)
# reads these; DBT_SCHEMA is left to its default there (prod: analytics).
SECRET_ENV: dict[str, str] = {
    "DATABRICKS_HOST": "databricks_host",
    "DATABRICKS_HTTP_PATH": "databricks_http_path",
    "DATABRICKS_TOKEN": "databricks_token",
    "DBT_CATALOG": "dbt_catalog",
}

# The same job authenticating as an OAuth service principal (M2M) instead of with a token.
OAUTH_SECRET_ENV: dict[str, str] = {
    "DATABRICKS_HOST": "databricks_host",
    "DATABRICKS_HTTP_PATH": "databricks_http_path",
    "DATABRICKS_CLIENT_ID": "databricks_client_id",
    "DATABRICKS_CLIENT_SECRET": "databricks_client_secret",  # pragma: allowlist secret
    "DBT_CATALOG": "dbt_catalog",
}
# Variables that are settings, not secrets: written as they are.
OAUTH_PLAIN_ENV: dict[str, str] = {"DATABRICKS_AUTH_TYPE": "oauth-m2m"}

GitRefKind = Literal["commit", "tag", "branch"]
JobAuth = Literal["pat", "oauth-m2m"]
JOB_AUTHS: tuple[JobAuth, ...] = ("pat", "oauth-m2m")


def secret_env(auth: JobAuth = "pat") -> dict[str, str]:
    """Cluster variable -> key in the secret scope, for a job authenticating by `auth`."""
    if auth == "oauth-m2m":
        return dict(OAUTH_SECRET_ENV)
    if auth == "pat":
        return dict(SECRET_ENV)
    raise DeployConfigError(f"the job authenticates by 'pat' or 'oauth-m2m', not {auth!r}; pass one of them.")


def default_job_name(target: str = DEFAULT_TARGET) -> str:
    return f"retail-quality-{target}"


def secret_reference(scope: str, key: str) -> str:
    """The Databricks secret reference syntax resolved by the cluster at start: `{{secrets/<scope>/<key>}}`."""
    return "{{secrets/" + scope + "/" + key + "}}"


@dataclass(frozen=True)
class GitRef:
    """Which revision of the repository the job checks out."""

    url: str
    kind: GitRefKind
    value: str

    def source(self) -> jobs.GitSource:
        provider = jobs.GitProvider.GIT_HUB
        if self.kind == "commit":
            return jobs.GitSource(git_url=self.url, git_provider=provider, git_commit=self.value)
        if self.kind == "tag":
            return jobs.GitSource(git_url=self.url, git_provider=provider, git_tag=self.value)
        return jobs.GitSource(git_url=self.url, git_provider=provider, git_branch=self.value)


@dataclass(frozen=True)
class JobOptions:
    """Everything that varies between deployments of the job."""

    git: GitRef
    target: str = DEFAULT_TARGET
    job_name: str = ""
    secret_scope: str = DEFAULT_SECRET_SCOPE
    spark_version: str = DEFAULT_SPARK_VERSION
    node_type_id: str = DEFAULT_NODE_TYPE
    timeout_seconds: int = DEFAULT_JOB_TIMEOUT_SECONDS
    auth: JobAuth = "pat"  # how the job's tasks authenticate: a PAT, or an OAuth service principal
    requirements: tuple[str, ...] = field(default_factory=lambda: runtime_requirements())

    @property
    def name(self) -> str:
        return self.job_name or default_job_name(self.target)


def runtime_requirements() -> tuple[str, ...]:
    """The package's own runtime requirements (from its installed metadata), installed on the job cluster."""
    try:
        declared = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        raise DeployConfigError(
            f"the distribution '{DISTRIBUTION}' is not installed, so the job's libraries cannot be derived from "
            "its requirements; run `uv sync` in the repository and deploy again."
        ) from None
    return tuple(requirement for requirement in declared if "extra ==" not in requirement)


def cluster_env(scope: str, auth: JobAuth = "pat") -> dict[str, str]:
    """The job cluster's environment: secret references, plus (OAuth) the auth type, which is no secret."""
    env = {name: secret_reference(scope, key) for name, key in secret_env(auth).items()}
    return {**env, **OAUTH_PLAIN_ENV} if auth == "oauth-m2m" else env


def build_job_settings(options: JobOptions) -> jobs.JobSettings:
    libraries = [compute.Library(pypi=compute.PythonPyPiLibrary(package=req)) for req in options.requirements]
    return jobs.JobSettings(
        name=options.name,
        description=(
            f"Write-audit-publish quality gate on target '{options.target}', then dbt snapshots. "
            "Managed by `quality deploy`: edits in the UI are overwritten."
        ),
        tags=dict([MANAGED_BY_TAG]),
        max_concurrent_runs=1,
        queue=jobs.QueueSettings(enabled=False),
        timeout_seconds=options.timeout_seconds,
        format=jobs.Format.MULTI_TASK,
        git_source=options.git.source(),
        job_clusters=[_job_cluster(options)],
        tasks=[_gate_task(options, libraries), _snapshot_task(options, libraries)],
    )


def _job_cluster(options: JobOptions) -> jobs.JobCluster:
    return jobs.JobCluster(
        job_cluster_key=JOB_CLUSTER_KEY,
        new_cluster=compute.ClusterSpec(
            spark_version=options.spark_version,
            node_type_id=options.node_type_id,
            num_workers=0,
            spark_conf={"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*, 4]"},
            custom_tags={"ResourceClass": "SingleNode"},
            spark_env_vars=cluster_env(options.secret_scope, options.auth),
        ),
    )


def _gate_task(options: JobOptions, libraries: list[compute.Library]) -> jobs.Task:
    return jobs.Task(
        task_key=GATE_TASK,
        description="quality gate: build in an audit schema, dbt tests + Great Expectations, publish if green",
        job_cluster_key=JOB_CLUSTER_KEY,
        spark_python_task=jobs.SparkPythonTask(
            python_file=GATE_ENTRY_FILE,
            source=jobs.Source.GIT,
            parameters=["gate", "--target", options.target],
        ),
        libraries=libraries,
        max_retries=0,
    )


def _snapshot_task(options: JobOptions, libraries: list[compute.Library]) -> jobs.Task:
    return jobs.Task(
        task_key=SNAPSHOT_TASK,
        description="dbt snapshots of the published tables; runs only after a green gate",
        depends_on=[jobs.TaskDependency(task_key=GATE_TASK)],
        run_if=jobs.RunIf.ALL_SUCCESS,
        job_cluster_key=JOB_CLUSTER_KEY,
        dbt_task=jobs.DbtTask(
            project_directory=DBT_PROJECT_DIR,
            profiles_directory=DBT_PROFILES_DIR,
            commands=["dbt deps", f"dbt snapshot --target {options.target}"],
            source=jobs.Source.GIT,
        ),
        libraries=libraries,
        max_retries=0,
    )
