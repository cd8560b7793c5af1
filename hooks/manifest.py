"""pre-commit hook: one shared, fresh manifest for every hook of the commit that reads it.

It lives in `target/pre-commit/` (the project's target path, then `pre-commit`), a folder of its own:
a `dbt build` or `dbt docs generate` run by hand rewrites `target/manifest.json` and would otherwise
cost the next commit a parse. Each parse also copies it to `target/manifest.json`, where a
dbt-checkpoint check run alone looks for it.

The manifest is rebuilt by ONE in-process `dbt parse` (`quality.runner.invoke_dbt`, partial parsing on)
only when the project's graph key changed (see `hooks.graph_key`); the key is stored next to the manifest together
with the manifest's size and mtime, so a second call in the same commit - or a commit that only edits
the SQL text of a model - costs a file walk and no dbt import. A parse error is reported as
`file:line: message`.

Run it before the hooks that read the manifest (dbt-checkpoint, layering).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hooks import graph_key, manifest_prefetch
from hooks.dbt_layout import DEFAULT_PROJECT_DIR
from hooks.findings import Finding, report
from hooks.jinja_calls import find_calls
from hooks.yaml_lines import InvalidYaml, load_file

KEY_FILE_NAME = ".quality-manifest-key.json"
PRIVATE_FOLDER = "pre-commit"  # under the project's target path
LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
PATH_IN_MESSAGE = re.compile(r"([\w./-]+\.(?:sql|ya?ml|csv|md|py))\b")
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


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
    """True when the manifest was built by this hook from files with the current key, untouched since."""
    if not settings.manifest_path.is_file() or not settings.key_path.is_file():
        return False
    try:
        stored = json.loads(settings.key_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = {"key": key or current_key(settings), **_manifest_stamp(settings.manifest_path)}
    return all(stored.get(name) == value for name, value in expected.items())


def _write_key(settings: ParseSettings, key: str) -> None:
    record = {"key": key, **_manifest_stamp(settings.manifest_path)}
    settings.key_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _dbt_args(settings: ParseSettings) -> list[str]:
    # Absolute: dbt reads a relative --target-path from the project folder, not from here.
    args = ["parse", "--project-dir", str(settings.project_dir), "--target-path", str(settings.target_dir.resolve())]
    args += ["--log-level", "none", "--no-use-colors"]
    profiles_dir = settings.effective_profiles_dir()
    if profiles_dir is not None:
        args += ["--profiles-dir", str(profiles_dir)]
    if settings.target:
        args += ["--target", settings.target]
    return args


def _resolve_error_path(settings: ParseSettings, candidates: Sequence[str]) -> Path | None:
    config_dirs = ("", "models", "macros", "seeds", "snapshots", "tests", "analyses")
    for candidate in candidates:
        for folder in config_dirs:
            path = settings.project_dir / folder / candidate
            if path.is_file():
                return path
    return None


def _error_line(path: Path | None, message: str, error: BaseException) -> int:
    match = LINE_IN_MESSAGE.search(message)
    if match:
        return int(match.group(1))
    missing = getattr(error, "target_name", None)
    if path is not None and missing and path.suffix == ".sql":
        for call in find_calls(path.read_text(encoding="utf-8")):
            if call.name == missing or call.name.endswith(f".{missing}"):
                return call.line
    return 1


def findings_from_error(settings: ParseSettings, error: BaseException) -> list[Finding]:
    """Turn a dbt parse exception into one `file:line` finding (the project file when none is named)."""
    message = str(getattr(error, "msg", "") or error)
    candidates: list[str] = []
    node = getattr(error, "node", None)
    if node is not None and getattr(node, "original_file_path", None):
        candidates.append(str(node.original_file_path))
    if getattr(error, "path", None):
        candidates.append(str(error.path))  # type: ignore[attr-defined]
    candidates.extend(PATH_IN_MESSAGE.findall(f"{message}\n{error}"))
    path = _resolve_error_path(settings, candidates)
    shown = path if path is not None else settings.project_dir / "dbt_project.yml"
    headline = next((line.strip() for line in message.splitlines() if line.strip()), type(error).__name__)
    detail = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return [
        Finding(
            shown.as_posix(),
            _error_line(path, message, error),
            f"dbt parse failed: {headline}",
            f"the model does not compile; dbt says: {detail}",
        )
    ]


def run_parse(settings: ParseSettings) -> list[Finding]:
    """One in-process `dbt parse`; an empty list means success."""
    os.environ.update(DBT_ENV)
    from quality.runner import invoke_dbt  # only when a parse is really needed, as dbt (on its first call)

    try:
        result = invoke_dbt(_dbt_args(settings))
    except ImportError as error:  # dbt itself: invoke_dbt returns any error of the parse in its result
        return [
            Finding(
                (settings.project_dir / "dbt_project.yml").as_posix(),
                1,
                f"dbt is not importable from {sys.executable} ({error})",
                "run pre-commit from the project environment: `uv run pre-commit ...` or activate .venv",
            )
        ]
    if result.success:
        return []
    if result.exception is not None:
        return findings_from_error(settings, result.exception)
    return [Finding((settings.project_dir / "dbt_project.yml").as_posix(), 1, "dbt parse failed")]


def ensure_manifest(settings: ParseSettings, *, force: bool = False) -> tuple[str, list[Finding]]:
    """Parse when the key changed (or `force`). Returns how the manifest got fresh and the findings.

    How: "fresh" (nothing to do), "prefetched" (a background parse of `hooks.manifest_prefetch` for
    this key finished it) or "parsed" (parsed here).
    """
    key = current_key(settings)
    if not force:
        if is_fresh(settings, key):
            return "fresh", []
        if manifest_prefetch.wait_for(settings.target_dir, key, lambda: is_fresh(settings, key)) and is_fresh(
            settings, key
        ):
            return "prefetched", []
    findings = run_parse(settings)
    if not findings:
        _write_key(settings, key)
        _publish_default_copy(settings)
    return "parsed", findings


def _publish_default_copy(settings: ParseSettings) -> None:
    """Also leave the new manifest where dbt-checkpoint's checks look by default (run one alone)."""
    default = settings.target_dir.parent / "manifest.json"
    temporary = default.with_name(f".manifest.{os.getpid()}.tmp")
    shutil.copyfile(settings.manifest_path, temporary)
    temporary.replace(default)


