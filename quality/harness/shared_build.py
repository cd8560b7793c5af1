"""One build per test session, shared by every xdist worker, and read-only once built.

The first worker (or the only process of a serial run) to need the build takes a lock in the run's
folder (`<artifacts>/<base>/shared_build.lock`), loads the raw fixtures, runs `dbt build` in the
shared base and writes `shared_build.json`: the outcome (rows loaded, the `DbtRun` summary, or the
error) that every other worker reads after waiting on the lock, instead of building again. A failed
build is recorded too, so it fails in every worker with the same message and is never rebuilt.

DuckDB allows one writer per file and no reader while another process writes, so the builder closes
every read-write connection (its engine and dbt-duckdb's instance) before releasing the lock, and every
process then opens the shared file read-only. On Databricks the schemas are readable concurrently; the
same read-only guard is used there. Writes to the shared workspace (`dbt.run`, loads, DDL) are refused
in the client with `SharedBuildReadOnlyError`, in serial and parallel runs alike.

The process that owns the run (the xdist controller, or the serial process) drops the shared base once
every worker is done (`drop_shared`), whatever happened; `shared_build.target.json`, written before the
workspace is created, tells it what to drop. A run killed with SIGKILL leaves a base without a worker
suffix that `quality reap` recognises like any other.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quality.dbt.project import DbtProject
from quality.dbt.runner import DbtInvoker, DbtRun, NodeResult
from quality.dbt.targets import Target
from quality.engines.base import Engine
from quality.engines.kinds import engine_kind, kinds
from quality.engines.read_only import ReadOnlyEngine, ReadOnlyError
from quality.harness.workspace import Workspace, workspace_invoker

if TYPE_CHECKING:
    from filelock import BaseFileLock

RECORD = "shared_build.json"
LOCK = "shared_build.lock"
TARGET_RECORD = "shared_build.target.json"
LOCK_TIMEOUT_S = float(os.environ.get("QUALITY_SHARED_BUILD_TIMEOUT", 4 * 3600))
PER_WORKER_FIXTURES = "worker_schema, worker_dbt, worker_seed_fixtures, worker_build and worker_gx"


class SharedBuildReadOnlyError(ReadOnlyError):
    """A test tried to change the shared build, which every test and worker of the session reads."""


def read_only_message(base: str, what: str) -> str:
    return (
        f"refused {what} on the shared build {base}: it is read-only, because every test of the session "
        "(and every xdist worker) reads that one build, built once, and a change would leak into the "
        f"others; nothing was sent. A test that changes data uses this worker's own writable workspace: "
        f"the fixtures {PER_WORKER_FIXTURES} (`dbt` is worker_dbt), or run pytest with --build-per-worker "
        "(ini build_per_worker = true) to give every fixture a per-worker build."
    )


class SharedBuildEngine(ReadOnlyEngine):
    """The read-only engine of the shared build: reads pass, anything else names the per-worker fixtures."""

    def __init__(self, inner: Engine, base: str) -> None:
        super().__init__(inner)
        self.base = base

    def check(self, sql: str) -> None:
        try:
            super().check(sql)
        except ReadOnlyError:
            excerpt = " ".join(sql.split())[:160]
            raise SharedBuildReadOnlyError(read_only_message(self.base, f"the statement `{excerpt}`")) from None

    def _refused(self, what: str, name: str) -> ReadOnlyError:
        return SharedBuildReadOnlyError(read_only_message(self.base, f"{what} for {name}"))


@dataclass
class SharedDbtInvoker(DbtInvoker):
    """The shared build's dbt: its artifacts (manifest, run_results) are readable, every command is refused."""

    def run(self, args: Any, *, expect_pass: bool = True) -> DbtRun:
        raise SharedBuildReadOnlyError(read_only_message(str(self.schema_base), f"`dbt {' '.join(args)}`"))

    def parse(self) -> dict[str, Any]:
        raise SharedBuildReadOnlyError(read_only_message(str(self.schema_base), "`dbt parse`"))

    def parse_relocatable(self, state_dir: Path) -> dict[str, Any]:
        return self.parse()


