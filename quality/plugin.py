"""The pytest plugin (entry point `pytest11`): ephemeral dbt builds checked by Great Expectations.

Importing this module imports neither dbt nor GX: fixtures import them when first used, so a test run
that needs neither pays nothing for them.

Fixtures (session-scoped, one workspace per xdist worker):
    dbt_project     the dbt project (--dbt-project-dir)
    dbt_target      the resolved target (--dbt-target)
    ephemeral_schema  the workspace: base name, engine, raw schema; dropped at the end (unless --keep-schema)
    dbt             a `DbtInvoker` bound to target and schema: `dbt.run(["build"])`, `expect_pass=False`
    seed_fixtures   loads the raw fixture CSVs into the workspace's raw schema; returns rows per table
                    (none when there are no fixture files: the project's seeds are then its raw data)
    dbt_build       seed_fixtures + one `dbt build` of the whole project, shared by the session; a declared
                    source with no data (no fixture, no seed, no table) is one error naming it
    gx              validates models against their suites: `gx.validate("fct_orders")`, `gx.assert_valid(...)`
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from quality.engines.base import Engine
    from quality.gx_fixture import GxValidator
    from quality.project import DbtProject
    from quality.runner import DbtInvoker, DbtRun
    from quality.targets import Target
    from quality.workspace import Workspace

RUN_ID_KEY = "quality_run_id"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("quality", "dbt quality harness")
    group.addoption(
        "--dbt-project-dir",
        default=None,
        help="folder holding dbt_project.yml (default: ini dbt_project_dir, else ./dbt)",
    )
    group.addoption(
        "--dbt-profiles-dir",
        default=None,
        help="folder holding profiles.yml (default: the project's, else DBT_PROFILES_DIR, else ~/.dbt)",
    )
    group.addoption(
        "--dbt-target",
        default=None,
        help="dbt target to build in (default: DBT_TARGET, else the profile's default)",
    )
    group.addoption(
        "--schema-prefix",
        default=None,
        help="prefix of the ephemeral schema names (default: ci under CI=true, else dev)",
    )
    group.addoption(
        "--keep-schema",
        action="store_true",
        default=False,
        help="keep the ephemeral schemas (and DuckDB file) after the run, for debugging",
    )
    group.addoption(
        "--raw-fixtures-dir",
        default=None,
        help="folder of <table>.csv raw fixtures (default: ini raw_fixtures_dir, else tests/fixtures/raw)",
    )
    group.addoption(
        "--artifacts-dir",
        default=None,
        help="where dbt artifacts and Data Docs of each run go (default: artifacts/pytest)",
    )
    group.addoption(
        "--keep-runs",
        default=None,
        help="run folders kept in the artifacts dir; older ones are removed at the end (default: "
        "QUALITY_KEEP_RUNS, else 20)",
    )
    group.addoption(
        "--runs-dir",
        default=None,
        help="run folders of `quality gate` (publish records for prod_smoke; default: artifacts/runs)",
    )
    group.addoption(
        "--smoke-row-tolerance",
        type=float,
        default=0.5,
        help="prod_smoke: allowed relative change of row counts against the previous publish (default 0.5)",
    )
    parser.addini("dbt_project_dir", "folder holding dbt_project.yml", default="dbt")
    parser.addini("raw_fixtures_dir", "folder of raw fixture CSVs", default="tests/fixtures/raw")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: builds the dbt project for real in an ephemeral schema")
    config.addinivalue_line("markers", "prod_smoke: read-only checks of a deployed (prod) target")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    if not hasattr(config, "workerinput"):
        from quality.artifacts import keep_runs_setting
        from quality.errors import UsageError
        from quality.schemas import new_run_id

        config.stash[_run_id_key] = new_run_id()
        try:
            config.stash[_keep_runs_key] = keep_runs_setting(config.getoption("--keep-runs"))
        except UsageError as error:
            raise pytest.UsageError(str(error)) from None
    else:
        config.stash[_run_id_key] = config.workerinput[RUN_ID_KEY]  # type: ignore[attr-defined]


_run_id_key = pytest.StashKey[str]()
_keep_runs_key = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The controller keeps the newest --keep-runs run folders of the artifacts dir (workers are done by now)."""
    config = session.config
    if hasattr(config, "workerinput") or _keep_runs_key not in config.stash:
        return
    from quality.artifacts import prune_runs

    prune_runs(_artifacts_root(config), config.stash[_keep_runs_key], current=config.stash[_run_id_key])


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker shares the controller's run id, so one run's schemas share one name stem."""
    node.workerinput[RUN_ID_KEY] = node.config.stash[_run_id_key]


def _worker_id(config: pytest.Config) -> str | None:
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else None


def _option(config: pytest.Config, name: str, ini: str | None = None) -> str | None:
    value = config.getoption(name)
    if value is None and ini is not None:
        value = config.getini(ini)
    return value


def _path_option(config: pytest.Config, name: str, ini: str) -> Path:
    value = Path(str(_option(config, name, ini)))
    return value if value.is_absolute() else Path(config.rootpath) / value


def _artifacts_root(config: pytest.Config) -> Path:
    return Path(config.getoption("--artifacts-dir") or Path(config.rootpath) / "artifacts" / "pytest")


@pytest.fixture(scope="session")
def dbt_project(pytestconfig: pytest.Config) -> DbtProject:
    from quality.project import load_project
    from quality.python_support import unsupported_python

    if (refusal := unsupported_python()) is not None:
        pytest.fail(refusal, pytrace=False)

    return load_project(
        _path_option(pytestconfig, "--dbt-project-dir", "dbt_project_dir"),
        pytestconfig.getoption("--dbt-profiles-dir"),
        option="--dbt-project-dir (or ini dbt_project_dir)",
    )


@pytest.fixture(scope="session")
def dbt_target(pytestconfig: pytest.Config, dbt_project: DbtProject) -> Target:
    from quality.emulator.activation import activate_for
    from quality.targets import default_target_name, resolve_target

    name = pytestconfig.getoption("--dbt-target")
    # `local_databricks` starts a local endpoint with a throwaway warehouse per worker (builds are ephemeral).
    activate_for(name or default_target_name(dbt_project), state_dir=None)
    return resolve_target(dbt_project, name)


@pytest.fixture(scope="session")
def ephemeral_schema(pytestconfig: pytest.Config, dbt_project: DbtProject, dbt_target: Target) -> Iterator[Workspace]:
    from quality.workspace import open_workspace

    prefix = pytestconfig.getoption("--schema-prefix") or ("ci" if os.environ.get("CI") else "dev")
    workspace = open_workspace(
        dbt_project,
        dbt_target,
        prefix=prefix,
        artifacts_root=_artifacts_root(pytestconfig),
        run_id=pytestconfig.stash[_run_id_key],
        worker=_worker_id(pytestconfig),
        keep=pytestconfig.getoption("--keep-schema"),
        quiet=True,
    )
    with _terminate_as_interrupt():
        try:
            yield workspace
        finally:
            workspace.close()


@pytest.fixture(scope="session")
def dbt(ephemeral_schema: Workspace) -> DbtInvoker:
    return ephemeral_schema.dbt


def _raw_fixtures_dir(config: pytest.Config) -> Path:
    return _path_option(config, "--raw-fixtures-dir", "raw_fixtures_dir")


@pytest.fixture(scope="session")
def seed_fixtures(pytestconfig: pytest.Config, ephemeral_schema: Workspace) -> dict[str, int]:
    """Load the raw fixture CSVs; with none (no folder, or no .csv in it) nothing: the seeds are the raw data.

    A folder passed with --raw-fixtures-dir must hold fixtures (a typo is an error, not an empty load).
    """
    from quality.raw_sources import fixture_folder

    directory = _raw_fixtures_dir(pytestconfig)
    explicit = pytestconfig.getoption("--raw-fixtures-dir") is not None
    folder = directory if explicit else fixture_folder(directory)
    return ephemeral_schema.load_fixtures(folder) if folder is not None else {}


@pytest.fixture(scope="session")
def dbt_build(pytestconfig: pytest.Config, ephemeral_schema: Workspace, seed_fixtures: dict[str, int]) -> DbtRun:
    """One `dbt build` (seeds first, as dbt orders them); refused first, naming them, if sources have no data."""
    from quality.errors import QualityError
    from quality.raw_sources import require_source_data

    manifest = ephemeral_schema.parse()
    hint = _raw_data_hint(_raw_fixtures_dir(pytestconfig), loaded=bool(seed_fixtures))
    refusal = None
    try:
        require_source_data(ephemeral_schema.engine, manifest, f"the test workspace {ephemeral_schema.base}", hint)
    except QualityError as error:
        refusal = str(error)
    if refusal is not None:  # one readable line, no traceback
        pytest.fail(refusal, pytrace=False)
    return ephemeral_schema.dbt.run(["build"])


def _raw_data_hint(directory: Path, *, loaded: bool) -> str:
    if loaded:
        return f"Add one <table>.csv per missing source table to {directory}, or make it a seed of the project."
    where = "holds no <table>.csv" if directory.is_dir() else "does not exist"
    return (
        f"No raw fixtures were loaded ({directory} {where}). Give the tests raw data with "
        "--raw-fixtures-dir <folder> (or ini raw_fixtures_dir) holding one <table>.csv per source table, "
        "or make those tables seeds of the project."
    )


@pytest.fixture(scope="session")
def gx(ephemeral_schema: Workspace) -> GxValidator:
    from quality.gx_fixture import GxValidator

    return GxValidator(ephemeral_schema)


@pytest.fixture(scope="session")
def prod_engine(dbt_target: Target) -> Iterator[Engine]:
    """A READ-ONLY connection to the target (only reads are sent, on every engine); for `prod_smoke` tests."""
    from quality.engines.factory import open_engine

    engine = open_engine(dbt_target, read_only=True)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def prod_manifest(pytestconfig: pytest.Config, dbt_project: DbtProject, dbt_target: Target) -> dict[str, Any]:
    """The project parsed for the target itself (no ephemeral base): where prod relations live."""
    from quality.runner import DbtInvoker

    folder = Path(pytestconfig.rootpath) / "artifacts" / "pytest" / f"prod_manifest_{dbt_target.name}"
    return DbtInvoker(dbt_project, dbt_target, folder, quiet=True).parse()


@pytest.fixture(scope="session")
def runs_dir(pytestconfig: pytest.Config) -> Path:
    value = Path(pytestconfig.getoption("--runs-dir") or "artifacts/runs")
    return value if value.is_absolute() else Path(pytestconfig.rootpath) / value


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """After `pytest -m prod_smoke`: one line per check, readable in seconds."""
    reports = [
        r
        for key in ("passed", "failed", "error")
        for r in terminalreporter.stats.get(key, [])
        if getattr(r, "when", "call") in {"call", "setup"}
        and "prod_smoke" in getattr(r, "keywords", {})
        and (r.when == "call" or r.failed)
    ]
    if not reports:
        return
    terminalreporter.section("prod smoke")
    for report in reports:
        name = report.nodeid.split("::")[-1].removeprefix("test_").replace("_", " ")
        mark = "PASS" if report.passed else "FAIL"
        terminalreporter.write_line(f"{mark}  {name}", green=report.passed, red=not report.passed)
        if not report.passed:
            message = str(getattr(report.longrepr, "reprcrash", None) and report.longrepr.reprcrash.message)
            terminalreporter.write_line(f"      {message.splitlines()[0] if message else ''}")


class _terminate_as_interrupt:
    """Turn SIGTERM into KeyboardInterrupt while active, so pytest tears fixtures down and schemas are dropped."""

    def __enter__(self) -> None:
        self.previous = signal.getsignal(signal.SIGTERM)
        if self.previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _raise_interrupt)

    def __exit__(self, *exc: object) -> None:
        if self.previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
