"""`quality fidelity`: does the project give the same results on DuckDB and on Databricks?"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quality.commands.common import DEFAULT_PROJECT_DIR, ProfilesDirOption, ProjectDirOption, console
from quality.errors import UsageError

if TYPE_CHECKING:
    from quality.fidelity.compare import FidelityReport

MAX_SHOWN = 40


def fidelity(
    fixtures: Annotated[Path, typer.Option(help="raw data of the first batch: a folder of <table>.csv files")],
    project_dir: ProjectDirOption = DEFAULT_PROJECT_DIR,
    profiles_dir: ProfilesDirOption = None,
    reference: Annotated[str, typer.Option(help="the DuckDB target")] = "local",
    candidate: Annotated[
        str, typer.Option(help="the Databricks target (local_databricks starts the local endpoint)")
    ] = "local_databricks",
    late_updates: Annotated[float, typer.Option(help="second batch: share of orders updated late")] = 0.05,
    customer_changes: Annotated[float, typer.Option(help="second batch: share of customers changed")] = 0.05,
    seed: Annotated[int, typer.Option(help="random seed of the second batch")] = 42,
    artifacts_dir: Annotated[Path, typer.Option(help="where the two builds' dbt artifacts go")] = Path(
        "artifacts/fidelity"
    ),
) -> int:
    """Build the project on DuckDB and on Databricks from the same two batches; compare every relation by key."""
    from quality.dbt.project import load_project
    from quality.dbt.targets import resolve_target
    from quality.emulator.activation import activate_for
    from quality.engines.kinds import engine_kind
    from quality.fidelity.compare import Batches, run_fidelity

    for name, value in (("--late-updates", late_updates), ("--customer-changes", customer_changes)):
        if not 0 <= value <= 1:
            raise UsageError(f"{name} is a share of rows between 0 and 1, got {value}.")
    started = time.perf_counter()
    project = load_project(project_dir, profiles_dir)
    activate_for(candidate, state_dir=None)  # a throwaway warehouse: both builds are ephemeral
    targets = resolve_target(project, reference), resolve_target(project, candidate)
    roles = tuple(engine_kind(target).fidelity_role for target in targets)
    if roles != ("reference", "candidate"):
        raise UsageError(
            f"--reference must name a DuckDB target and --candidate a Databricks one; got {targets[0].describe()} "
            f"and {targets[1].describe()}."
        )
    batches = Batches(fixtures, late_updates, customer_changes, seed)
    report = run_fidelity(
        project,
        *targets,
        batches,
        artifacts_root=artifacts_dir,
        progress=lambda step: console.print(f"[dim]{step}[/]", highlight=False),
    )
    return _verdict(report, reference, candidate, time.perf_counter() - started)


def _verdict(report: FidelityReport, reference: str, candidate: str, elapsed: float) -> int:
    """Print the timings and EQUAL, or DIFFERENT with a sample of the differences; the exit code."""
    timings = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in report.seconds.items())
    console.print(f"[dim]{timings}[/]", highlight=False)
    if report.equal:
        console.print(
            f"[bold green]EQUAL[/] {report.relations} relations, {report.rows} rows on {reference} and {candidate} "
            f"(two batches) in {elapsed:.1f} s",
            highlight=False,
        )
        return 0
    console.print(f"[bold red]DIFFERENT[/] {summary(report, reference, candidate, elapsed)}:", highlight=False)
    for difference in report.differences[:MAX_SHOWN]:
        console.print(f"  - {difference.describe()}", highlight=False, soft_wrap=True)
    if len(report.differences) > MAX_SHOWN:
        console.print(f"  ... and {len(report.differences) - MAX_SHOWN} more", highlight=False)
    console.print(
        "Fix the model (or the macro) so that both engines give the same result: a cross-database macro, or an "
        "`adapter.dispatch` branch whose results this check proves equal.",
        highlight=False,
    )
    return 1


def summary(report: FidelityReport, reference: str, candidate: str, elapsed: float) -> str:
    """What differs, counted truly: the differing rows shown (a sample) of all differing rows, and the rest."""
    listed = report.differences[:MAX_SHOWN]
    rows_shown = len({(d.relation, d.key) for d in listed if d.kind in ("keys", "value")})
    others = sum(d.kind not in ("keys", "value") for d in report.differences)
    text = (
        f"{reference} (DuckDB) and {candidate} (Databricks) over {report.relations} relations in {elapsed:.1f} s: "
        f"{rows_shown} of {report.differing_rows} differing rows shown"
    )
    if others:
        text += f", and {others} other difference(s) (failed builds, columns, types, row counts)"
    return text


def register(app: typer.Typer) -> None:
    app.command("fidelity")(fidelity)
