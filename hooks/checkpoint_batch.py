"""pre-commit hook: run the configured dbt-checkpoint checks in ONE process instead of one each.

Every dbt-checkpoint hook costs a Python start, its imports (mixpanel, requests: about 0.35 s here) and
a manifest load; ten of them take 4-5 s, more than the whole commit budget. This runner is declared as
a hook of the pinned dbt-checkpoint repository (its `entry` overridden), so it runs in dbt-checkpoint's
own environment with exactly the pinned code. It reads the same `.pre-commit-config.yaml`, takes every
other hook of that repository that sits in the `manual` stage (each check stays declared there with its
`files`, `exclude`, types and `args`, and stays runnable alone with `pre-commit run --hook-stage manual
<id>`), applies pre-commit's file filters to the files it was given, and calls each check's `main()`.

Three shims keep the process cheap without changing what a check sees: dbt-checkpoint's YAML loads go
through libyaml's C loader (same results, several times faster than the pure-Python one it calls); the
manifest is parsed once and shared by the checks (v2.0.10's checks only read it); and with
`disable-tracking: true` the `mixpanel` module it imports (with requests and httpx: 0.3-0.4 s) is
replaced by a stub that refuses to be used, since tracking never constructs it then.

One correction: v2.0.10's `check-script-has-no-table-name` splits SQL on whitespace only, so the
trailing `;` of `select * from final;` makes a table `final;` that no CTE is named like, a false finding
beside the real one of `check-script-semicolon`. A `;` is never part of a table name: that check sees a
space in its place (`from raw.orders;` is still reported, as `raw.orders`). Run alone in the manual
stage, the check is upstream's and still reports `final;`.

pre-commit heads the batch's output with the batch hook's own id (`check-script-semicolon`, an id of
the pinned repository), so each finding is printed headed by the id of the check that produced it.

The checks run from inside the dbt project (`dbt-project-dir` of `.dbt-checkpoint.yaml`), with paths
relative to it, as dbt-checkpoint expects: from the repository root its macro checks never match a
macro of a project in a subfolder (it compares `dbt/macros/x.sql` with the manifest's `macros/x.sql`),
and its property-file lookups glob `**/` over the whole repository (virtualenvs and caches included).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from hooks.manifest import ParseSettings

CHECKPOINT_REPO = re.compile(r"dbt-checkpoint(\.git)?/?$")
SUFFIX_TAGS: Mapping[str, frozenset[str]] = {
    ".sql": frozenset({"sql"}),
    ".yml": frozenset({"yaml"}),
    ".yaml": frozenset({"yaml"}),
    ".json": frozenset({"json"}),
    ".md": frozenset({"markdown"}),
    ".csv": frozenset({"csv"}),
    ".py": frozenset({"python"}),
}
KNOWN_TAGS = frozenset({"file", "text"}).union(*SUFFIX_TAGS.values())
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class BatchConfigError(Exception):
    """The batch cannot run a configured check (unknown hook id or file type); the message says why."""


@dataclass(frozen=True)
class Check:
    """One dbt-checkpoint hook as configured: its id, console script and pre-commit file filters."""

    hook_id: str
    entry: str
    args: tuple[str, ...]
    files: str
    exclude: str
    types: frozenset[str]
    types_or: frozenset[str]
    exclude_types: frozenset[str]

    def selects(self, filename: str) -> bool:
        """pre-commit's rule: files/exclude regexes, then all of `types`, any of `types_or`, none excluded."""
        if not re.search(self.files, filename) or (self.exclude and re.search(self.exclude, filename)):
            return False
        tags = file_tags(filename)
        if not self.types <= tags or self.exclude_types & tags:
            return False
        return not self.types_or or bool(self.types_or & tags)


def file_tags(filename: str) -> frozenset[str]:
    return frozenset({"file", "text"}) | SUFFIX_TAGS.get(Path(filename).suffix.lower(), frozenset())


def _tags(value: Any, hook_id: str) -> frozenset[str]:
    tags = frozenset(str(tag) for tag in value or [])
    unknown = tags - KNOWN_TAGS
    if unknown:
        raise BatchConfigError(
            f"hook '{hook_id}' filters on file types {sorted(unknown)}, which the batch does not know; "
            f"use `files:` instead, or run that hook outside the batch (remove `stages: [manual]`)"
        )
    return tags


