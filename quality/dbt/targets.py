"""Resolve a dbt target from profiles.yml and the environment, and refuse unsafe or incomplete ones.

Only `env_var()` is rendered here (with jinja2, as dbt does); a variable that is missing and has no
default is reported by name before dbt starts, with the fix. A profiles file that writes a secret or a
Databricks host as a literal is refused by the rule of the `profiles-safety` pre-commit hook (one rule,
two places), and a DuckDB memory limit DuckDB would not parse is named with the variable it came from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import jinja2

from hooks.env_vars import ENV_VAR_CALL
from quality.dbt.profile_secrets import check_text
from quality.dbt.project import DbtProject, read_yaml
from quality.engines.duckdb_kind import DEFAULT_DUCKDB_PATH as DEFAULT_DUCKDB_PATH
from quality.engines.duckdb_kind import MEMORY_SIZE as MEMORY_SIZE
from quality.engines.kinds import engine_kind, find_kind, kinds
from quality.engines.target import DatabricksSettings as DatabricksSettings
from quality.engines.target import EngineName as EngineName
from quality.engines.target import Target as Target
from quality.errors import TargetError

_NO_DEFAULT = object()
PROD_TARGETS = frozenset({"prod", "prod_oauth"})  # prod_oauth: prod by an OAuth service principal


class _MissingEnvVar(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _env_var(name: str, default: object = _NO_DEFAULT) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is _NO_DEFAULT:
        raise _MissingEnvVar(name)
    return str(default)


def render_profile_value(value: Any, *, where: str) -> Any:
    """Render `{{ env_var(...) }}` in one profile value (recursively for mappings and lists)."""
    if isinstance(value, dict):
        return {key: render_profile_value(item, where=f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [render_profile_value(item, where=where) for item in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    try:
        return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value).render(env_var=_env_var)
    except _MissingEnvVar as missing:
        raise TargetError(
            f"environment variable {missing.name} is not set, and {where} in profiles.yml needs it; "
            f"export {missing.name}=... (in CI, from the secret store) and run again."
        ) from None
    except jinja2.TemplateError as error:
        raise TargetError(f"cannot render {where} in profiles.yml: {error}; fix the Jinja expression.") from None


def default_target_name(project: DbtProject) -> str:
    profile = _profile(project)
    return str(os.environ.get("DBT_TARGET") or profile.get("target") or "local")


def resolve_target(project: DbtProject, name: str | None = None) -> Target:
    profile = _profile(project)
    target_name = name or default_target_name(project)
    outputs = profile.get("outputs") or {}
    if target_name not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise TargetError(
            f"target '{target_name}' is not in profile '{project.profile}' of {project.profiles_path} "
            f"(known targets: {known}); pass one of them with --target (pytest: --dbt-target), or set DBT_TARGET."
        )
    refuse_literal_secrets(project.profiles_path)
    where = f"{project.profile}.outputs.{target_name}"
    rendered = render_profile_value(outputs[target_name], where=where)
    if (kind := find_kind(rendered.get("type"))) is not None:
        kind.check_output(outputs[target_name], rendered, where=where)
    return _target_from_output(target_name, rendered, project)


def refuse_literal_secrets(path: Path) -> None:
    """Refuse a profiles file with a literal secret or host, by the rule of the profiles-safety hook."""
    findings = check_text(str(path), path.read_text(encoding="utf-8"))
    if findings:
        listed = "\n".join(f"  {finding.render()}" for finding in sorted(findings))
        raise TargetError(
            f"{path} writes a secret or a workspace host as a literal value, which the harness refuses (as the "
            f"profiles-safety pre-commit hook does); read it from the environment with env_var():\n{listed}"
        )


PROFILES_HINT = (
    "put profiles.yml in the project folder, or point at its folder with --profiles-dir "
    "(pytest: --dbt-profiles-dir) or DBT_PROFILES_DIR."
)


def _profile(project: DbtProject) -> dict[str, Any]:
    profiles = read_yaml(project.profiles_path, what="dbt profiles file", hint=PROFILES_HINT)
    profile = profiles.get(project.profile)
    if not isinstance(profile, dict):
        raise TargetError(
            f"profile '{project.profile}' (named in dbt_project.yml) is not in {project.profiles_path}; add it."
        )
    return profile


def _target_from_output(name: str, output: dict[str, Any], project: DbtProject) -> Target:
    kind = output.get("type")
    schema = str(output.get("schema") or "main")
    is_prod = name in PROD_TARGETS or bool(output.get("is_prod", False))
    engine = find_kind(kind)
    if engine is not None:
        fields = engine.target_fields(output)
        return Target(name=name, engine=engine.name, schema=schema, is_prod=is_prod, **fields)
    outputs = _profile(project).get("outputs") or {}
    local = sorted(key for key, value in outputs.items() if isinstance(value, dict) and _file_backed(value.get("type")))
    way_out = (
        f"pick its DuckDB target: --target {local[0]} (pytest: --dbt-target {local[0]}; or DBT_TARGET={local[0]})"
        if local
        else "run `quality init`, which adds a `local` DuckDB target to the profile"
    )
    raise TargetError(
        f"target '{name}' in {project.profiles_path} has type '{kind}'; the harness supports "
        f"{' and '.join(known.name for known in kinds())}: "
        f"{way_out}."
    )


def _file_backed(kind: Any) -> bool:
    engine = find_kind(kind)
    return engine is not None and engine.file_backed


def refuse_database_file_outside_project(project: DbtProject, target: Target) -> None:
    """A database file (DuckDB's `path`) written in the profile as an absolute path outside the project (and
    the working directory) whose folder does not exist is refused before anything is created there: that is
    a path from another machine or another layout, not a warehouse the user meant the gate to make."""
    kind = engine_kind(target)
    path = kind.database_file(target)
    if path is None or path.parent.exists():
        return
    written = _written_file_setting(project, target)
    if "env_var" in written or not Path(written).is_absolute():
        return
    if any(path.is_relative_to(folder.resolve()) for folder in (project.root, Path.cwd())):
        return
    from quality.dbt.routing import first_line

    where = first_line(project.profiles_dir, ["profiles.yml"], re.escape(written))
    raise TargetError(
        f"the {kind.label} {kind.file_setting} {written} of target '{target.name}' ({where}) is absolute and "
        f"outside the project ({project.root}), and its folder {path.parent} does not exist; the harness "
        f"creates nothing there. Point `{kind.file_setting}` at a file in the project, e.g. "
        f"`{kind.file_setting_example}`, or create that folder first if the warehouse belongs there."
    )


def database_file_env_var(project: DbtProject, target: Target) -> str | None:
    """The environment variable the target's database file setting reads (`env_var('QUALITY_DUCKDB_PATH',
    ...)` in DuckDB's `path`), if any."""
    call = ENV_VAR_CALL.search(_written_file_setting(project, target))
    return str(call["name"]) if call else None


def _written_file_setting(project: DbtProject, target: Target) -> str:
    """The target's database file setting as written in profiles.yml ("" if it has none)."""
    setting = engine_kind(target).file_setting
    if setting is None:
        return ""
    return str(((_profile(project).get("outputs") or {}).get(target.name) or {}).get(setting) or "")


def extensions_hint(project: DbtProject, target: Target, error: str) -> str:
    """When the engine failed on an extension the profile lists: the config, its file and line, and the fix."""
    kind = engine_kind(target)
    extensions = kind.listed_extensions(target)
    if not extensions or "extension" not in error.lower():
        return ""
    from quality.dbt.routing import first_line

    names = ", ".join(str(item.get("name") if isinstance(item, dict) else item) for item in extensions)
    where = first_line(project.profiles_dir, ["profiles.yml"], r"^\s*extensions\s*:")
    return kind.extensions_hint(target, names, where)
