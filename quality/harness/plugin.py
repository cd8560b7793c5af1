"""The pytest plugin (entry point `pytest11`): ephemeral dbt builds checked by Great Expectations.

Importing this module imports neither dbt nor GX: fixtures import them when first used, so a test run
that needs neither pays nothing for them.

Shared fixtures (session-scoped; ONE build per run, shared by every xdist worker, read-only):
    dbt_project     the dbt project (--dbt-project-dir)
    dbt_target      the resolved target (--dbt-target)
    ephemeral_schema  the shared workspace (base name, engine, raw schema), once it is built: the first
                    worker to use it loads the raw fixtures and runs `dbt build` under a lock, the others
                    wait and reuse that build. Its engine and its dbt are read-only: a write is refused
                    with an error naming the per-worker fixtures, in serial and parallel runs alike
    seed_fixtures   rows per raw fixture table loaded into the shared build (none when there are no
                    fixture files: the project's seeds are then its raw data)
    dbt_build       the shared build's `DbtRun` (seeds first, as dbt orders them); a failed build fails
                    in every worker with dbt's message and is not built again; a declared source with no
                    data (no fixture, no seed, no table) is one error naming it
    gx              validates models of the shared build: `gx.validate("fct_orders")`, `gx.assert_valid(...)`
    shared_build    what the build left: base, builder worker, built_here, elapsed (None per worker)
The run's owner (the xdist controller, or the serial process) drops the shared base after every worker
is done, on failures, Ctrl-C and SIGTERM too (`--keep-schema` keeps it).

Per-worker fixtures (session-scoped, one writable workspace per xdist worker, `gw0` in a serial run), for
tests that change data:
    worker_schema   a writable workspace of this worker, dropped at the end of its session
    worker_dbt      a `DbtInvoker` bound to it: `dbt.run(["build"])`, `expect_pass=False`
    dbt             the same as worker_dbt (dbt commands write, so they never run on the shared build)
    worker_seed_fixtures  the raw fixtures loaded into worker_schema
    worker_build    worker_seed_fixtures + one `dbt build` in worker_schema
    worker_gx       validates models of worker_schema
`--build-per-worker` (ini `build_per_worker`) makes ephemeral_schema, seed_fixtures, dbt_build and gx the
per-worker ones again (each worker builds the whole project in its own base), for suites that need it;
the `local_databricks` target always builds per worker (its endpoint and warehouse are per process).
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from quality.dbt.project import DbtProject
    from quality.dbt.runner import DbtInvoker, DbtRun
    from quality.dbt.targets import Target
    from quality.engines.base import Engine
    from quality.harness.gx_fixture import GxValidator
    from quality.harness.literal_sources import StandIns
    from quality.harness.shared_build import SharedBuild
    from quality.harness.workspace import Workspace

RUN_ID_KEY = "quality_run_id"
STARTED_KEY = "quality_started_at"
SERIAL_WORKER = "gw0"  # the per-worker fixtures' worker in a serial run


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("quality", "dbt quality harness")
    _add_project_options(group)
    _add_workspace_options(group)
    _add_run_folder_options(group)
    _add_ini(parser)


def _add_project_options(group: pytest.OptionGroup) -> None:
    """Which dbt project, profiles and target the builds use."""
    group.addoption(
        "--dbt-project-dir",
        default=None,
        help="folder holding dbt_project.yml (default: ini dbt_project_dir, else ./dbt)",
    )
    group.addoption(
        "--dbt-profiles-dir",
        default=None,
        help="folder holding profiles.yml (default: DBT_PROFILES_DIR, else the working directory, else the project folder, else ~/.dbt)",
    )
    group.addoption(
        "--dbt-target",
        default=None,
        help="dbt target to build in (default: DBT_TARGET, else the profile's default)",
    )


def _add_workspace_options(group: pytest.OptionGroup) -> None:
    """How the ephemeral workspaces are named, kept, shared and loaded."""
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
        "--build-per-worker",
        action="store_true",
        default=None,
        help="give every xdist worker its own build for ephemeral_schema, seed_fixtures, dbt_build and gx "
        "(default, or ini build_per_worker = false: one read-only build shared by the workers)",
    )
    group.addoption(
        "--dbt-vars",
        default=None,
        help="the project's own dbt vars for every build, as for dbt --vars: '{load_source_data: true}' "
        "(default: ini dbt_vars)",
    )
    group.addoption(
        "--raw-fixtures-dir",
        default=None,
        help="folder of <table>.csv raw fixtures (default: ini raw_fixtures_dir, else tests/fixtures/raw)",
    )


def _add_run_folder_options(group: pytest.OptionGroup) -> None:
    """Where run folders go and how many are kept; what prod_smoke reads and allows."""
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
        "--keep-size",
        default=None,
        help="most disk space the run folders of the artifacts dir may take; the oldest beyond it are removed "
        "at the end, after --keep-runs (default: QUALITY_KEEP_SIZE, else 500MB)",
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


def _add_ini(parser: pytest.Parser) -> None:
    """The ini settings (pytest.ini / pyproject.toml) behind some of the options."""
    parser.addini("dbt_project_dir", "folder holding dbt_project.yml", default="dbt")
    parser.addini("raw_fixtures_dir", "folder of raw fixture CSVs", default="tests/fixtures/raw")
    parser.addini("dbt_vars", "the project's own dbt vars for every build (YAML mapping, as dbt --vars)", default="")
    parser.addini(
        "build_per_worker",
        "every xdist worker builds for itself instead of sharing one read-only build",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    _skip_the_exit_collection()
    config.addinivalue_line("markers", "integration: builds the dbt project for real in an ephemeral schema")
    config.addinivalue_line("markers", "prod_smoke: read-only checks of a deployed (prod) target")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    if not hasattr(config, "workerinput"):
        from quality.dbt.schemas import new_run_id
        from quality.errors import UsageError
        from quality.observability.artifacts import keep_runs_setting, keep_size_setting

        config.stash[_run_id_key] = new_run_id()
        config.stash[_started_key] = datetime.now(UTC).isoformat()
        try:
            config.stash[_keep_runs_key] = keep_runs_setting(config.getoption("--keep-runs"))
            config.stash[_keep_size_key] = keep_size_setting(config.getoption("--keep-size"))
        except UsageError as error:
            raise pytest.UsageError(str(error)) from None
    else:
        config.stash[_run_id_key] = config.workerinput[RUN_ID_KEY]  # type: ignore[attr-defined]
        config.stash[_started_key] = config.workerinput[STARTED_KEY]  # type: ignore[attr-defined]


def _skip_the_exit_collection() -> None:
    """At interpreter exit, a process that imported dbt or GX spends 1.5-3 s in the cyclic garbage collection
    of its modules (measured on a 2-core machine), and under xdist the controller waits for every worker's
    exit: freeze the heap at exit instead (`gc.freeze`), after the session, its fixtures and every other
    exit handler registered later are done. Registered once per process."""
    global _exit_collection_skipped
    if not _exit_collection_skipped:
        atexit.register(_freeze_if_heavy)
        _exit_collection_skipped = True


_exit_collection_skipped = False


def _freeze_if_heavy() -> None:
    if "dbt" in sys.modules or "great_expectations" in sys.modules:
        gc.freeze()


_run_id_key = pytest.StashKey[str]()
_started_key = pytest.StashKey[str]()
_keep_runs_key = pytest.StashKey[int]()
_keep_size_key = pytest.StashKey[int]()
_controller_signal_key = pytest.StashKey["_terminate_as_interrupt"]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """The xdist controller turns SIGTERM into KeyboardInterrupt, so it still shuts the workers down and
    drops the shared build (`pytest_sessionfinish`); the workers do the same in their fixtures."""
    config = session.config
    if not hasattr(config, "workerinput") and config.pluginmanager.getplugin("dsession") is not None:
        guard = _terminate_as_interrupt()
        guard.__enter__()
        config.stash[_controller_signal_key] = guard


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The run's owner (xdist controller, or the serial process), after every worker is done and every
    fixture torn down: drops the shared build (unless --keep-schema), keeps the newest --keep-runs folders."""
    config = session.config
    if hasattr(config, "workerinput") or _keep_runs_key not in config.stash:
        return
    try:
        if not config.getoption("--keep-schema"):
            _drop_shared_build(config)
    finally:
        guard = config.stash.get(_controller_signal_key, None)
        if guard is not None:
            guard.__exit__()
            del config.stash[_controller_signal_key]
    from quality.observability.artifacts import prune_runs

    prune_runs(
        _artifacts_root(config),
        config.stash[_keep_runs_key],
        current=config.stash[_run_id_key],
        max_bytes=config.stash[_keep_size_key],
    )


