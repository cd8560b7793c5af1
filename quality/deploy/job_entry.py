"""Entry point of the Databricks job's `gate` task: runs the `quality` CLI from the job's git checkout.

Databricks runs this file as a `spark_python_task` (source GIT) with the task's parameters as arguments,
e.g. `gate --target prod`. It first checks that every variable the cluster should get from the secret
scope is present (a missing one fails the task at start, naming the variable): the token, or with
DATABRICKS_AUTH_TYPE=oauth-m2m the service principal's client id and secret. Then it puts the checkout on
`sys.path`, moves into it (dbt and the gate resolve `dbt/` and `artifacts/` relative to it) and hands over
to `quality.cli.main`. The exit code becomes the task's result: non-zero marks the task FAILED.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Kept in step with quality.deploy.job_spec.SECRET_ENV / OAUTH_SECRET_ENV (a unit test compares them); no
# package import happens before the checkout is on sys.path.
REQUIRED_ENV: tuple[str, ...] = (
    "DATABRICKS_HOST",
    "DATABRICKS_HTTP_PATH",
    "DATABRICKS_TOKEN",
    "DBT_CATALOG",
)
OAUTH_REQUIRED_ENV: tuple[str, ...] = (
    "DATABRICKS_HOST",
    "DATABRICKS_HTTP_PATH",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DBT_CATALOG",
)
OAUTH_AUTH_TYPES = frozenset({"oauth", "oauth-m2m"})


def missing_env(environ: Mapping[str, str]) -> list[str]:
    oauth = environ.get("DATABRICKS_AUTH_TYPE", "").strip().lower() in OAUTH_AUTH_TYPES
    return [name for name in (OAUTH_REQUIRED_ENV if oauth else REQUIRED_ENV) if not environ.get(name)]


def checkout_root() -> Path:
    """The repository root: two levels above this file, or the working directory if `__file__` is unset."""
    here = globals().get("__file__")
    return Path(here).resolve().parents[2] if here else Path.cwd()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    missing = missing_env(os.environ if environ is None else environ)
    if missing:
        names = ", ".join(missing)
        print(
            f"error: the job cluster lacks {names}: each must come from the job's secret scope via "
            "spark_env_vars ({{secrets/<scope>/<key>}}); put the secret with `databricks secrets put-secret` "
            "and run `quality deploy` again.",
            file=sys.stderr,
        )
        return 2
    root = checkout_root()
    sys.path.insert(0, str(root))
    os.chdir(root)
    from quality.cli import main as quality_main

    started = time.time()
    status = quality_main(args)
    if args[:1] == ["gate"]:
        from quality.observability.artifacts import DEFAULT_ROOT  # the gate's --artifacts-dir default, relative to root

        _relay_report(root / DEFAULT_ROOT, started)
    return status


def _relay_report(runs_root: Path, started: float) -> None:
    """Print this gate run's report.json into the task's logs, where `quality deploy` picks it up."""
    from quality.deploy.outputs import print_report

    reports = [path for path in runs_root.glob("*/report.json") if path.stat().st_mtime >= started]
    if reports:
        print_report(max(reports, key=lambda path: path.stat().st_mtime))


if __name__ == "__main__":
    raise SystemExit(main())
