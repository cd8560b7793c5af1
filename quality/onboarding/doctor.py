"""`quality doctor` checks: each returns a `Check` with the fix when something is wrong."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quality.dbt.project import DbtProject, load_project
from quality.dbt.runner import invoke_dbt
from quality.dbt.targets import Target, resolve_target
from quality.engines.kinds import engine_kind, kinds
from quality.errors import QualityError


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str


# (distribution, lowest allowed, first refused, why)
VERSION_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("dbt-core", "1.11", "1.12", "1.12+ pulls dbt-core-experimental-parser, which downloads from GitHub"),
    ("great-expectations", "1.24", "1.25", "the DuckDB shim is tested on GX 1.24 only"),
    ("sqlalchemy", "2.0", "2.1", "SQLAlchemy 2.1 breaks duckdb-engine reflection"),
)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def check_python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", "ok" if ok else "fail", sys.version.split()[0] + ("" if ok else ": use Python 3.11+"))


def check_versions() -> list[Check]:
    checks = []
    for dist, low, high, why in VERSION_RULES:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check(dist, "fail", "not installed: run `uv sync --frozen`"))
            continue
        ok = _version_tuple(low) <= _version_tuple(version) < _version_tuple(high)
        detail = version if ok else f"{version} is outside >={low},<{high} ({why}): run `uv sync --frozen`"
        checks.append(Check(dist, "ok" if ok else "fail", detail))
    for dist in sorted({dist for kind in kinds() for dist in kind.distributions}):
        try:
            checks.append(Check(dist, "ok", importlib.metadata.version(dist)))
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check(dist, "fail", "not installed: run `uv sync --frozen`"))
    return checks


def check_project(
    project_dir: Path, profiles_dir: Path | None, target: str | None
) -> tuple[list[Check], Target | None, DbtProject | None]:
    try:
        project = load_project(project_dir, profiles_dir)
    except QualityError as error:
        return [Check("dbt project", "fail", str(error))], None, None
    checks = [Check("dbt project", "ok", f"{project.name} at {project.root}, profiles in {project.profiles_dir}")]
    try:
        resolved = resolve_target(project, target)
    except QualityError as error:
        return [*checks, Check("target", "fail", str(error))], None, project
    return [*checks, Check("target", "ok", resolved.describe())], resolved, project


def check_connection(target: Target) -> Check:
    from quality.engines.factory import open_engine

    try:
        kind = engine_kind(target)
        engine = open_engine(target, read_only=kind.inspects_read_only and kind.warehouse_exists(target))
    except QualityError as error:
        return Check("connection", "fail", str(error))
    auth = getattr(engine, "auth_type", None)  # pat, oauth-m2m or oauth-u2m on Databricks
    engine.close()
    return Check("connection", "ok", f"connected to {target.describe()}" + (f" (auth {auth})" if auth else ""))


def check_publish_record(target: Target) -> Check:
    """The target's publish record holds no publish or rollback that stopped part-way (a crash)."""
    from quality.engines import run_log
    from quality.engines.factory import open_engine

    kind = engine_kind(target)
    if not kind.warehouse_exists(target):
        return Check("publish record", "ok", "no warehouse yet: nothing published")
    try:
        engine = open_engine(target, read_only=kind.inspects_read_only)
    except QualityError as error:
        return Check("publish record", "fail", str(error))
    try:
        problem = run_log.unfinished_problem(engine, target.name)
    finally:
        engine.close()
    return (
        Check("publish record", "fail", problem) if problem else Check("publish record", "ok", "no unfinished publish")
    )


def check_dbt_debug(project: DbtProject, target: Target) -> Check:
    args = [
        "debug",
        "--project-dir",
        str(project.root),
        "--profiles-dir",
        str(project.profiles_dir),
        "--target",
        target.name,
        "--quiet",
    ]
    result = invoke_dbt(args)
    if result.success:
        return Check("dbt debug", "ok", "profile, project and connection are valid")
    return Check(
        "dbt debug",
        "fail",
        f"dbt debug failed ({result.exception or 'see output above'}); run `dbt debug --target {target.name}` in {project.root}",
    )


def check_precommit(repo: Path = Path(".")) -> Check:
    hooks = repo / ".git" / "hooks"
    missing = [name for name in ("pre-commit", "commit-msg", "pre-push") if not (hooks / name).is_file()]
    if not missing:
        return Check("pre-commit hooks", "ok", "installed for pre-commit, commit-msg and pre-push")
    return Check("pre-commit hooks", "warn", f"not installed for {', '.join(missing)}: run `uv run pre-commit install`")


def run_checks(project_dir: Path, profiles_dir: Path | None, target: str | None, *, debug: bool = True) -> list[Check]:
    checks = [check_python(), *check_versions()]
    project_checks, resolved, project = check_project(project_dir, profiles_dir, target)
    checks += project_checks
    steps: list[Callable[[], Check]] = []
    if resolved is not None and project is not None:
        steps.append(lambda: check_connection(resolved))
        steps.append(lambda: check_publish_record(resolved))
        if debug:
            steps.append(lambda: check_dbt_debug(project, resolved))
    steps.append(check_precommit)
    for step in steps:
        checks.append(step())
        if checks[-1].name == "connection" and checks[-1].status == "fail":
            break
    return checks