def _drop_shared_build(config: pytest.Config) -> None:
    from quality.errors import QualityError
    from quality.harness.shared_build import drop_shared, run_folder

    try:
        base = _shared_base(config)
    except QualityError:
        return  # a refused prefix: no shared build was made
    folder = run_folder(_artifacts_root(config), base)
    try:
        drop_shared(folder, open_target=lambda name: _resolve_target(config, name))
    except Exception as error:  # the run's outcome stands; say what is left and how to remove it
        print(
            f"\nquality: could not drop the shared build {base} ({type(error).__name__}: {error}); "
            "`quality reap` removes it.",
            file=sys.stderr,
        )


def _resolve_target(config: pytest.Config, name: str) -> Target:
    from quality.dbt.targets import resolve_target

    return resolve_target(_load_project(config), name)


def _load_project(config: pytest.Config) -> DbtProject:
    from quality.dbt.project import load_project

    return load_project(
        _path_option(config, "--dbt-project-dir", "dbt_project_dir"),
        config.getoption("--dbt-profiles-dir"),
        option="--dbt-project-dir (or ini dbt_project_dir)",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker shares the controller's run id and start time, so the workers agree on the name
    of the shared build and one run's schemas share one name stem."""
    node.workerinput[RUN_ID_KEY] = node.config.stash[_run_id_key]
    node.workerinput[STARTED_KEY] = node.config.stash[_started_key]


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


def _prefix(config: pytest.Config) -> str:
    return str(config.getoption("--schema-prefix") or ("ci" if os.environ.get("CI") else "dev"))


def _base(config: pytest.Config, worker: str | None) -> str:
    """The run's base name: the shared one (no worker), or a worker's; one run id and start time for all."""
    from quality.dbt.schemas import new_base

    started = datetime.fromisoformat(config.stash[_started_key])
    return new_base(_prefix(config), run_id=config.stash[_run_id_key], worker=worker, now=started)


def _shared_base(config: pytest.Config) -> str:
    return _base(config, None)


def _per_worker(config: pytest.Config, target: Target) -> bool:
    """Whether the shared fixtures are the per-worker ones: asked for, or a per-process local endpoint."""
    from quality.emulator.activation import LOCAL_TARGETS

    option = config.getoption("--build-per-worker")
    wanted = bool(config.getini("build_per_worker")) if option is None else bool(option)
    return wanted or target.name in LOCAL_TARGETS


@pytest.fixture(scope="session")
def dbt_project(pytestconfig: pytest.Config) -> DbtProject:
    from quality.python_support import unsupported_python

    if (refusal := unsupported_python()) is not None:
        pytest.fail(refusal, pytrace=False)

    return _load_project(pytestconfig)


@pytest.fixture(scope="session")
def dbt_target(pytestconfig: pytest.Config, dbt_project: DbtProject) -> Target:
    from quality.dbt.targets import default_target_name, resolve_target
    from quality.emulator.activation import activate_for
    from quality.errors import QualityError

    name = pytestconfig.getoption("--dbt-target")
    refusal = None
    try:
        # `local_databricks` starts a local endpoint with a throwaway warehouse per worker (builds are ephemeral).
        activate_for(name or default_target_name(dbt_project), state_dir=None)
        return resolve_target(dbt_project, name)
    except QualityError as error:  # an unsupported type, a missing env var: one paragraph, no traceback
        refusal = str(error)
    pytest.fail(refusal, pytrace=False)


@pytest.fixture(scope="session")
def worker_schema(pytestconfig: pytest.Config, dbt_project: DbtProject, dbt_target: Target) -> Iterator[Workspace]:
    """This worker's own writable workspace (`gw0` in a serial run), dropped at the end of its session."""
    from quality.harness.workspace import open_workspace

    workspace = open_workspace(
        dbt_project,
        dbt_target,
        prefix=_prefix(pytestconfig),
        artifacts_root=_artifacts_root(pytestconfig),
        base=_base(pytestconfig, _worker_id(pytestconfig) or SERIAL_WORKER),
        keep=pytestconfig.getoption("--keep-schema"),
        quiet=True,
        dbt_vars=_dbt_vars(pytestconfig),
    )
    with _terminate_as_interrupt():
        try:
            yield workspace
        finally:
            workspace.close()


@pytest.fixture(scope="session")
def worker_dbt(worker_schema: Workspace) -> DbtInvoker:
    return worker_schema.dbt


@pytest.fixture(scope="session")
def dbt(worker_dbt: DbtInvoker) -> DbtInvoker:
    """dbt bound to this worker's writable workspace (dbt commands write; the shared build is read-only)."""
    return worker_dbt


@pytest.fixture(scope="session")
def worker_seed_fixtures(pytestconfig: pytest.Config, worker_schema: Workspace) -> dict[str, int]:
    return _load_raw_fixtures(pytestconfig, worker_schema)


@pytest.fixture(scope="session")
def worker_build(pytestconfig: pytest.Config, worker_schema: Workspace, worker_seed_fixtures: dict[str, int]) -> DbtRun:
    """One `dbt build` in this worker's workspace; refused first, naming them, if sources have no data."""
    prepared = _source_data_refusal(pytestconfig, worker_schema, loaded=bool(worker_seed_fixtures))
    if isinstance(prepared, str):  # one readable line, no traceback
        pytest.fail(prepared, pytrace=False)
    return _build_project(worker_schema, prepared, expect_pass=True)


@pytest.fixture(scope="session")
def worker_gx(pytestconfig: pytest.Config, worker_schema: Workspace) -> GxValidator:
    from quality.harness.gx_fixture import GxValidator

    return GxValidator(worker_schema, _artifacts_root(pytestconfig))


@pytest.fixture(scope="session")
def _quality_shared(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config, dbt_project: DbtProject, dbt_target: Target
) -> Iterator[tuple[SharedBuild, Workspace]]:
    """The session's one build, made by the first worker that gets here, and this process' read-only view."""
    from quality.harness.shared_build import ensure_built, open_shared_workspace, run_folder

    base = _shared_base(pytestconfig)
    folder = run_folder(_artifacts_root(pytestconfig), base)
    worker = _worker_id(pytestconfig) or "main"
    with _terminate_as_interrupt():
        build = ensure_built(
            folder,
            base,
            worker,
            dbt_target,
            lambda: _build_shared(pytestconfig, dbt_project, dbt_target, base),
            while_waiting=_import_gx_in_background if _uses_gx(request.session) else None,
        )
        try:
            workspace = open_shared_workspace(dbt_project, dbt_target, base, folder, folder / worker)
        except Exception:
            if build.build_error is None:
                raise
            # The build failed first (dbt could not start, connect or parse, or the harness refused): that is
            # the cause, not what opening the half-made workspace says (e.g. DuckDB's "different configuration").
            pytest.fail(build.build_error, pytrace=False)
        try:
            yield build, workspace
        finally:
            workspace.close()


def _uses_gx(session: pytest.Session) -> bool:
    """Whether a test of the session validates with Great Expectations (`gx`, `worker_gx`)."""
    return any({"gx", "worker_gx"} & set(getattr(item, "fixturenames", ())) for item in session.items)


def _import_gx_in_background() -> Callable[[], None]:
    """While another worker builds: import GX (seconds) on this worker's otherwise idle core."""
    from quality.harness.gx_fixture import import_in_background

    return import_in_background()


def _build_shared(config: pytest.Config, project: DbtProject, target: Target, base: str) -> dict[str, Any]:
    """Load the raw fixtures and build, in the shared base; every read-write connection is closed after."""
    from quality.errors import QualityError
    from quality.harness.shared_build import release_dbt_connections
    from quality.harness.workspace import open_workspace

    outcome: dict[str, Any] = {"loaded": None, "run": None, "fixtures_error": None, "build_error": None}
    workspace = open_workspace(
        project,
        target,
        prefix=_prefix(config),
        artifacts_root=_artifacts_root(config),
        base=base,
        keep=True,  # the run's owner drops it, once every worker is done
        quiet=True,
        dbt_vars=_dbt_vars(config),
    )
    try:
        try:
            outcome["loaded"] = _load_raw_fixtures(config, workspace)
        except QualityError as error:
            outcome["fixtures_error"] = str(error)
            return outcome
        try:
            prepared = _source_data_refusal(config, workspace, loaded=bool(outcome["loaded"]))
            if isinstance(prepared, str):
                outcome["build_error"] = prepared
            else:
                outcome["run"] = _build_project(workspace, prepared, expect_pass=False)
        except QualityError as error:
            outcome["build_error"] = str(error)
        return outcome
    finally:
        workspace.engine.close()
        release_dbt_connections()


@pytest.fixture(scope="session")
def shared_build(request: pytest.FixtureRequest, dbt_target: Target) -> SharedBuild | None:
    """The shared build's record (base, builder, built_here, elapsed); None under --build-per-worker."""
    if _per_worker(request.config, dbt_target):
        return None
    build: SharedBuild = request.getfixturevalue("_quality_shared")[0]
    return build


@pytest.fixture(scope="session")
def ephemeral_schema(request: pytest.FixtureRequest, dbt_target: Target) -> Workspace:
    """The shared build's workspace, read-only (the worker's writable one under --build-per-worker)."""
    if _per_worker(request.config, dbt_target):
        worker: Workspace = request.getfixturevalue("worker_schema")
        return worker
    shared: Workspace = request.getfixturevalue("_quality_shared")[1]
    return shared


def _raw_fixtures_dir(config: pytest.Config) -> Path:
    return _path_option(config, "--raw-fixtures-dir", "raw_fixtures_dir")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which raw fixture folder the builds load (the one `quality gate` uses too), in a dbt project only."""
    from quality.harness.raw_folder import DEFAULT_RAW_FIXTURES_DIR, RawFolder

    if not (_path_option(config, "--dbt-project-dir", "dbt_project_dir") / "dbt_project.yml").is_file():
        return []
    if config.getoption("--raw-fixtures-dir") is not None:
        origin = "--raw-fixtures-dir"
    elif str(config.getini("raw_fixtures_dir")) != str(DEFAULT_RAW_FIXTURES_DIR) and config.inipath is not None:
        origin = f"ini raw_fixtures_dir in {config.inipath.name}"
    else:
        origin = "the default folder"
    line = RawFolder(_raw_fixtures_dir(config), origin).describe()
    return [f"quality: {line}" if "<table>.csv file(s)" in line else f"quality: {line}; raw data: the project's seeds"]


def _load_raw_fixtures(config: pytest.Config, workspace: Workspace) -> dict[str, int]:
    """Load the raw fixture CSVs; with none (no folder, or no .csv in it) nothing: the seeds are the raw data.

    A folder passed with --raw-fixtures-dir must hold fixtures (a typo is an error, not an empty load).
    """
    folder = _fixture_folder(config)
    return workspace.load_fixtures(folder) if folder is not None else {}


def _fixture_folder(config: pytest.Config) -> Path | None:
    from quality.harness.raw_sources import fixture_folder

    directory = _raw_fixtures_dir(config)
    explicit = config.getoption("--raw-fixtures-dir") is not None
    return directory if explicit else fixture_folder(directory)


@pytest.fixture(scope="session")
def seed_fixtures(request: pytest.FixtureRequest, dbt_target: Target) -> dict[str, int]:
    """Rows per raw fixture table loaded into the shared build (the worker's under --build-per-worker)."""
    if _per_worker(request.config, dbt_target):
        loaded: dict[str, int] = request.getfixturevalue("worker_seed_fixtures")
        return loaded
    build: SharedBuild = request.getfixturevalue("_quality_shared")[0]
    if build.fixtures_error is not None:
        pytest.fail(build.fixtures_error, pytrace=False)
    return dict(build.loaded or {})


@pytest.fixture(scope="session")
def dbt_build(request: pytest.FixtureRequest, dbt_target: Target, seed_fixtures: dict[str, int]) -> DbtRun:
    """The shared `dbt build`: a failed one fails here, in every worker, with dbt's message."""
    from quality.dbt.runner import describe_failures

    if _per_worker(request.config, dbt_target):
        run: DbtRun = request.getfixturevalue("worker_build")
        return run
    build: SharedBuild = request.getfixturevalue("_quality_shared")[0]
    if build.build_error is not None:
        pytest.fail(build.build_error, pytrace=False)
    assert build.run is not None
    if not build.run.success:
        pytest.fail(describe_failures(build.run, dbt_target, build.base), pytrace=False)
    return build.run


def _source_data_refusal(config: pytest.Config, workspace: Workspace, *, loaded: bool) -> str | _BuildPlan:
    """Parse for the workspace (refused if a node lands outside the base), then require data for every source.

    Sources that name their schema as written get stand-ins in the workspace's own DuckDB file (fixtures
    loaded now, seeds bridged after they are built: `quality.harness.literal_sources`); returns the refusal, or the
    build's plan: the stand-ins and the seeds to build first.
    """
    from quality.errors import QualityError
    from quality.harness.literal_sources import load_fixture_stand_ins, plan_stand_ins
    from quality.harness.raw_sources import require_source_data, seeds_read_as_sources

    manifest = workspace.parse()
    stand_ins = plan_stand_ins(workspace, manifest, _fixture_folder(config))
    hint = _raw_data_hint(_raw_fixtures_dir(config), loaded=loaded or bool(stand_ins.fixtures))
    try:
        load_fixture_stand_ins(workspace, stand_ins)
        where = f"the test workspace {workspace.base}"
        require_source_data(
            workspace.engine,
            manifest,
            where,
            hint,
            raw_schema=workspace.raw_schema,
            also_provided=stand_ins.provided,
        )
    except QualityError as error:
        return str(error)
    return _BuildPlan(stand_ins, sorted({*seeds_read_as_sources(manifest), *stand_ins.seed_names}))


@dataclass(frozen=True)
class _BuildPlan:
    stand_ins: StandIns
    seeds_first: list[str]  # seeds that models read through source(), built before them


def _build_project(workspace: Workspace, plan: _BuildPlan, *, expect_pass: bool) -> DbtRun:
    """`dbt build` of the parsed project; seeds that models read through source() are built first."""
    from quality.harness.literal_sources import bridge_seed_stand_ins

    return workspace.dbt.build(
        seeds_first=plan.seeds_first,
        after_seeds=lambda: bridge_seed_stand_ins(workspace, plan.stand_ins),
        expect_pass=expect_pass,
    )


def _dbt_vars(config: pytest.Config) -> dict[str, Any]:
    """--dbt-vars (else ini dbt_vars); a bad value is a usage error naming the option."""
    from quality.dbt.runner import parse_dbt_vars
    from quality.errors import UsageError

    text = config.getoption("--dbt-vars")
    option = "--dbt-vars" if text is not None else "ini dbt_vars"
    try:
        return parse_dbt_vars(text if text is not None else str(config.getini("dbt_vars")), option=option)
    except UsageError as error:
        raise pytest.UsageError(str(error)) from None


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
def gx(request: pytest.FixtureRequest, dbt_target: Target) -> GxValidator:
    """Validates models of the shared build (of the worker's build under --build-per-worker)."""
    from quality.harness.gx_fixture import GxValidator

    if _per_worker(request.config, dbt_target):
        worker: GxValidator = request.getfixturevalue("worker_gx")
        return worker
    return GxValidator(request.getfixturevalue("_quality_shared")[1], _artifacts_root(request.config))


@pytest.fixture(scope="session")
def invariants(
    pytestconfig: pytest.Config, dbt_project: DbtProject, ephemeral_schema: Workspace, dbt_build: DbtRun
) -> Any:
    """The invariants the project implies (quality/invariants), checked once on the session's build:
    `assert invariants.ok, invariants.describe()` (the gate runs the same after GX)."""
    from quality.invariants.execute import check_build

    target_path = ephemeral_schema.dbt.target_path
    return check_build(
        ephemeral_schema.engine, target_path, dbt_project.root, dbt_project.name, _dbt_vars(pytestconfig)
    )


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
    from quality.dbt.runner import DbtInvoker

    folder = Path(pytestconfig.rootpath) / "artifacts" / "pytest" / f"prod_manifest_{dbt_target.name}"
    return DbtInvoker(dbt_project, dbt_target, folder, extra_vars=_dbt_vars(pytestconfig), quiet=True).parse()


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
