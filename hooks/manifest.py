"""pre-commit hook: one shared, fresh manifest for every hook of the commit that reads it.

It lives in `target/pre-commit/` (the project's target path, then `pre-commit`), a folder of its own:
a `dbt build` or `dbt docs generate` run by hand rewrites `target/manifest.json` and would otherwise
cost the next commit a parse. Each parse also copies it to `target/manifest.json`, where a
dbt-checkpoint check run alone looks for it.

The manifest is rebuilt by ONE in-process `dbt parse` (`quality.dbt.runner.invoke_dbt`, partial parsing on)
only when the project's graph key changed (see `hooks.graph_key`; the key, where the manifest lives and the
hooks' options are in `hooks.manifest_key`). The key is stored next to the manifest together with the
manifest's size and mtime, so a second call in the same commit - or a commit that only edits the SQL text
of a model - costs a file walk and no dbt import. A parse error is reported as `file:line: message`.

Run it before the hooks that read the manifest (dbt-checkpoint, layering).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hooks import manifest_prefetch
from hooks.findings import Finding, report
from hooks.jinja_calls import find_calls
from hooks.manifest_key import ParseSettings, current_key, is_fresh, parser, settings_from, write_key

LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
PATH_IN_MESSAGE = re.compile(r"([\w./-]+\.(?:sql|ya?ml|csv|md|py))\b")
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


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
    from quality.dbt.runner import invoke_dbt  # only when a parse is really needed, as dbt (on its first call)

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
        write_key(settings, key)
        _publish_default_copy(settings)
    return "parsed", findings


def _publish_default_copy(settings: ParseSettings) -> None:
    """Also leave the new manifest where dbt-checkpoint's checks look by default (run one alone)."""
    default = settings.target_dir.parent / "manifest.json"
    temporary = default.with_name(f".manifest.{os.getpid()}.tmp")
    shutil.copyfile(settings.manifest_path, temporary)
    temporary.replace(default)


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