def manifest_hooks(repo_dir: Path) -> dict[str, dict[str, Any]]:
    """The hook definitions (`.pre-commit-hooks.yaml`) of the checked-out dbt-checkpoint repository."""
    manifest = repo_dir / ".pre-commit-hooks.yaml"
    if not manifest.is_file():
        return {}
    return {str(hook["id"]): hook for hook in yaml.safe_load(manifest.read_text(encoding="utf-8")) or []}


def _merged(configured: Mapping[str, Any], defaults: Mapping[str, Any]) -> Check:
    hook_id = str(configured["id"])
    merged = {**defaults, **configured}
    return Check(
        hook_id=hook_id,
        entry=str(merged.get("entry") or hook_id),
        args=tuple(str(arg) for arg in merged.get("args") or []),
        files=str(merged.get("files") or ""),
        exclude=str(merged.get("exclude") or ""),
        types=_tags(merged.get("types") or ["file"], hook_id),
        types_or=_tags(merged.get("types_or"), hook_id),
        exclude_types=_tags(merged.get("exclude_types"), hook_id),
    )


def configured_checks(config: Mapping[str, Any], defaults: Mapping[str, Mapping[str, Any]]) -> list[Check]:
    """The manual-stage hooks of the dbt-checkpoint repository in the pre-commit config, in order."""
    checks: list[Check] = []
    for repo in config.get("repos") or []:
        if not CHECKPOINT_REPO.search(str(repo.get("repo", ""))):
            continue
        for hook in repo.get("hooks") or []:
            if list(hook.get("stages") or []) == ["manual"]:
                checks.append(_merged(hook, defaults.get(str(hook["id"]), {})))
    return checks


def skip_tracking_import(place: Place) -> None:
    """With tracking disabled dbt-checkpoint never builds a Mixpanel client: do not import one."""
    if not place.tracking_disabled or "mixpanel" in sys.modules:
        return

    class Mixpanel:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("mixpanel is stubbed out by hooks.checkpoint_batch: tracking is disabled")

    stub = types.ModuleType("mixpanel", "stub: .dbt-checkpoint.yaml sets disable-tracking: true")
    stub.Mixpanel = Mixpanel  # type: ignore[attr-defined]
    sys.modules["mixpanel"] = stub


def share_parsed_files() -> None:
    """Speed up dbt-checkpoint's own file loading in this process (see the module docstring)."""
    try:
        from dbt_checkpoint import utils  # type: ignore[import-not-found]  # only in dbt-checkpoint's env
    except ImportError:
        return  # not dbt-checkpoint's environment: load_main() says so per check
    c_loader = getattr(yaml, "CSafeLoader", None)
    if c_loader is not None:
        utils.safe_load = lambda stream: yaml.load(stream, Loader=c_loader)  # the C SafeLoader
    read_json = utils.get_json

    @functools.lru_cache(maxsize=8)
    def parsed(path: str, stamp: int) -> Any:
        return read_json(path)

    def get_json(json_filename: str) -> Any:
        try:
            stamp = Path(json_filename).stat().st_mtime_ns
        except OSError:
            return read_json(json_filename)  # raises dbt-checkpoint's own JsonOpenError
        return parsed(str(Path(json_filename).resolve()), stamp)

    utils.get_json = get_json


def semicolon_ends_a_table_name() -> None:
    """`check-script-has-no-table-name` reads no table name out of a `;` (see the module docstring)."""
    try:
        from dbt_checkpoint import check_script_has_no_table_name as check  # type: ignore[import-not-found]
    except ImportError:
        return  # not dbt-checkpoint's environment: load_main() says so per check
    has_table_name = check.has_table_name

    def without_semicolons(sql: str, filename: str, dotless: bool | None = False) -> Any:
        return has_table_name(sql.replace(";", " "), filename, dotless)

    check.has_table_name = without_semicolons


def load_main(entry: str) -> Callable[[Sequence[str]], int]:
    """The `main` of a dbt-checkpoint console script, imported in this process."""
    for point in metadata.entry_points(group="console_scripts", name=entry.split()[0]):
        function: Callable[[Sequence[str]], int] = point.load()
        return function
    raise BatchConfigError(f"no console script '{entry}' in {sys.prefix}: is this dbt-checkpoint's environment?")