@dataclass(frozen=True)
class SharedBuild:
    """What the one build of the session left: read by every worker from `shared_build.json`."""

    base: str
    builder: str  # the worker that built it ("main" in a serial run)
    built_here: bool  # this process built it (exactly one process of a run does)
    loaded: dict[str, int] | None  # rows per raw fixture table; None when loading failed
    run: DbtRun | None  # the `dbt build`; None when it did not run
    fixtures_error: str | None  # loading the raw fixtures failed: seed_fixtures fails with this
    build_error: str | None  # parse, routing, source data, dbt or the harness failed: dbt_build fails with this
    elapsed: float


def run_folder(artifacts_root: Path, base: str) -> Path:
    return artifacts_root / base


def ensure_built(
    folder: Path,
    base: str,
    worker: str,
    target: Target,
    build: Callable[[], dict[str, Any]],
    *,
    timeout_s: float = LOCK_TIMEOUT_S,
    while_waiting: Callable[[], Callable[[], None]] | None = None,
) -> SharedBuild:
    """The session's shared build: built here by the first caller, read from its record by every other.

    `build` runs under the lock and returns the record's outcome (`loaded`, `run`, `fixtures_error`,
    `build_error`); it must release every read-write connection before it returns. An exception or an
    interrupt in it is recorded as a failed build (so no other worker rebuilds a half-built base) and
    raised again here. `while_waiting`, when another worker holds the lock, starts work for the wait and
    returns how to finish it, which runs once the lock is taken (see `_acquire`).
    """
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    record = folder / RECORD
    lock = FileLock(str(folder / LOCK), timeout=timeout_s)
    try:
        _acquire(lock, while_waiting)
        try:
            if record.is_file():
                return _from_record(json.loads(record.read_text(encoding="utf-8")), built_here=False)
            _write(folder / TARGET_RECORD, _target_record(base, target))
            started = time.perf_counter()
            outcome: dict[str, Any]
            try:
                outcome = build()
            except BaseException as error:
                kind = "interrupted" if isinstance(error, KeyboardInterrupt) else type(error).__name__
                failed = {"loaded": None, "run": None, "fixtures_error": None}
                _write(
                    record,
                    {
                        **failed,
                        "base": base,
                        "builder": worker,
                        "elapsed": time.perf_counter() - started,
                        "build_error": f"the shared build in worker {worker} ended with {kind}: {error}",
                    },
                )
                raise
            data = {
                "base": base,
                "builder": worker,
                "elapsed": time.perf_counter() - started,
                "loaded": outcome.get("loaded"),
                "run": run_to_json(outcome["run"]) if outcome.get("run") is not None else None,
                "fixtures_error": outcome.get("fixtures_error"),
                "build_error": outcome.get("build_error"),
            }
            _write(record, data)
            return _from_record(data, built_here=True)
        finally:
            lock.release()
    except Timeout:
        raise TimeoutError(
            f"waited {timeout_s:.0f} s for the shared build {base} (lock {folder / LOCK}) that another worker "
            "runs; raise QUALITY_SHARED_BUILD_TIMEOUT (seconds) for a slower build, or look at that worker."
        ) from None


def _acquire(lock: BaseFileLock, while_waiting: Callable[[], Callable[[], None]] | None) -> None:
    """Take the lock. When another worker holds it (it is building), start `while_waiting`'s work first and
    finish it once the lock is ours, before anything else runs here: this worker's core would idle."""
    from filelock import Timeout

    if while_waiting is None:
        lock.acquire()
        return
    try:
        lock.acquire(timeout=0)
        return
    except Timeout:
        finish = while_waiting()
    try:
        lock.acquire()
    finally:
        finish()


