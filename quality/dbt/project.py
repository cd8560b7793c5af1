"""Locate a dbt project and its profiles directory, and read what the harness needs from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from quality.errors import QualityError


@dataclass(frozen=True)
class DbtProject:
    """A dbt project on disk: where it is, its name, its profile and where its profiles.yml lives."""

    root: Path
    name: str
    profile: str
    profiles_dir: Path

    @property
    def profiles_path(self) -> Path:
        return self.profiles_dir / "profiles.yml"


# The resource-path keys dbt still reads under their pre-1.0 names when the new key is absent (dbt-core 1.11,
# `dbt.config.project`): an older project keeps its models under `source-paths` and its seeds (its raw CSVs,
# e.g. a `data/` folder) under `data-paths`.
DEPRECATED_PATH_KEYS = {"model-paths": "source-paths", "seed-paths": "data-paths"}


def resource_paths(config: Any, key: str, default: list[str]) -> list[str]:
    """The folders of one `<resource>-paths` key of a dbt_project.yml mapping, as dbt resolves them: the key,
    else its deprecated name (`source-paths`, `data-paths`), else dbt's default."""
    if not isinstance(config, dict):
        return list(default)
    value = config.get(key) if key in config else config.get(DEPRECATED_PATH_KEYS.get(key, key))
    return [str(path) for path in value] if isinstance(value, list) else list(default)


def load_project(
    project_dir: Path | str, profiles_dir: Path | str | None = None, *, option: str = "--project-dir"
) -> DbtProject:
    root = Path(project_dir).resolve()
    hint = f"pass {option} pointing at the folder that holds dbt_project.yml."
    config = read_yaml(root / "dbt_project.yml", what="dbt project file", hint=hint)
    name = config.get("name")
    if not isinstance(name, str):
        raise QualityError(f"{root / 'dbt_project.yml'} has no `name:`; every dbt project needs one.")
    profile = config.get("profile") or name
    return DbtProject(root=root, name=name, profile=str(profile), profiles_dir=_profiles_dir(root, profiles_dir))


def _profiles_dir(root: Path, explicit: Path | str | None) -> Path:
    """Where profiles.yml is read from, in dbt's order (dbt-core 1.11, `dbt.cli.resolvers.default_profiles_dir`
    and the `--profiles-dir` option's envvar): --profiles-dir, DBT_PROFILES_DIR, the current working directory
    if it holds a profiles.yml, then ~/.dbt.

    One addition of ours, between the working directory and ~/.dbt: the dbt project's own folder, if it holds a
    profiles.yml. dbt itself does not look there (only in the working directory, which is the project folder
    when dbt runs from it); the harness does, so `pytest` or `quality` run from a parent folder find the
    profiles.yml kept next to dbt_project.yml. Documented in the README (`quality init`).
    """
    if explicit is not None:
        return Path(explicit).resolve()
    if env := os.environ.get("DBT_PROFILES_DIR"):
        return Path(env).resolve()
    for folder in (Path.cwd().resolve(), root):
        if (folder / "profiles.yml").is_file():
            return folder
    return Path.home() / ".dbt"


def read_yaml(path: Path, *, what: str, hint: str) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file and line, and a missing file says how to point at it (`hint`)."""
    if not path.is_file():
        raise QualityError(f"no {what} at {path}; {hint}")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise QualityError(f"{where}: invalid YAML in the {what} ({error}); fix the file.") from None
    if not isinstance(loaded, dict):
        raise QualityError(f"{path}: the {what} must be a YAML mapping.")
    return loaded