@dataclass(frozen=True)
class Place:
    """Where the checks run: the dbt project folder, and the options that point them at its files."""

    project_dir: Path | None
    checkpoint_config: Path
    tracking_disabled: bool = False

    @classmethod
    def from_config(cls, checkpoint_config: Path) -> Place:
        text = checkpoint_config.read_text(encoding="utf-8") if checkpoint_config.is_file() else ""
        settings = yaml.safe_load(text) or {}
        project_dir = settings.get("dbt-project-dir")
        return cls(
            Path(project_dir) if project_dir else None,
            checkpoint_config.resolve(),
            settings.get("disable-tracking") is True,
        )

    def options(self) -> list[str]:
        if self.project_dir is None:
            return []
        # Absolute: dbt-checkpoint ignores a `--manifest` equal to its default in favour of the config's
        # `dbt-project-dir`, which is relative to the repository root, not to the project folder.
        manifest = ParseSettings(self.project_dir.resolve()).manifest_path  # the one hooks.manifest keeps fresh
        return ["--config", str(self.checkpoint_config), "--manifest", str(manifest)]

    def rebase(self, filenames: Sequence[str]) -> list[str]:
        """Repository paths as seen from the project folder; files outside it are left out."""
        if self.project_dir is None:
            return list(filenames)
        prefix = f"{self.project_dir.as_posix().rstrip('/')}/"
        return [name.removeprefix(prefix) for name in filenames if name.startswith(prefix)]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        previous = Path.cwd()
        if self.project_dir is not None:
            os.chdir(self.project_dir)
        try:
            yield
        finally:
            os.chdir(previous)


def run_check(check: Check, filenames: Sequence[str], options: Sequence[str] = ()) -> tuple[int, str]:
    """Run one check in-process; return its exit code and what it printed."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            code = load_main(check.entry)([*check.entry.split()[1:], *options, *check.args, *filenames])
        except SystemExit as exit_:  # argparse errors exit
            code = exit_.code if isinstance(exit_.code, int) else 1
        except Exception as error:  # one broken check must not hide the others' results
            print(f"{type(error).__name__}: {error}")
            code = 1
    return int(code or 0), ANSI_ESCAPE.sub("", output.getvalue())


def headed(hook_id: str, printed: str) -> list[str]:
    """A failed check's output with each finding headed by the check's id; continuation lines indented.

    pre-commit heads the whole batch with the batch hook's own id (`check-script-semicolon`): without
    this, a missing description would read as a semicolon finding.
    """
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    if not lines:
        return [f"{hook_id}: failed without a message"]
    return [f"    {line.strip()}" if _continues(line) else f"{hook_id}: {line}" for line in lines]


def _continues(line: str) -> bool:
    """dbt-checkpoint prints the items of a finding (`- column`, ` - table`) on the lines after it."""
    return line[:1].isspace() or line.startswith("-")


def run_all(checks: Iterable[Check], filenames: Sequence[str], place: Place, stream: Any = None) -> int:
    out = stream if stream is not None else sys.stdout
    failed: list[tuple[str, str]] = []
    options = place.options()  # before entering: its paths are resolved from the repository root
    with place.entered():
        for check in checks:
            selected = place.rebase([name for name in filenames if check.selects(name)])
            if not selected:
                continue
            code, printed = run_check(check, selected, options)
            if code:
                failed.append((check.hook_id, printed))
    if not failed:
        return 0
    where = f"; paths relative to {place.project_dir.as_posix()}/" if place.project_dir else ""
    ids = ", ".join(dict.fromkeys(hook_id for hook_id, _ in failed))
    print(f"dbt-checkpoint checks failed: {ids} (each finding starts with its check's id{where})", file=out)
    for hook_id, printed in failed:
        print("\n".join(headed(hook_id, printed)), file=out)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="checkpoint-batch", description=__doc__.splitlines()[0])
    parser.add_argument("filenames", nargs="*", help="files pre-commit passes")
    parser.add_argument("--config", default=".pre-commit-config.yaml", help="the pre-commit config to read")
    parser.add_argument(
        "--checkpoint-config", default=".dbt-checkpoint.yaml", help="dbt-checkpoint's config (dbt-project-dir)"
    )
    parser.add_argument(
        "--repo-dir", default=None, help="dbt-checkpoint checkout (default: the one whose env runs this hook)"
    )
    args = parser.parse_args(argv)
    repo_dir = Path(args.repo_dir) if args.repo_dir else Path(sys.prefix).parent
    config = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}
    try:
        checks = configured_checks(config, manifest_hooks(repo_dir))
        place = Place.from_config(Path(args.checkpoint_config))
        skip_tracking_import(place)
        share_parsed_files()
        semicolon_ends_a_table_name()
        return run_all(checks, args.filenames, place)
    except BatchConfigError as error:
        print(f"{args.config}:1: {error}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
