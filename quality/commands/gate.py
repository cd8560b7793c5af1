"""`quality gate`: write-audit-publish to the target, with a summary a person can read."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from quality.commands.common import (
    KeepBackupsOption,
    ProjectOptions,
    console,
    project_command,
    terminate_as_interrupt,
)
from quality.dbt.runner import parse_dbt_vars
from quality.dbt.schemas import DEFAULT_KEEP_BACKUPS
from quality.observability.artifacts import (
    DEFAULT_KEEP_RUNS,
    DEFAULT_KEEP_SIZE,
    KEEP_RUNS_ENV,
    KEEP_SIZE_ENV,
    keep_size_setting,
    prune_runs,
)
from quality.wap import gate_warnings
from quality.wap.gate import GateOptions, GateReport, check_options, default_raw_data, run_gate


@project_command
def gate(
    project_options: ProjectOptions,
    fixtures: Annotated[Path | None, typer.Option(help="load raw data from this folder of <table>.csv files")] = None,
    orders: Annotated[int | None, typer.Option(help="generate this many orders of raw data instead")] = None,
    seed: Annotated[int, typer.Option(help="random seed of the generator")] = 42,
    expectations: Annotated[bool, typer.Option(help="validate the Great Expectations suites")] = True,
    invariants: Annotated[
        bool, typer.Option(help="check the invariants the project implies (SCD2, date spines, measures, ...)")
    ] = True,
    publish: Annotated[bool, typer.Option(help="publish to prod when green (--no-publish: audit only)")] = True,
    keep_audit: Annotated[bool, typer.Option(help="keep the audit schemas for debugging")] = False,
    backup: Annotated[bool, typer.Option(help="keep prod's previous tables for `quality rollback`")] = True,
    keep_backups: KeepBackupsOption = DEFAULT_KEEP_BACKUPS,
    artifacts_dir: Annotated[Path, typer.Option(help="where run folders go")] = Path("artifacts/runs"),
    keep_runs: Annotated[
        int,
        typer.Option(
            envvar=KEEP_RUNS_ENV,
            min=0,
            help="run folders to keep in --artifacts-dir; older ones are removed (a publish keeps its records)",
        ),
    ] = DEFAULT_KEEP_RUNS,
    keep_size: Annotated[
        str,
        typer.Option(
            envvar=KEEP_SIZE_ENV,
            help="most disk space the run folders may take (e.g. 500MB, 2GB); the oldest beyond it are removed",
        ),
    ] = DEFAULT_KEEP_SIZE,
    threads: Annotated[int | None, typer.Option(help="dbt threads")] = None,
    dbt_vars: Annotated[
        str | None,
        typer.Option("--vars", help="the project's own dbt vars, as for dbt --vars: '{load_source_data: true}'"),
    ] = None,
    full_refresh: Annotated[
        list[str] | None,
        typer.Option(help="incremental model to rebuild from its sources instead of merging onto prod (repeat)"),
    ] = None,
    accept_new_warnings: Annotated[
        bool,
        typer.Option(
            "--accept-new-warnings",
            help="publish although tests or expectations warn that did not at the last publish (recorded)",
        ),
    ] = False,
) -> int:
    """Build into an ephemeral audit schema, run dbt tests and GX suites, publish to prod only if all pass."""
    terminate_as_interrupt()
    options = GateOptions(
        fixtures_dir=fixtures,
        orders=orders,
        seed=seed,
        run_expectations=expectations,
        run_invariants=invariants,
        publish=publish,
        keep_audit=keep_audit,
        backup=backup,
        keep_backups=keep_backups,
        artifacts_root=artifacts_dir,
        threads=threads,
        full_refresh=tuple(full_refresh or ()),
        dbt_vars=parse_dbt_vars(dbt_vars, option="--vars"),
        accept_new_warnings=accept_new_warnings,
    )
    max_bytes = keep_size_setting(keep_size)
    check_options(options)  # usage errors first: before the target is resolved (or a local endpoint started)
    project, resolved = project_options.resolve()
    options, raw_data = default_raw_data(options, resolved, Path.cwd())
    _announce(raw_data)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("dbt build", total=None)

        def on_node(done: int, total: int, unique_id: str, status: str) -> None:
            bar.update(task, completed=done, total=total, description=f"dbt build {unique_id.split('.')[-1]}")

        report = run_gate(project, resolved, options, progress=on_node, announce=_announce)
    print_summary(report)
    removed = prune_runs(artifacts_dir, keep_runs, current=report.run_id.split("_")[-1], max_bytes=max_bytes)
    if removed:
        _announce(f"removed {len(removed)} run folder(s) of {artifacts_dir} beyond the last {keep_runs} or {keep_size}")
    return 0 if report.ok else 1


def _announce(message: str) -> None:
    console.print(f"[dim]{datetime.now():%H:%M:%S}[/] {message}", highlight=False)


def print_summary(report: GateReport) -> None:
    console.print(_summary_table(report))
    for line in warned_lines(report):
        console.print(f"[yellow]{escape(line)}[/]", highlight=False)
    colour = "green" if report.ok else "red"
    console.print(
        f"[bold {colour}]{report.status.upper()}[/] in {report.timings.get('total', 0):.1f}s; "
        f"audit schemas dropped: {len(report.dropped_schemas)}; report: {report.artifacts_dir}/report.json"
    )
    if report.error:
        console.print(f"[red]{escape(report.error)}[/]", highlight=False)


def _summary_table(report: GateReport) -> Table:
    """One row per step: count, passed, failed, warned and seconds."""
    table = Table(title=f"quality gate {report.run_id} on target {report.target}", title_justify="left")
    for column in ("step", "count", "passed", "failed", "warned", "seconds"):
        table.add_column(column, justify="right" if column != "step" else "left")
    models = [m for m in report.models if m["resource_type"] in {"model", "seed", "snapshot"}]
    unit = [t for t in report.tests if t["resource_type"] == "unit_test"]
    data = [t for t in report.tests if t["resource_type"] == "test"]
    table.add_row("models, seeds, snapshots", *_counts(models, "success"), _secs(report, "dbt_build"))
    table.add_row("data tests", *_counts(data, "pass"), "")
    table.add_row("unit tests", *_counts(unit, "pass"), "")
    table.add_row("expectations", *_expectation_counts(report.expectations), _secs(report, "expectations"))
    table.add_row("published relations", str(len(report.published)), "", "", "", _secs(report, "publish"))
    return table


def _expectation_counts(results: list[dict[str, Any]]) -> tuple[str, str, str, str]:
    """count, passed, failed (severity error) and warned (severity warn) of the expectation results."""
    failed = [e for e in results if not e.get("success")]
    return (
        str(len(results)),
        str(sum(1 for e in results if e.get("success"))),
        str(sum(1 for e in failed if e.get("severity") == "error")),
        str(sum(1 for e in failed if e.get("severity") == "warn")),
    )


def warned_lines(report: GateReport) -> list[str]:
    """One line per warning (dbt tests, then expectations) with its count, named so a 'warned' count says
    what warned; `[new]` when the last publish did not have it (report.warnings)."""
    new = {str(warning["key"]) for warning in report.warnings if warning.get("new")}
    found = gate_warnings.collect(report.tests, report.expectations)
    lines = [f"warned {replace(warning, new=warning.key in new).describe()}" for warning in found]
    if new and report.accepted_new_warnings:
        lines.append(f"{len(new)} new warning(s) accepted with {gate_warnings.FLAG}")
    return lines


def _counts(nodes: list[dict[str, object]], ok_status: str) -> tuple[str, str, str, str]:
    passed = sum(1 for n in nodes if n["status"] == ok_status)
    failed = sum(1 for n in nodes if n["status"] in {"error", "fail", "runtime error"})
    warned = sum(1 for n in nodes if n["status"] == "warn")
    return str(len(nodes)), str(passed), str(failed), str(warned)


def _secs(report: GateReport, step: str) -> str:
    return f"{report.timings[step]:.1f}" if step in report.timings else ""


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)
