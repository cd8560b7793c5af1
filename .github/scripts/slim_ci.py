"""Slim CI: build what a pull request changed, compared with the manifest of the last deploy.

    uv run python .github/scripts/slim_ci.py --state-dir state --schema-prefix pr42

- Engine: the Databricks `ci` target when DATABRICKS_HOST and a credential are set (a same-repo PR with the
  secrets), else the embedded DuckDB `local` target (forks, or no Databricks at all).
- Everything lands in an ephemeral schema base `<prefix>_<timestamp>_<id>` (e.g. `pr42_20261125t131000_ab12cd`),
  dropped at the end; the scheduled `quality reap --older-than 6h` catches what a killed job leaves.
- State: `<state-dir>/databricks/manifest.json` (dbt parse --target prod) or `<state-dir>/local/manifest.json`
  (dbt parse --target local), both uploaded by the deploy workflow. Without it (first deploy, expired
  artifact): a full build.
- Selection: new nodes and nodes whose body, configs, descriptions, macros or contract changed, plus their
  children (`quality.dbt.selection`, shared with `quality diff`).
- Databricks defers the unselected parents to prod and reads the real raw schema. DuckDB has no prod to
  defer to, so it builds `@...`: the changes, their children and every parent of those children (a unit test
  of a child reads the columns of all its inputs), from the raw fixtures, and runs only the tests whose
  every parent is built (`--indirect-selection cautious`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from quality.dbt.selection import CHANGED, changed_and_children

STATE_MANIFEST = "manifest.json"


def choose_target(environ: Mapping[str, str]) -> str:
    has_credential = bool(environ.get("DATABRICKS_TOKEN") or environ.get("DATABRICKS_CLIENT_SECRET"))
    return "ci" if environ.get("DATABRICKS_HOST") and has_credential else "local"


def selection(state_dir: Path, engine: str) -> list[str]:
    """dbt build arguments selecting the PR's changes, or [] (full build) without a manifest to compare with."""
    state = state_dir / ("databricks" if engine == "databricks" else "local")
    if not (state / STATE_MANIFEST).is_file():
        return []
    if engine == "databricks":
        return ["--select", *changed_and_children(), "--defer", "--state", str(state.resolve())]
    return [
        "--select",
        *(f"@{method}" for method in CHANGED),
        "--indirect-selection",
        "cautious",
        "--state",
        str(state.resolve()),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=Path("state"))
    parser.add_argument("--schema-prefix", required=True)
    parser.add_argument("--fixtures", type=Path, default=Path("tests/fixtures/raw"))
    parser.add_argument("--project-dir", type=Path, default=Path("dbt"))
    parser.add_argument("--artifacts-dir", type=Path, default=Path("artifacts/slim-ci"))
    args = parser.parse_args(argv)

    from quality.dbt.project import load_project
    from quality.dbt.targets import resolve_target
    from quality.harness.workspace import open_workspace

    project = load_project(args.project_dir)
    target = resolve_target(project, choose_target(os.environ))
    build_args = ["build", *selection(args.state_dir, target.engine)]
    workspace = open_workspace(project, target, prefix=args.schema_prefix, artifacts_root=args.artifacts_dir)
    print(f"slim CI on {target.describe()} in schema base {workspace.base}: dbt {' '.join(build_args)}")
    try:
        if target.engine == "databricks":
            workspace.dbt.raw_schema = None  # the project's own raw schema: deferred parents read the same data
        else:
            workspace.load_fixtures(args.fixtures)
        workspace.parse()
        run = workspace.dbt.run(build_args, expect_pass=False)
    finally:
        workspace.close()
    failed = [node for node in run.nodes if node.status in {"error", "fail", "runtime error"}]
    print(f"{len(run.nodes)} node(s) run, {len(failed)} failed")
    for node in failed:
        print(f"  {node.status}: {node.unique_id}: {node.message}")
    return 0 if run.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
