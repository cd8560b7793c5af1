"""`quality pr`: the data change review a pull request gets, run locally or as the PR workflow's job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from quality.commands.common import (
    ProjectOptions,
    console,
    project_command,
    terminate_as_interrupt,
)
from quality.dbt.runner import parse_dbt_vars
from quality.observability.artifacts import keep_runs_setting, keep_size_setting, prune_runs


@project_command
def pr(
    project_options: ProjectOptions,
    base: Annotated[
        str | None,
        typer.Option(help="commit to compare with (default: the merge base of HEAD and the default branch)"),
    ] = None,
    fixtures: Annotated[
        list[Path] | None,
        typer.Option(
            help="folder of raw <table>.csv files, one per batch in load order (repeat; default: "
            "tests/fixtures/raw and its <name>_batchN siblings, else the project's seeds)"
        ),
    ] = None,
    dbt_vars: Annotated[
        str | None, typer.Option("--vars", help="the project's own dbt vars, as for dbt --vars")
    ] = None,
    examples: Annotated[int, typer.Option(min=0, help="example rows shown per change")] = 3,
    cache: Annotated[bool, typer.Option(help="reuse the base build of the same base project and raw data")] = True,
    against_prod: Annotated[
        bool,
        typer.Option(help="where the target holds prod, also compare the changed models with it (a report)"),
    ] = True,
    prod_sample: Annotated[int, typer.Option(min=1, help="keys per relation compared with prod")] = 1000,
    summary: Annotated[
        Path | None, typer.Option(help="append the markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)")
    ] = None,
    artifacts_dir: Annotated[Path, typer.Option(help="where the review's folder goes")] = Path("artifacts/pr"),
) -> int:
    """Build the base revision and the working tree on the same raw data and compare every relation by key.

    Every value, row or column the change alters must be declared, with a reason, under the model's
    `meta.quality.changes` in the same change set; an undeclared change fails (exit 1), naming model, column,
    rows and examples. Columns that differ between two builds of the same code (run timestamps, ids) are
    ignored and listed. Nothing is published.
    """
    from quality.wap.review.batches import raw_batches
    from quality.wap.review.report import to_console, to_json, to_markdown
    from quality.wap.review.run import ReviewOptions, review

    terminate_as_interrupt()
    options = ReviewOptions(
        base=base,
        batches=raw_batches(fixtures),
        dbt_vars=parse_dbt_vars(dbt_vars, option="--vars"),
        artifacts_root=artifacts_dir,
        examples=examples,
        use_cache=cache,
        against_prod=against_prod,
        prod_sample=prod_sample,
    )
    project, resolved = project_options.resolve()
    result = review(
        project, resolved, options, announce=lambda text: console.print(escape(text), highlight=False, soft_wrap=True)
    )
    markdown = to_markdown(result)
    result.artifacts_dir.mkdir(parents=True, exist_ok=True)
    (result.artifacts_dir / "review.md").write_text(markdown, encoding="utf-8")
    (result.artifacts_dir / "review.json").write_text(json.dumps(to_json(result), indent=2, default=str), "utf-8")
    if summary is not None:
        with summary.open("a", encoding="utf-8") as handle:
            handle.write(markdown)
    for line in to_console(result):
        console.print(escape(line), highlight=False, soft_wrap=True)
    # Older reviews go as the gate's runs do: QUALITY_KEEP_RUNS by count, QUALITY_KEEP_SIZE by size.
    prune_runs(
        artifacts_dir,
        keep_runs_setting(),
        current=result.artifacts_dir.name.split("_")[-1],
        max_bytes=keep_size_setting(),
    )
    timing = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in result.timings.items())
    console.print(f"review: {result.artifacts_dir / 'review.md'} ({timing})", highlight=False, soft_wrap=True)
    return 0 if result.ok else 1


def register(app: typer.Typer) -> None:
    app.command("pr")(pr)
