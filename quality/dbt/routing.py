"""Why a node would land outside the ephemeral base: the config that bypasses the harness, its file and line.

The harness routes every schema through the project's `generate_schema_name` macro (driven by the var
`quality_schema_base`). A node that lands elsewhere has one of three causes, each with its own fix:

- a snapshot configured the old way, `target_schema` (in its `{% snapshot %}` config block, its YAML or
  dbt_project.yml): dbt uses that schema as written and never calls `generate_schema_name`;
- the project's own `generate_schema_name` macro, which does not read `quality_schema_base`;
- no such macro at all (dbt's default one): `quality init` adds the harness's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SCHEMA_VAR = "quality_schema_base"


def routing_refusal(
    manifest: dict[str, Any],
    node: dict[str, Any],
    base: str,
    project_root: Path | None,
    target_schema: str | None = None,
) -> str:
    """One message: which node lands where, the config that makes it (file:line) and the fix.

    `target_schema` is the schema of the dbt target (its profile output's `schema:`), for the fix of a
    snapshot configured with `target_schema`: the fix must not move the snapshot in the user's own runs.
    """
    schema = str(node.get("schema") or "")
    what = f"{node['resource_type']} {node['name']} would be built in schema '{schema}', outside the ephemeral base '{base}'"
    root = project_root or Path(".")
    config = node.get("config") or {}
    if node.get("resource_type") == "snapshot" and config.get("target_schema"):
        where = first_line(root, _node_files(node), r"\btarget_schema\b")
        return (
            f"{what}: it is configured with target_schema ('{config['target_schema']}', {where}), which dbt "
            "uses as written, bypassing generate_schema_name, so the harness cannot route it. "
            + _target_schema_fix(str(config["target_schema"]), target_schema)
        )
    macro = _own_schema_macro(manifest, node.get("package_name"))
    if macro is not None and SCHEMA_VAR not in str(macro.get("macro_sql", "")):
        where = first_line(root, [str(macro.get("original_file_path", ""))], r"macro\s+generate_schema_name\b")
        return (
            f"{what}: the project's own generate_schema_name macro ({where}) does not read the var {SCHEMA_VAR}, "
            "which the harness sets to route every schema under the base. Add its branch at the top of your "
            f"macro: `{{%- set base = var('{SCHEMA_VAR}', none) -%}}{{%- if base -%}}{{{{ base | trim }}}}_"
            "{{ (custom_schema_name or 'main') | trim }}{%- else -%}` your macro's body `{%- endif -%}` "
            "(`uv run quality init` prints it)."
        )
    return (
        f"{what}, so it could touch production. Add the harness's generate_schema_name macro to the project "
        f"(it routes every schema under the var {SCHEMA_VAR}): run `uv run quality init`; see README."
    )


def _target_schema_fix(configured: str, target_schema: str | None) -> str:
    """The fix that keeps the snapshot where the user's own runs put it today, as far as dbt allows.

    dbt >= 1.9 names a snapshot without target_schema through generate_schema_name like a model: with no
    `schema:` it lands in the target's schema; with `schema: x`, dbt's default naming gives `<target schema>_x`.
    """
    if target_schema is not None and configured.lower() == target_schema.lower():
        return (
            "Remove target_schema from its config (dbt >= 1.9): the snapshot then lands in the target's own schema "
            f"('{target_schema}'), where it lands now, through generate_schema_name."
        )
    named = f" ('{target_schema}_{configured}')" if target_schema else ""
    return (
        f"Configure the snapshot with `schema: {configured}` instead of target_schema (dbt >= 1.9; your own runs "
        "then name its schema as they name models', through generate_schema_name: with dbt's default naming, "
        f"<target schema>_{configured}{named}, not '{configured}')."
    )


def _own_schema_macro(manifest: dict[str, Any], package: object) -> dict[str, Any] | None:
    """The root project's `generate_schema_name` (dbt uses the root project's only), if it has one."""
    for macro in manifest.get("macros", {}).values():
        if macro.get("name") == "generate_schema_name" and macro.get("package_name") == package:
            found: dict[str, Any] = macro
            return found
    return None


def _node_files(node: dict[str, Any]) -> list[str]:
    """Where a node's config can be written: its own file, its YAML (patch) and dbt_project.yml."""
    patch = str(node.get("patch_path") or "").split("://", 1)[-1]
    return [str(node.get("original_file_path") or ""), patch, "dbt_project.yml"]


def first_line(root: Path, files: list[str], pattern: str) -> str:
    """`file:line` of the first line matching `pattern` in the first file that has one, else the first file."""
    regex = re.compile(pattern)
    for name in filter(None, files):
        path = root / name
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if regex.search(line):
                return f"{path}:{number}"
    return str(root / files[0]) if files and files[0] else str(root)
