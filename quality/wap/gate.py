"""Write-audit-publish: the only way models reach production.

    load raw data ─► build into an ephemeral audit schema (prod state of incremental models and
    snapshots carried over) ─► dbt tests + unit tests ─► GX suites ─► publish only if all green ─► drop audit

A failure at any step leaves production exactly as it was; the audit schemas are dropped whatever happens.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quality import interrupts
from quality.dbt.project import DbtProject
from quality.dbt.runner import DbtInvoker, DbtRun, ProgressCallback, describe_failures
from quality.dbt.schemas import DEFAULT_KEEP_BACKUPS, backup_schema, new_run_id, prune_backups
from quality.dbt.targets import Target, database_file_env_var, refuse_database_file_outside_project
from quality.engines import run_log
from quality.engines.kinds import engine_kind
from quality.engines.publish import PublishStep, copy_table, order_views, publish
from quality.engines.raw_csv import locate_bad_values
from quality.errors import GateFailed, PublishError, QualityError, UsageError
from quality.harness.raw_sources import (
    check_fixture_tables,
    declared_sources,
    fixture_folder,
    gate_hint,
    generator_mismatch,
    names_schema_as_written,
    read_sources,
    require_source_data,
    seeds_provide_every_source,
    seeds_read_as_sources,
)
from quality.harness.workspace import Workspace, open_workspace
from quality.observability.artifacts import DEFAULT_ROOT, RunArtifacts
from quality.wap import gate_warnings
from quality.wap.publish_plan import check_publish_plan

PARSE_CACHE = Path(".quality/cache")
PUBLISHED_TYPES = frozenset({"model", "seed", "snapshot"})
STATEFUL_MATERIALIZATIONS = frozenset({"incremental", "snapshot"})


@dataclass
class GateOptions:
    fixtures_dir: Path | None = None
    orders: int | None = None
    seed: int = 42
    run_expectations: bool = True
    run_invariants: bool = True  # invariants implied by the project (quality/invariants), after GX
    publish: bool = True
    keep_audit: bool = False
    backup: bool = True
    keep_backups: int = DEFAULT_KEEP_BACKUPS  # backup schemas kept after a publish (older ones are dropped)
    artifacts_root: Path = DEFAULT_ROOT
    threads: int | None = None
    full_refresh: tuple[str, ...] = ()  # incremental models rebuilt from their sources, not merged onto prod
    dbt_vars: dict[str, Any] = field(default_factory=dict)  # the project's own vars (dbt's --vars)
    accept_new_warnings: bool = False  # publish although warnings appeared since the last publish


@dataclass
class GateReport:
    run_id: str
    target: str
    audit_base: str = ""
    status: str = "running"  # published | audited | failed | error | interrupted
    step: str = ""  # the step running last (where an interrupt stopped the run)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    raw_tables: dict[str, int] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    # Every warning (dbt tests and GX expectations), `new` when the last publish (`warnings_baseline`) did
    # not have it; `accepted_new_warnings`: the gate ran with --accept-new-warnings (quality.wap.gate_warnings).
    warnings: list[dict[str, Any]] = field(default_factory=list)
    warnings_baseline: str | None = None
    accepted_new_warnings: bool = False
    invariants: list[dict[str, Any]] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)
    # How prod was switched: "transaction" (DuckDB), "atomic" (one BEGIN ATOMIC block) or "clone-with-undo"
    # (Databricks), and why that one (docs/publish.md).
    publish_mode: str | None = None
    publish_mode_reason: str | None = None
    dropped_schemas: list[str] = field(default_factory=list)
    dropped_backups: list[str] = field(default_factory=list)  # backup schemas beyond the retention setting
    error: str | None = None
    artifacts_dir: str = ""

    @property
    def ok(self) -> bool:
        return self.status in {"published", "audited"}

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items()}


@contextmanager
def _timed(report: GateReport, step: str) -> Iterator[None]:
    started = time.perf_counter()
    if report.status == "running":  # after an interrupt, `step` keeps naming where it stopped the run
        report.step = step
    try:
        yield
    finally:
        report.timings[step] = round(time.perf_counter() - started, 3)


def run_gate(
    project: DbtProject,
    target: Target,
    options: GateOptions,
    *,
    progress: ProgressCallback | None = None,
    announce: Callable[[str], None] = lambda message: None,
) -> GateReport:
    """Run the gate end to end; returns the report (status failed/error instead of raising for data failures)."""
    check_options(options)
    run_id = f"{datetime.now(UTC):%Y%m%dt%H%M%S}_{new_run_id()}"
    artifacts = RunArtifacts.create(run_id, options.artifacts_root)
    report = GateReport(run_id=run_id, target=target.name, artifacts_dir=str(artifacts.root))
    workspace: Workspace | None = None
    started = time.perf_counter()
    try:
        refuse_database_file_outside_project(project, target)  # before a folder is made for the warehouse
        workspace = open_workspace(
            project,
            target,
            prefix="audit",
            artifacts_root=artifacts.root,
            run_id=run_id.split("_")[-1],
            keep=options.keep_audit,
            separate_file=False,
            progress=_pausing(progress),
            quiet=True,
            dbt_vars=options.dbt_vars,
        )
        workspace.dbt.threads = options.threads
        report.audit_base = workspace.base
        announce(f"audit schema base {workspace.base} on {target.describe()}")
        _audit_and_publish(workspace, project, target, options, report, artifacts, announce)
    except KeyboardInterrupt as interrupt:
        raise KeyboardInterrupt(_interrupted(report, str(interrupt), interrupt.__context__)) from interrupt
    except Exception as error:
        signal_name = interrupts.received()
        if signal_name is not None:  # an interrupt that a library turned into its own error
            # the error came after the signal (dbt, say, failing on the connection the interrupt closed), so it
            # is the interrupt's effect, not a failure before it; only a publish's error says what it undid
            during = error if isinstance(error, PublishError) else None
            raise KeyboardInterrupt(_interrupted(report, signal_name, during)) from error
        report.status, report.error = ("failed" if isinstance(error, GateFailed) else "error"), str(error)
        if not isinstance(error, QualityError):
            raise
    finally:
        with interrupts.deferred():  # the audit schemas go and the report is written, whatever signal comes
            if workspace is not None:
                with _timed(report, "drop_audit"):
                    report.dropped_schemas = workspace.close()
            if interrupts.pending() and report.status != "interrupted":
                _interrupted(report, interrupts.received() or "signal", None)
            report.timings["total"] = round(time.perf_counter() - started, 3)
            report.finished_at = datetime.now(UTC).isoformat()
            artifacts.write_json(artifacts.report_path, report.as_dict())
    return report


def _interrupted(report: GateReport, signal_name: str, during: BaseException | None) -> str:
    """Mark the report interrupted and say truthfully what reached prod; returns that account.

    A publish is never stopped half-way (it runs under `interrupts.deferred()`), so prod holds either all
    of `report.published` or, when it is empty, nothing of this run; an error the publish itself raised
    (which says what it undid) is kept in the account.
    """
    report.status = "interrupted"
    if report.published:
        published = f"all {len(report.published)} relation(s) of this run were published to prod (see publish.json)"
    else:
        published = "nothing was published: prod is untouched"
    if isinstance(during, PublishError):  # it says what it undid, and what (if anything) is left to undo
        published = f"the publish failed before the interrupt took effect: {during}"
    elif isinstance(during, QualityError):
        published = f"{published}; before the interrupt: {during}"
    report.error = f"{signal_name} during {report.step or 'start-up'}; {published}."
    account = f"{report.error} Report: {report.artifacts_dir}/report.json"
    interrupts.tell(account)
    return account


def _pausing(progress: ProgressCallback | None) -> ProgressCallback | None:
    """The progress callback, pausing at the first finished node when a test asks to (interrupts.pause_point)."""
    if not os.environ.get(interrupts.PAUSE_ENV, "").startswith("dbt_build:"):
        return progress

    def on_node(done: int, total: int, unique_id: str, status: str) -> None:
        interrupts.pause_point("dbt_build")
        if progress is not None:
            progress(done, total, unique_id, status)

    return on_node


def default_raw_data(options: GateOptions, target: Target, root: Path) -> tuple[GateOptions, str]:
    """The gate's raw data, and the line saying which: --fixtures or --orders when given; else, on DuckDB,
    the raw fixture folder pytest uses (ini raw_fixtures_dir, else tests/fixtures/raw under `root`) when it
    holds CSVs; else the project's seeds or the target's own raw tables. On Databricks only --fixtures
    loads fixtures: a folder of test data is never published to a warehouse by default."""
    from quality.harness.raw_folder import configured_raw_folder

    if options.fixtures_dir is not None:
        return options, f"raw fixtures: the <table>.csv files of {options.fixtures_dir} (--fixtures)"
    if options.orders is not None:
        return options, f"raw data: {options.orders} generated orders (--orders)"
    if not engine_kind(target).gate_loads_raw_folder:
        return options, "raw data: the target's own raw tables (on Databricks, fixtures load only with --fixtures)"
    folder = configured_raw_folder(root)
    line = folder.describe()
    if fixture_folder(folder.path) is None:
        return options, f"{line}; raw data: the project's seeds, else the target's own raw tables"
    return replace(options, fixtures_dir=folder.path), f"{line}, as pytest; --fixtures <folder> loads another"


def check_options(options: GateOptions) -> None:
    """Refuse contradictory or out-of-range options (UsageError, exit 2) before anything is created."""
    if options.fixtures_dir is not None and options.orders is not None:
        raise UsageError(
            "--fixtures and --orders both give the gate raw data; choose one: --fixtures <folder> loads "
            "its <table>.csv files, --orders N generates N orders."
        )
    if options.fixtures_dir is not None and not options.fixtures_dir.is_dir():
        raise UsageError(
            f"--fixtures {options.fixtures_dir} is not a folder; pass the folder that holds one <table>.csv "
            "per raw source table."
        )
    if options.orders is not None and options.orders < 1:
        raise UsageError(f"--orders {options.orders}: generate at least 1 order, e.g. --orders 1000.")
    if options.threads is not None and options.threads < 1:
        raise UsageError(
            f"--threads {options.threads}: dbt needs at least 1 thread; pass a positive number, or leave "
            "--threads out to use the profile's threads."
        )


@dataclass(frozen=True)
class _GateRun:
    """What every step of one gate run reads and writes."""

    workspace: Workspace
    project: DbtProject
    target: Target
    options: GateOptions
    report: GateReport
    artifacts: RunArtifacts
    announce: Callable[[str], None]


@dataclass(frozen=True)
class _Parsed:
    """The two manifests a gate run parses (prod's, to map nodes to prod relations; the audit build's) and
    the GX suites declared in the audit one."""

    prod: dict[str, Any]
    audit: dict[str, Any]
    suites: list[Any]


def _audit_and_publish(
    workspace: Workspace,
    project: DbtProject,
    target: Target,
    options: GateOptions,
    report: GateReport,
    artifacts: RunArtifacts,
    announce: Callable[[str], None],
) -> None:
    if options.publish and (unfinished := run_log.unfinished_problem(workspace.engine, target.name)):
        raise PublishError(unfinished)  # before a build that could only end in the same refusal
    run = _GateRun(workspace, project, target, options, report, artifacts, announce)
    with _timed(report, "load_raw"):
        report.raw_tables = _load_raw(workspace, options)
    with _timed(report, "parse"):
        parsed = _parse(run)
    backup = backup_schema(report.run_id)
    steps = plan_publish(parsed.audit, parsed.prod, workspace, backup_schema=backup)
    with _timed(report, "carry_prod_state"):
        _carry_prod_state(workspace, parsed.audit, steps, _full_refresh_ids(parsed.audit, options.full_refresh))
    announce("building and testing in the audit schema")
    with _timed(report, "dbt_build"):
        build = workspace.dbt.build(seeds_first=seeds_read_as_sources(parsed.audit), expect_pass=False)
    artifacts.keep_dbt_artifacts(workspace.dbt.target_path)
    _record_build(report, build)
    failures = _audit_failures(run, build, parsed)
    if failures:
        raise GateFailed("\n".join([*failures, f"Nothing was published: prod on {target.describe()} is untouched."]))
    if not options.publish:
        report.status = "audited"
        return
    _publish_audited(run, steps, build, parsed, backup)


def _parse(run: _GateRun) -> _Parsed:
    """Parse prod (cached) and the audit workspace, and check the raw data and the GX suites against them."""
    workspace, options = run.workspace, run.options
    prod = DbtInvoker(
        run.project, run.target, workspace.artifacts_dir / "prod_target", extra_vars=dict(options.dbt_vars), quiet=True
    )
    prod_manifest = prod.parse_cached(PARSE_CACHE)
    if options.fixtures_dir is None and options.orders is None and not seeds_provide_every_source(prod_manifest):
        workspace.dbt.raw_schema = None  # no raw data given: read the target's own raw sources
    audit_manifest = workspace.parse()
    _check_raw_data(workspace, audit_manifest, options, run.report.raw_tables)
    suites = _check_suites(audit_manifest) if options.run_expectations else []
    return _Parsed(prod_manifest, audit_manifest, suites)


def _audit_failures(run: _GateRun, build: DbtRun, parsed: _Parsed) -> list[str]:
    """Every audit after the build, in order: dbt's failures, GX, new warnings, invariants; failures as lines."""
    failures = _build_failures(run, build, parsed.audit)
    failures += _expectation_failures(run, build, parsed, after_failures=bool(failures))
    failures += _check_warnings(run.workspace, run.target, run.options, run.report)
    if run.options.run_invariants:
        with _timed(run.report, "invariants"):
            failures += _check_invariants(run.workspace, run.project, run.options, run.report)
    return failures