def open_shared_workspace(
    project: DbtProject, target: Target, base: str, folder: Path, artifacts_dir: Path, *, quiet: bool = True
) -> Workspace:
    """The built shared base, opened read-only in this process: reads work, every write is refused."""
    from quality.engines.factory import open_engine

    target = engine_kind(target).workspace_target(target, base) or target  # its own file, where it has one
    engine = SharedBuildEngine(open_engine(target, read_only=True), base)
    invoker = workspace_invoker(SharedDbtInvoker, project, target, base, folder, quiet=quiet)
    return Workspace(project, target, base, engine, invoker, artifacts_dir, keep=True, owns_file=False)


def release_dbt_connections() -> None:
    """Close what every engine's dbt adapter keeps open in-process after a build (`EngineKind.
    release_in_process_connections`; dbt-duckdb's instance holds the file read-write, so no process could
    open it read-only); a no-op for an adapter not installed or holding nothing."""
    for kind in kinds():
        kind.release_in_process_connections()


def drop_shared(folder: Path, *, open_target: Callable[[str], Target]) -> list[str]:
    """Drop the shared base a run created (its record in `folder` says where); returns what was dropped.

    Called once, by the process that owns the run, after every worker is done. On DuckDB the base is its
    own file, removed with its WAL; on Databricks the schemas of the base are dropped CASCADE through a
    connection to the target that `open_target(name)` resolves.
    """
    path = folder / TARGET_RECORD
    if not path.is_file():
        return []
    record = json.loads(path.read_text(encoding="utf-8"))
    base = str(record["base"])
    if record.get("database_file"):
        database = Path(record["database_file"])
        dropped = [p.name for p in database.parent.glob(f"{database.name}*")]
        for leftover in database.parent.glob(f"{database.name}*"):
            leftover.unlink(missing_ok=True)
    else:
        from quality.dbt.schemas import drop_ephemeral
        from quality.engines.factory import open_engine

        engine = open_engine(open_target(str(record["target"])))
        try:
            dropped = drop_ephemeral(engine, base)
        finally:
            engine.close()
    path.unlink(missing_ok=True)
    return dropped


def run_to_json(run: DbtRun) -> dict[str, Any]:
    nodes = [
        {**dataclasses.asdict(node), "compiled_path": str(node.compiled_path) if node.compiled_path else None}
        for node in run.nodes
    ]
    return {
        "args": list(run.args),
        "success": run.success,
        "nodes": nodes,
        "target_path": str(run.target_path),
        "elapsed": run.elapsed,
    }


def run_from_json(data: dict[str, Any]) -> DbtRun:
    nodes = tuple(
        NodeResult(**{**node, "compiled_path": Path(node["compiled_path"]) if node.get("compiled_path") else None})
        for node in data["nodes"]
    )
    return DbtRun(
        args=tuple(data["args"]),
        success=bool(data["success"]),
        nodes=nodes,
        target_path=Path(data["target_path"]),
        elapsed=float(data["elapsed"]),
    )


def _from_record(data: dict[str, Any], *, built_here: bool) -> SharedBuild:
    return SharedBuild(
        base=str(data["base"]),
        builder=str(data["builder"]),
        built_here=built_here,
        loaded=data.get("loaded"),
        run=run_from_json(data["run"]) if data.get("run") else None,
        fixtures_error=data.get("fixtures_error"),
        build_error=data.get("build_error"),
        elapsed=float(data.get("elapsed") or 0.0),
    )


def _target_record(base: str, target: Target) -> dict[str, Any]:
    kind = engine_kind(target)
    placed = kind.workspace_target(target, base)
    file = kind.database_file(placed) if placed is not None else None
    return {
        "base": base,
        "target": target.name,
        "engine": target.engine,
        "database_file": str(file) if file is not None else None,  # the base's own database file, if any
    }


def _write(path: Path, data: dict[str, Any]) -> None:
    """Written aside, then renamed over: a reader never sees half a record."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    temporary.replace(path)
