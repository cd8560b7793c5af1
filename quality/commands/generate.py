"""`quality generate`: synthetic raw retail data, written into a target's raw schema or to CSV fixtures.

On a DuckDB target the data go to a database file of their own (`.quality/generated.duckdb`), not to the
target's file: `local`'s file is also the local prod that `quality gate` publishes and `pytest -m prod_smoke`
checks, and replacing its raw tables would make them disagree with what was published. `--replace-target-raw`
writes into the target's own file anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from quality.commands.common import (
    ProjectOptions,
    console,
    project_command,
)
from quality.dbt.targets import Target
from quality.engines.factory import open_engine
from quality.engines.kinds import engine_kind
from quality.errors import QualityError, SchemaGuardError, UsageError
from quality.harness.generate import RAW_TABLES, apply_anomalies, generate_raw, load_generated

CSV_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
GENERATED_DUCKDB = Path(".quality/generated.duckdb")


@project_command
def generate(
    orders: Annotated[int, typer.Option(min=1, help="number of orders (customers ~ orders/10)")] = 1_000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same data")] = 42,
    late_updates: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="second batch: fraction of orders updated late")
    ] = 0.0,
    customer_changes: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="second batch: fraction of customers that change")
    ] = 0.0,
    raw_schema: Annotated[str, typer.Option(help="schema to write the raw tables into")] = "raw",
    fixtures_out: Annotated[
        Path | None, typer.Option(help="write <table>.csv files to this folder instead of a warehouse")
    ] = None,
    database: Annotated[
        Path | None,
        typer.Option(help=f"DuckDB targets: the database file to write (default: {GENERATED_DUCKDB})"),
    ] = None,
    replace_target_raw: Annotated[
        bool,
        typer.Option(
            "--replace-target-raw",
            help="DuckDB targets: write into the target's own file (for `local`: the local prod's raw data)",
        ),
    ] = False,
    *,
    project_options: ProjectOptions,
) -> int:
    """Generate the six raw tables (stores, products, customers, orders, order_lines, payments).

    With --late-updates or --customer-changes the second batch is produced: the full tables after late
    order updates, late-arriving orders and customer changes. On a DuckDB target they go to a database of
    their own (--database) unless --replace-target-raw.
    """
    with_anomalies = late_updates > 0 or customer_changes > 0
    if fixtures_out is not None:
        tables = generate_raw(orders, seed)
        if with_anomalies:
            tables = apply_anomalies(tables, late_updates=late_updates, customer_changes=customer_changes, seed=seed)
        counts = write_fixtures(tables, fixtures_out)
        _report(counts, str(fixtures_out))
        return 0
    _, resolved = project_options.resolve()
    project_dir = project_options.project_dir  # named in the hint on reading the data
    if resolved.is_prod:
        raise SchemaGuardError(
            f"refusing to write generated data into {resolved.describe()}: it is a production target. "
            "Pick a development target with --target (the default is local), or write CSVs with --fixtures-out."
        )
    resolved = _own_database(resolved, database, replace_target_raw)
    engine = open_engine(resolved)
    try:
        if with_anomalies:
            tables = apply_anomalies(
                generate_raw(orders, seed), late_updates=late_updates, customer_changes=customer_changes, seed=seed
            )
            counts = {name: engine.load_frame(raw_schema, name, frame) for name, frame in tables.items()}
        else:
            counts = load_generated(engine, raw_schema, orders, seed)
    finally:
        engine.close()
    _report(counts, f"{resolved.describe()}, schema {raw_schema}")
    file = engine_kind(resolved).database_file(resolved)
    if file is not None and not replace_target_raw:
        console.print(
            f"dbt reads it with QUALITY_DUCKDB_PATH={file} (e.g. `QUALITY_DUCKDB_PATH="
            f"{file} uv run dbt build --project-dir {project_dir} --profiles-dir {project_dir}`); "
            "the target's own database was not changed.",
            soft_wrap=True,
        )
    return 0


def _own_database(resolved: Target, database: Path | None, replace_target_raw: bool) -> Target:
    """The target, pointed at the generator's own DuckDB file unless told to replace the target's raw data
    (a target of an engine kind that is not `file_backed` is written as it is)."""
    kind = engine_kind(resolved)
    if not kind.file_backed:
        if database is not None:
            raise UsageError(
                f"--database names a DuckDB file, but {resolved.describe()} is not DuckDB; leave it out (the "
                "generated tables go to the target's raw schema, --raw-schema)."
            )
        return resolved
    if replace_target_raw:
        if database is not None:
            raise UsageError(
                "--database and --replace-target-raw contradict each other: pass one (--replace-target-raw writes "
                f"into {resolved.describe()} itself)."
            )
        return resolved
    path = (database or GENERATED_DUCKDB).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return kind.with_database_file(resolved, path)


def write_fixtures(tables: dict[str, pd.DataFrame], directory: Path) -> dict[str, int]:
    """Write each table as `<directory>/<table>.csv`: header row, ISO timestamps, lower-case booleans."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in RAW_TABLES:
        frame = tables[name].copy()
        for column in frame.select_dtypes(include="bool").columns:
            frame[column] = frame[column].map({True: "true", False: "false"})
        frame.to_csv(
            directory / f"{name}.csv",
            index=False,
            date_format=CSV_TIMESTAMP_FORMAT,
            float_format="%.2f",
            lineterminator="\n",
        )
        counts[name] = len(frame)
    return counts


def _report(counts: dict[str, int], where: str) -> None:
    if not counts:
        raise QualityError("the generator produced no tables; this is a bug in quality.harness.generate.")
    summary = ", ".join(f"{name} {rows:,}" for name, rows in counts.items())
    console.print(f"wrote to {where}: {summary}")


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