def _build_failures(run: _GateRun, build: DbtRun, manifest: dict[str, Any]) -> list[str]:
    """dbt's failed nodes with their failing rows, and where bad values sit in the given fixtures."""
    if build.success:
        return []
    failures = [describe_failures(build, run.target, run.workspace.base, _failing_rows(run.workspace, build, manifest))]
    if run.options.fixtures_dir is not None:
        failures += locate_bad_values(run.options.fixtures_dir, [node.message for node in build.failed])
    return failures


def _expectation_failures(run: _GateRun, build: DbtRun, parsed: _Parsed, *, after_failures: bool) -> list[str]:
    """The GX suites whose models were built, validated; the others named as not run."""
    built = {n.name for n in build.nodes if n.resource_type in PUBLISHED_TYPES and n.status == "success"}
    runnable, blocked = split_suites(parsed.suites, built)
    failures: list[str] = []
    if runnable:
        run.announce(f"validating {len(runnable)} Great Expectations suite(s)")
        with _timed(run.report, "expectations"):
            failures += _validate(
                run.workspace, runnable, parsed.audit, run.report, run.artifacts, after_failures=after_failures
            )
    if blocked:
        failures.append(
            f"Great Expectations suites not run because a model they read was not built: {', '.join(blocked)}."
        )
    return failures


