"""pre-commit hook: dbt SQL calls only Spark / Databricks SQL built-ins and casts only to Databricks types.

Changed models, snapshots, singular tests and analyses are rendered like the `sqlfluff-lint` hook renders
them (sqlfluff's jinja templater, `.sqlfluff`, `hooks/sqlfluff_library`), then parsed with sqlglot's
Databricks dialect (`hooks.spark_sql`). A changed macro file is checked in every file that calls its
macros. With `--render-cache DIR` (the pre-commit config), a rendering the `sqlfluff-lint` hook stored in
DIR is used instead when it is still exact (`hooks.render_cache`): one rendering per file and commit. `--compiled-dir DIR` checks dbt's own compiled SQL instead (`target/compiled`, `target/run`).
Your UDFs: `vars: quality: spark_function_allowlist: [name, ...]` in dbt_project.yml, or `--allow NAME`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hooks.dbt_layout import Project, config_folders, load_project, node_folders, project_hook_parser, sql_files
from hooks.dbt_render import RenderError, render_file
from hooks.findings import Finding, report
from hooks.macro_users import affected_macros, users
from hooks.spark_sql import DOES_NOT_PARSE, VERIFIED_VAR, check_sql
from hooks.yaml_lines import InvalidYaml

ALLOWLIST_VAR = ("quality", "spark_function_allowlist")


def allowlist(project: Project | None, extra: Sequence[str] = ()) -> frozenset[str]:
    """The names allowed: dbt_project.yml `vars: quality: spark_function_allowlist` (your UDFs) and
    `vars: quality: verified_on_databricks` (built-ins whose local differences you checked), plus `extra`."""
    names = [*_var_list(project, ALLOWLIST_VAR), *_var_list(project, (ALLOWLIST_VAR[0], VERIFIED_VAR)), *extra]
    return frozenset(name.strip().strip("`").lower() for name in names if name.strip())


def _var_list(project: Project | None, keys: Sequence[str]) -> list[str]:
    value: Any = project.config.get("vars") if project is not None else None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return [str(name) for name in value] if isinstance(value, list) else []


def _is_under(path: Path, folders: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(folder.resolve()) for folder in folders)


def files_to_check(project: Project, filenames: Sequence[str]) -> list[Path]:
    """The changed node SQL files, and the node SQL files that call a macro of a changed macro file."""
    nodes, macro_folders = node_folders(project), config_folders(project, "macro-paths", "macros")
    changed = [Path(name) for name in filenames if name.endswith(".sql") and Path(name).is_file()]
    chosen = {path.as_posix(): path for path in changed if _is_under(path, nodes)}
    changed_macros = {
        path.as_posix(): path.read_text(encoding="utf-8") for path in changed if _is_under(path, macro_folders)
    }
    if changed_macros:
        every_macro = {path.as_posix(): path.read_text(encoding="utf-8") for path in sql_files(macro_folders)}
        every_node = {path.as_posix(): path.read_text(encoding="utf-8") for path in sql_files(nodes)}
        for name in users(every_node, affected_macros(changed_macros, every_macro)):
            chosen.setdefault(name, Path(name))
    return [chosen[name] for name in sorted(chosen)]


def check_rendered(paths: Sequence[Path], allow: frozenset[str], render_cache: Path | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        try:
            renderings = render_file(path, render_cache)
        except RenderError as error:
            findings.append(
                Finding(
                    error.path,
                    error.line,
                    f"the Jinja does not render, so its SQL cannot be checked: {error.message}",
                    "fix the Jinja (sqlfluff-lint shows the same error)",
                )
            )
            continue
        first, *variants = renderings
        findings.extend(check_sql(first.sql, first.path, allow=allow, line_of=first.line_of))
        for variant in variants:  # a branch the plain rendering skipped; its syntax is sqlfluff's to judge
            found = check_sql(variant.sql, variant.path, allow=allow, line_of=variant.line_of)
            findings.extend(finding for finding in found if not finding.message.startswith(DOES_NOT_PARSE))
    return findings


def check_compiled(folder: Path, allow: frozenset[str]) -> list[Finding]:
    """Every `.sql` file under a dbt compile output folder: no Jinja left, lines are the file's own."""
    return [
        finding
        for path in sql_files([folder])
        for finding in check_sql(path.read_text(encoding="utf-8"), path.as_posix(), allow=allow)
    ]


def _project(project_dir: str) -> Project | None:
    return load_project(project_dir) if (Path(project_dir) / "dbt_project.yml").is_file() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = project_hook_parser(
        "spark-functions", __doc__.splitlines()[0], "changed model, snapshot, test, analysis or macro SQL files"
    )
    parser.add_argument("--all", action="store_true", help="check every model, snapshot, test and analysis")
    parser.add_argument(
        "--compiled-dir", action="append", default=[], metavar="DIR", help="check dbt's compiled SQL under DIR"
    )
    parser.add_argument("--allow", action="append", default=[], metavar="NAME", help="a UDF name to allow")
    parser.add_argument(
        "--render-cache",
        default=None,
        metavar="DIR",
        help="use the renderings the sqlfluff-lint hook stored in DIR when still exact (hooks.render_cache)",
    )
    args = parser.parse_args(argv)
    try:
        project = _project(args.project_dir)
    except InvalidYaml as invalid:
        return report([invalid.finding])
    allow = allowlist(project, args.allow)
    findings = [finding for folder in args.compiled_dir for finding in check_compiled(Path(folder), allow)]
    if project is not None:
        paths = list(sql_files(node_folders(project))) if args.all else files_to_check(project, args.filenames)
        render_cache = Path(args.render_cache) if args.render_cache else None
        findings.extend(check_rendered(paths, allow, render_cache))
    return report(findings)


if __name__ == "__main__":
    raise SystemExit(main())