def settings_from(args: Any) -> ParseSettings:
    return ParseSettings(
        project_dir=Path(args.project_dir),
        profiles_dir=Path(args.profiles_dir) if args.profiles_dir else None,
        target=args.target,
        key_kind=args.key,
    )


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options of this hook, shared with `hooks.manifest_prefetch`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("filenames", nargs="*", help="ignored: the key covers the whole project")
    parser.add_argument("--project-dir", default=DEFAULT_PROJECT_DIR, help="dbt project folder (default: dbt)")
    parser.add_argument("--profiles-dir", default=None, help="profiles.yml folder (default: the project's)")
    parser.add_argument("--target", default=None, help="dbt target (default: the profile's)")
    parser.add_argument("--key", choices=graph_key.KEY_KINDS, default="graph", help="what counts as a change")
    parser.add_argument("--force", action="store_true", help="parse even when the key is unchanged")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser("manifest", __doc__.splitlines()[0]).parse_args(argv)
    settings = settings_from(args)
    started = time.perf_counter()
    how, findings = ensure_manifest(settings, force=args.force)
    elapsed = time.perf_counter() - started
    if how == "parsed" and not findings:
        print(f"parsed {settings.project_dir} in {elapsed:.1f} s -> {settings.manifest_path}")
    elif how == "prefetched":
        print(f"parsed {settings.project_dir} in the background; waited {elapsed:.1f} s -> {settings.manifest_path}")
    return report(findings)


if __name__ == "__main__":
    raise SystemExit(main())