def _publish_audited(run: _GateRun, steps: list[PublishStep], build: DbtRun, parsed: _Parsed, backup: str) -> None:
    """Publish what was built, then keep its record, its warnings and the backup retention."""
    workspace, report = run.workspace, run.report
    run.announce(f"publishing {len(steps)} relation(s) to {run.target.describe()}")
    # A signal during publish waits for it to finish (or fail and undo itself) and for its record: prod is
    # then either untouched or fully published, and the report says which.
    with interrupts.deferred(), _timed(report, "publish"):
        interrupts.pause_point("publish")
        schema_map = publish_schema_map(steps, workspace, parsed.prod)
        built = {node.unique_id for node in build.nodes if node.status == "success"} | {
            s.unique_id for s in steps if s.unique_id.startswith("raw.")
        }
        selected = _with_merge_keys([step for step in steps if step.unique_id in built], parsed.audit)
        done = publish(
            workspace.engine,
            _without_backup(selected, run.options.backup),
            schema_map,
            record=(report.run_id, run.target.name),
        )
        report.published = [step.as_dict() for step in done]
        report.publish_mode, report.publish_mode_reason = done.mode, done.reason
        run.announce(f"published in mode {done.mode}: {done.reason}")
        interrupts.crash_point("publish_after_commit")
        record = {**_publish_record(workspace, report, run.target), "mode": done.mode, "mode_reason": done.reason}
        run.artifacts.write_json(run.artifacts.publish_path, record)
        _record_warnings(workspace, report, run.target, run.announce)
        report.status = "published"
        report.dropped_backups = _enforce_retention(workspace, run.options, backup, run.announce)


