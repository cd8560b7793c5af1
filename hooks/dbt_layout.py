"""Where things live in a dbt project, read from its files only (fast: no dbt import).

Layers come from the folder under a model path: `staging`, `intermediate`, `marts`. A staging model's
domain is its subfolder (`models/staging/<domain>/...`); a mart's is its subfolder under `marts/` when
that names a staging domain. `meta.domain` in a model's YAML wins over both.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hooks.findings import report
from hooks.yaml_lines import InvalidYaml, load_file

DEFAULT_PROJECT_DIR = "dbt"
LAYERS = ("staging", "intermediate", "marts")
IGNORED_DIRS = frozenset({"target", "logs", "dbt_packages", "dbt_modules", ".venv", "node_modules"})


@dataclass(frozen=True)
class Project:
    """A dbt project: its folder (as given, e.g. `dbt`) and the path lists of `dbt_project.yml`."""

    root: Path
    name: str
    model_paths: tuple[str, ...]
    macro_paths: tuple[str, ...]
    config: dict[str, Any]


@dataclass(frozen=True)
class ModelFile:
    """A model's SQL file with its layer (`staging`/`intermediate`/`marts`/"") and domain ("" if none)."""

    name: str
    path: Path
    layer: str
    folder_domain: str


# The resource-path keys dbt still reads under their pre-1.0 names when the new key is absent (dbt-core 1.11).
DEPRECATED_PATH_KEYS = {"model-paths": "source-paths", "seed-paths": "data-paths"}


def load_project(root: Path | str = DEFAULT_PROJECT_DIR) -> Project:
    """The project's dbt_project.yml, with `source-paths` / `data-paths` (an older project's names) read as
    `model-paths` / `seed-paths`, as dbt reads them, so every hook sees one name per resource path."""
    root = Path(root)
    config = dict(load_file(root / "dbt_project.yml") or {})
    for key, old in DEPRECATED_PATH_KEYS.items():
        if key not in config and old in config:
            config[key] = config[old]
    return Project(
        root=root,
        name=str(config.get("name", "")),
        model_paths=tuple(config.get("model-paths") or ["models"]),
        macro_paths=tuple(config.get("macro-paths") or ["macros"]),
        config=dict(config),
    )


def project_hook_parser(prog: str, description: str, filenames_help: str) -> argparse.ArgumentParser:
    """The command line every project hook starts with: the files pre-commit passes, and `--project-dir`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("filenames", nargs="*", help=filenames_help)
    parser.add_argument("--project-dir", default=DEFAULT_PROJECT_DIR, help="dbt project folder (default: dbt)")
    return parser


def on_project(project_dir: str, run: Callable[[Project], int]) -> int:
    """`run` on the project in `project_dir`; a dbt_project.yml that is not valid YAML is the one finding."""
    try:
        project = load_project(project_dir)
    except InvalidYaml as invalid:
        return report([invalid.finding])
    return run(project)


def _walk(folder: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and entry.name not in IGNORED_DIRS and not entry.name.startswith("."):
            yield from _walk(entry, suffixes)
        elif entry.suffix in suffixes:
            yield entry


def model_sql_files(project: Project) -> Iterator[Path]:
    for model_path in project.model_paths:
        yield from _walk(project.root / model_path, (".sql",))


def model_yaml_files(project: Project) -> Iterator[Path]:
    for model_path in project.model_paths:
        yield from _walk(project.root / model_path, (".yml", ".yaml"))


def relative_to_model_path(project: Project, path: Path) -> tuple[str, ...] | None:
    """The parts of `path` below its model path (`('staging', 'shop', 'stg_x.sql')`), or None."""
    resolved = path.resolve()
    for model_path in project.model_paths:
        base = (project.root / model_path).resolve()
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).parts
    return None


def classify(project: Project, path: Path) -> ModelFile | None:
    parts = relative_to_model_path(project, path)
    if parts is None:
        return None
    layer = parts[0] if len(parts) > 1 and parts[0] in LAYERS else ""
    folder_domain = parts[1] if layer and len(parts) > 2 else ""
    return ModelFile(name=path.stem, path=path, layer=layer, folder_domain=folder_domain)


def yaml_models(path: Path) -> Iterator[dict[str, Any]]:
    """The `models:` entries of one properties file; a file that does not parse yields nothing."""
    try:
        document = load_file(path)
    except InvalidYaml:
        return
    models = document.get("models") if isinstance(document, dict) else None
    for model in models or []:
        if isinstance(model, dict) and model.get("name"):
            yield model


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def model_meta(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model's `meta`, merging the dbt >= 1.10 place (`config: meta:`) over the older top-level one."""
    config = as_mapping(model.get("config"))
    return {**as_mapping(model.get("meta")), **as_mapping(config.get("meta"))}


def declared_meta(project: Project, key: str) -> dict[str, str]:
    """`meta.<key>` of every model that declares a non-empty one in YAML, by model name."""
    values: dict[str, str] = {}
    for yaml_path in model_yaml_files(project):
        for model in yaml_models(yaml_path):
            value = model_meta(model).get(key)
            if value:
                values[str(model["name"])] = str(value)
    return values


def declared_domains(project: Project) -> dict[str, str]:
    """`meta.domain` of every model that declares one in YAML, by model name."""
    return declared_meta(project, "domain")


# dbt_project.yml keys of the folders whose SQL dbt runs, with dbt's defaults.
NODE_PATHS = (
    ("model-paths", "models"),
    ("snapshot-paths", "snapshots"),
    ("test-paths", "tests"),
    ("analysis-paths", "analyses"),
)


def config_folders(project: Project, key: str, default: str) -> list[Path]:
    """The folders a dbt_project.yml key names (`model-paths`, ...), or dbt's default one."""
    return [project.root / str(folder) for folder in project.config.get(key) or [default]]


def node_folders(project: Project) -> list[Path]:
    return [folder for key, default in NODE_PATHS for folder in config_folders(project, key, default)]


def sql_files(folders: Sequence[Path]) -> Iterator[Path]:
    """Every `.sql` file under the folders, sorted, skipping build output and installed packages."""
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*.sql")):
                if not IGNORED_DIRS.intersection(path.relative_to(folder).parts[:-1]):
                    yield path
