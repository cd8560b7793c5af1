"""The shared manifest of the pre-commit hooks: where it lives, its key, whether it is fresh, the hooks' options.

`hooks.manifest` (the parse) and `hooks.manifest_prefetch` (the same parse, started in the background)
both build on this module; it imports no dbt. See `hooks.manifest` for what the manifest is for.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hooks import graph_key
from hooks.dbt_layout import project_hook_parser
from hooks.yaml_lines import InvalidYaml, load_file

KEY_FILE_NAME = ".quality-manifest-key.json"
PRIVATE_FOLDER = "pre-commit"  # under the project's target path


@dataclass(frozen=True)
class ParseSettings:
    """What `dbt parse` runs on. `profiles_dir` None lets dbt search (project dir, then ~/.dbt)."""

    project_dir: Path
    profiles_dir: Path | None = None
    target: str | None = None
    key_kind: str = "graph"

    @property
    def target_dir(self) -> Path:
        return self.project_dir / _target_path(self.project_dir) / PRIVATE_FOLDER

    @property
    def manifest_path(self) -> Path:
        return self.target_dir / "manifest.json"

    @property
    def key_path(self) -> Path:
        return self.target_dir / KEY_FILE_NAME

    def effective_profiles_dir(self) -> Path | None:
        if self.profiles_dir is not None:
            return self.profiles_dir
        return self.project_dir if (self.project_dir / "profiles.yml").is_file() else None


def _target_path(project_dir: Path) -> str:
    try:
        config = load_file(project_dir / "dbt_project.yml") or {}
    except (InvalidYaml, OSError):
        return "target"
    return str(config.get("target-path") or "target")


def _macro_folders(project_dir: Path) -> tuple[str, ...]:
    try:
        config = load_file(project_dir / "dbt_project.yml") or {}
    except (InvalidYaml, OSError):
        return ("macros",)
    return tuple(config.get("macro-paths") or ["macros"])


def current_key(settings: ParseSettings) -> str:
    extra = [f"target {settings.target or '<default>'}", f"kind {settings.key_kind}"]
    profiles_dir = settings.effective_profiles_dir()
    if profiles_dir is not None and profiles_dir.resolve() != settings.project_dir.resolve():
        profiles = profiles_dir / "profiles.yml"
        content = profiles.read_bytes() if profiles.is_file() else b""
        extra.append(f"profiles {hashlib.sha256(content).hexdigest()}")
    return graph_key.compute(
        settings.project_dir,
        kind=settings.key_kind,
        macro_folders=_macro_folders(settings.project_dir),
        extra=extra,
    )


def _manifest_stamp(manifest: Path) -> dict[str, int]:
    stat = manifest.stat()
    return {"manifest_size": stat.st_size, "manifest_mtime_ns": stat.st_mtime_ns}


def is_fresh(settings: ParseSettings, key: str | None = None) -> bool:
    """True when the manifest was built by the dbt-manifest hook from files with the current key, untouched since."""
    if not settings.manifest_path.is_file() or not settings.key_path.is_file():
        return False
    try:
        stored = json.loads(settings.key_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = {"key": key or current_key(settings), **_manifest_stamp(settings.manifest_path)}
    return all(stored.get(name) == value for name, value in expected.items())


def write_key(settings: ParseSettings, key: str) -> None:
    record = {"key": key, **_manifest_stamp(settings.manifest_path)}
    settings.key_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def settings_from(args: Any) -> ParseSettings:
    return ParseSettings(
        project_dir=Path(args.project_dir),
        profiles_dir=Path(args.profiles_dir) if args.profiles_dir else None,
        target=args.target,
        key_kind=args.key,
    )


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options of the dbt-manifest hook, which `hooks.manifest_prefetch` takes too."""
    parser = project_hook_parser(prog, description, "ignored: the key covers the whole project")
    parser.add_argument("--profiles-dir", default=None, help="profiles.yml folder (default: the project's)")
    parser.add_argument("--target", default=None, help="dbt target (default: the profile's)")
    parser.add_argument("--key", choices=graph_key.KEY_KINDS, default="graph", help="what counts as a change")
    parser.add_argument("--force", action="store_true", help="parse even when the key is unchanged")
    return parser