def _failing_rows(workspace: Workspace, build: DbtRun, manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Rows behind each failed test, by query (quality.dbt.failure_rows): a data test's first failing rows; for a
    unit test that errored before dbt compared its rows, the model's rows on the given inputs and the
    expected ones."""
    from quality.dbt.failure_rows import queried_lines, sample_lines

    definitions = manifest.get("unit_tests", {})
    rows = {
        node.unique_id: sample_lines(workspace.engine, node.compiled_path)
        for node in build.failed
        if node.resource_type == "test"
    }
    rows |= {
        node.unique_id: queried_lines(workspace.engine, workspace.dbt.target_path, definitions[node.unique_id])
        for node in build.failed
        if node.resource_type == "unit_test" and node.status == "error" and node.unique_id in definitions
    }
    return rows


def _check_warnings(workspace: Workspace, target: Target, options: GateOptions, report: GateReport) -> list[str]:
    """Every warning of the run, in the report, marked new against the last publish; the gate's message
    for the new ones, unless the user accepted them (quality.wap.gate_warnings)."""
    baseline = gate_warnings.baseline(workspace.engine, target.name, options.artifacts_root)
    found = gate_warnings.mark_new(gate_warnings.collect(report.tests, report.expectations), baseline)
    report.warnings = [asdict(warning) for warning in found]
    report.warnings_baseline = baseline.run_id if baseline is not None else None
    report.accepted_new_warnings = options.accept_new_warnings
    message = gate_warnings.failure(found, baseline)
    return [] if message is None or options.accept_new_warnings else [message]


def _record_warnings(workspace: Workspace, report: GateReport, target: Target, announce: Callable[[str], None]) -> None:
    """The published run's warnings, in the warehouse for the next gate (report.json holds them too)."""
    found = [gate_warnings.GateWarning(**warning) for warning in report.warnings]
    try:
        gate_warnings.record(workspace.engine, report.run_id, target.name, found)
    except Exception as error:  # prod is published; the next gate reads this run's report.json instead
        announce(f"published, but recording its warnings in the warehouse failed ({error}); report.json has them")


def _check_invariants(workspace: Workspace, project: DbtProject, options: GateOptions, report: GateReport) -> list[str]:
    """Invariants the project implies (quality/invariants), planned from the build's manifest: failures as lines."""
    from quality.invariants.execute import check_build

    result = check_build(workspace.engine, workspace.dbt.target_path, project.root, project.name, options.dbt_vars)
    report.invariants = result.as_dicts()
    if result.ok:
        return []
    return [f"Invariants implied by the project failed in audit schema base {workspace.base}:\n{result.describe()}"]


def _with_merge_keys(steps: list[PublishStep], audit: dict[str, Any]) -> list[PublishStep]:
    """Incremental models with a unique key publish their change (MERGE on the key), not a full copy;
    publish falls back to a full replace where that would not leave prod equal to the audited table."""
    keyed = []
    for step in steps:
        config = audit.get("nodes", {}).get(step.unique_id, {}).get("config", {})
        key = config.get("unique_key")
        if step.kind == "table" and config.get("materialized") == "incremental" and key:
            step = replace(step, merge_key=[key] if isinstance(key, str) else [str(column) for column in key])
        keyed.append(step)
    return keyed


def _publish_record(workspace: Workspace, report: GateReport, target: Target) -> dict[str, Any]:
    """publish.json: a copy of the warehouse's record (DuckDB and Databricks), else the record itself, with
    the run's warnings and whether new ones were accepted.

    Prod and its warehouse record are committed by now: if reading the record back fails, the copy is
    made from what publish returned (the same steps).
    """
    try:
        kept = run_log.read(workspace.engine, report.run_id)
    except Exception:
        kept = None
    record = kept or {"run_id": report.run_id, "target": target.name, "steps": report.published}
    return {**record, "warnings": report.warnings, "accepted_new_warnings": report.accepted_new_warnings}


def _enforce_retention(
    workspace: Workspace, options: GateOptions, made: str, announce: Callable[[str], None]
) -> list[str]:
    """Drop the oldest backup schemas beyond `keep_backups` (never the one this run made)."""
    try:
        dropped = prune_backups(workspace.engine, options.keep_backups, protect={made})
    except Exception as error:  # prod is published; a leftover backup is for `quality reap` to drop
        announce(f"published, but dropping old backups failed ({error}); `quality reap` retries")
        return []
    if dropped:
        announce(f"dropped {len(dropped)} backup schema(s) beyond the last {options.keep_backups}")
    return dropped


def _without_backup(steps: list[PublishStep], backup: bool) -> list[PublishStep]:
    if backup:
        return steps
    return [PublishStep(**{**step.as_dict(), "backup_schema": None}) for step in steps]


def _load_raw(workspace: Workspace, options: GateOptions) -> dict[str, int]:
    if options.fixtures_dir is not None:
        return workspace.load_fixtures(options.fixtures_dir)
    if options.orders is not None:
        from quality.harness.generate import load_generated

        return load_generated(workspace.engine, workspace.raw_schema, options.orders, options.seed)
    return {}  # the seeds are the raw data, or the target's own raw tables are (decided with the prod manifest)


def _check_raw_data(
    workspace: Workspace, manifest: dict[str, Any], options: GateOptions, loaded: dict[str, int]
) -> None:
    """Fixtures must be declared source tables (each is published), and every source needs data: a fixture,
    a seed of the project that builds it, or (with no raw data given) the target's own table."""
    declared = declared_sources(manifest)
    if options.fixtures_dir is not None:
        check_fixture_tables(options.fixtures_dir, loaded, declared, workspace.raw_schema)
        hint = f"Add one <table>.csv per missing source table to {options.fixtures_dir}, or make it a seed."
        where = f"the audit raw schema of {workspace.base}"
        require_source_data(workspace.engine, manifest, where, hint, raw_schema=workspace.raw_schema)
    elif options.orders is not None:
        if (mismatch := generator_mismatch(read_sources(manifest))) is not None:
            raise UsageError(mismatch)
    else:  # the target's own raw tables; fixtures given next time reach only sources that read the var
        hint = gate_hint(read_sources(manifest))
        root = workspace.project.root
        require_source_data(
            workspace.engine,
            manifest,
            workspace.target.describe(),
            hint,
            raw_schema=workspace.raw_schema,
            written_as=lambda table: names_schema_as_written(root, table),
        )


def _check_suites(manifest: dict[str, Any]) -> list[Any]:
    from quality.expectations.spec import check_suites

    return check_suites(manifest)


def plan_publish(
    audit: dict[str, Any], prod: dict[str, Any], workspace: Workspace, *, backup_schema: str | None
) -> list[PublishStep]:
    """Pair each materialized node of the audit build with its prod relation (by unique id)."""
    steps = []
    for unique_id, node in audit.get("nodes", {}).items():
        materialized = node.get("config", {}).get("materialized")
        if node.get("resource_type") not in PUBLISHED_TYPES or materialized == "ephemeral":
            continue
        prod_node = prod["nodes"].get(unique_id)
        if prod_node is None:
            continue
        kind = "view" if materialized == "view" else "table"
        steps.append(
            PublishStep(
                unique_id=unique_id,
                kind=kind,
                audit_schema=node["schema"],
                name=node["alias"] or node["name"],
                prod_schema=prod_node["schema"],
                prod_name=prod_node["alias"] or prod_node["name"],
                backup_schema=backup_schema if kind == "table" else None,
            )
        )
    if workspace.dbt.raw_schema:
        prod_raw = _prod_raw_schema(prod, workspace)
        # A seed with `+schema: raw` lands in the workspace's raw schema too: it is published as the seed it is.
        nodes_here = {step.name for step in steps if step.audit_schema == workspace.raw_schema}
        raw_tables = [
            table for table, _ in workspace.engine.list_relations(workspace.raw_schema) if table not in nodes_here
        ]
        _refuse_split_raw_schema(steps, workspace, prod_raw, raw_tables)
        for table in raw_tables:
            steps.append(
                PublishStep(
                    unique_id=f"raw.{table}",
                    kind="table",
                    audit_schema=workspace.raw_schema,
                    name=table,
                    prod_schema=prod_raw,
                    prod_name=table,
                    backup_schema=backup_schema,
                )
            )
    check_publish_plan(steps, prod, target=workspace.target.describe())  # before anything is built
    depends = {uid: node.get("depends_on", {}).get("nodes", []) for uid, node in audit.get("nodes", {}).items()}
    return order_views(steps, depends)


def publish_schema_map(steps: list[PublishStep], workspace: Workspace, prod: dict[str, Any]) -> dict[str, str]:
    """Each audit schema and the prod schema it becomes (views are rewritten with it).

    The workspace's raw schema maps to prod's raw schema, unless nodes of the project (seeds with
    `+schema: raw`) land there: then to where those nodes are published (`plan_publish` made sure the two agree).
    """
    schema_map = {step.audit_schema: step.prod_schema for step in steps}
    schema_map.setdefault(workspace.raw_schema, _prod_raw_schema(prod, workspace))
    return schema_map


def _refuse_split_raw_schema(
    steps: list[PublishStep], workspace: Workspace, prod_raw: str, raw_tables: list[str]
) -> None:
    """Raw fixture tables and project nodes in one audit schema must go to one prod schema."""
    nodes = [step for step in steps if step.audit_schema == workspace.raw_schema and step.prod_schema != prod_raw]
    if raw_tables and nodes:
        raise QualityError(
            f"schema {workspace.raw_schema} of the audit holds raw fixture tables ({', '.join(raw_tables)}, published "
            f"to {prod_raw}) and nodes of the project ({', '.join(f'{s.name} to {s.prod_schema}' for s in nodes)}): "
            "one audit schema cannot be published to two prod schemas. Give those seeds or models another custom "
            "schema than 'raw', or make the fixtures seeds of the project."
        )


def _prod_raw_schema(prod: dict[str, Any], workspace: Workspace) -> str:
    schemas = {source["schema"] for source in prod.get("sources", {}).values()}
    return sorted(schemas)[0] if len(schemas) == 1 else workspace.dbt.vars.get("raw_schema", "raw")


def _full_refresh_ids(audit: dict[str, Any], names: tuple[str, ...]) -> set[str]:
    """The unique ids of the incremental models named for a full refresh; refuses any other name."""
    incremental = {
        node["name"]: unique_id
        for unique_id, node in audit.get("nodes", {}).items()
        if node.get("resource_type") == "model" and node.get("config", {}).get("materialized") == "incremental"
    }
    unknown = [name for name in names if name not in incremental]
    if unknown:
        raise QualityError(
            f"--full-refresh names {', '.join(unknown)}, which is not an incremental model of this project "
            f"(incremental models: {', '.join(sorted(incremental)) or 'none'}). Snapshots keep their history and "
            "are never rebuilt; tables and views are rebuilt on every run anyway."
        )
    return {incremental[name] for name in names}


def _refuse_raw_data_older_than_snapshots(
    workspace: Workspace, audit: dict[str, Any], steps: list[PublishStep]
) -> None:
    """Before the build: raw rows older than a snapshot's current versions in prod are one message with the
    choices (`quality.wap.snapshot_history`), not a failed test per key after it."""
    from quality.wap.snapshot_history import find_backwards, message

    found = find_backwards(workspace.engine, audit, steps)
    if not found:
        return
    target = workspace.target
    kind = engine_kind(target)
    database_file = kind.database_file(target)
    if database_file is not None:
        env = database_file_env_var(workspace.project, target)
        separate = (
            f"`{env}=.quality/generated-prod{kind.file_suffix} uv run quality gate ...` "
            f"(the target's {kind.file_setting} reads {env})"
            if env
            else f"point the target's {kind.label} `{kind.file_setting}` at another file"
        )
        fresh = (
            f"a separate warehouse for these data, {separate}; or a fresh local prod: move {database_file} "
            "aside and run again"
        )
    else:
        fresh = "a separate target (catalog or schemas) for these data; or a fresh prod, its snapshots dropped"
    raise QualityError(message(found, fresh))


def _carry_prod_state(
    workspace: Workspace, audit: dict[str, Any], steps: list[PublishStep], full_refresh: set[str]
) -> None:
    """Copy prod's incremental models and snapshots into the audit schema, so the build merges onto them;
    raw data older than a snapshot's history in prod are refused first (one message, nothing built).

    An incremental model named in `full_refresh` is not copied: with no table to merge onto, dbt builds it
    from all of its sources (how deleted partitions come back after `quality drop-partitions`).
    """
    _refuse_raw_data_older_than_snapshots(workspace, audit, steps)
    engine = workspace.engine
    for step in steps:
        node = audit["nodes"].get(step.unique_id, {})
        if node.get("config", {}).get("materialized") not in STATEFUL_MATERIALIZATIONS:
            continue
        if step.unique_id in full_refresh:
            continue
        if engine.relation_exists(step.prod_schema, step.prod_name):
            copy_table(engine, (step.prod_schema, step.prod_name), (step.audit_schema, step.name))


def split_suites(suites: list[Any], built: set[str]) -> tuple[list[Any], list[str]]:
    """Suites whose model and every `{ref:...}` they read were built, and the names of the others."""
    from quality.expectations.relations import placeholders

    runnable: list[Any] = []
    blocked: list[Any] = []
    for suite in suites:
        refs = {p.target for spec in suite.specs if spec.query for p in placeholders(spec.query) if p.kind == "ref"}
        needed = {suite.name} | refs
        (runnable if needed <= built else blocked).append(suite)
    return runnable, [suite.name for suite in blocked]


def _record_build(report: GateReport, build: DbtRun) -> None:
    for node in build.nodes:
        entry = {
            "unique_id": node.unique_id,
            "name": node.name,
            "resource_type": node.resource_type,
            "status": node.status,
            "execution_time": round(node.execution_time, 3),
            "rows_affected": node.rows_affected,
            "message": node.message,
            "failures": node.failures,
        }
        if node.resource_type in {"test", "unit_test"}:
            report.tests.append({**entry, "model": node.tested_model, "column": node.column})
        else:
            report.models.append(entry)


def _validate(
    workspace: Workspace,
    suites: list[Any],
    manifest: dict[str, Any],
    report: GateReport,
    artifacts: RunArtifacts,
    *,
    after_failures: bool = False,
) -> list[str]:
    """GX failures as lines of the gate's message. Expectations that could not be evaluated raise a harness
    error, unless dbt failed already: the same bad data is then the likely cause, and both are reported."""
    from quality.expectations.validate import format_failures, validate_models

    validation = validate_models(
        suites,
        manifest,
        workspace.engine,
        data_docs_dir=artifacts.data_docs_dir,
        run_name=report.run_id,
    )
    artifacts.share_data_docs_assets()
    report.expectations = [asdict(result) for result in validation.results]
    report.expectations += [
        {**asdict(problem), "success": False, "severity": "harness"} for problem in validation.errors
    ]
    if not after_failures:
        validation.raise_for_errors()  # a metric that errored is a harness error, never a data failure
    if validation.ok:
        return []
    cause = " (after the dbt failures above, which may be the cause)" if after_failures and validation.errors else ""
    return [
        f"Great Expectations validation failed in audit schema base {workspace.base}{cause}:\n"
        f"{format_failures(validation)}"
    ]
