"""pre-commit hook: `sqlfluff lint`, unchanged, that also hands its Jinja renderings to `spark-functions`.

    python -m hooks.sqlfluff_lint --render-cache DIR lint --disable-progress-bar FILE...

Everything after the options of this wrapper is sqlfluff's own command line, run by sqlfluff's own CLI
in this process: the same findings, output and exit code as the `sqlfluff` command. Besides, each file
sqlfluff rendered with the jinja templater and without a templating error is stored in DIR
(`hooks.render_cache`), where the `spark-functions` hook, run next with the same `--render-cache DIR`,
finds it instead of rendering the file a second time (and importing sqlfluff for it). It stores nothing
for other sqlfluff commands or for options that could change a rendering.

Runs in sqlfluff's own hook environment (`language: python`): it imports sqlfluff and the standard
library only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hooks import render_cache

# sqlfluff options that never change how a file renders; with any other, nothing is stored.
NEUTRAL_OPTIONS = frozenset({"--disable-progress-bar", "--nocolor", "--nofail", "-q", "--quiet"})


def _split(argv: Sequence[str]) -> tuple[Path | None, list[str]]:
    """This wrapper's `--render-cache DIR` (before sqlfluff's command), and sqlfluff's arguments."""
    args = list(argv)
    cache_dir: Path | None = None
    while args and args[0].startswith("--render-cache"):
        option = args.pop(0)
        if "=" in option:
            cache_dir = Path(option.split("=", 1)[1])
        elif args:
            cache_dir = Path(args.pop(0))
    return cache_dir, args


def storable(sqlfluff_args: Sequence[str]) -> bool:
    """`lint` with only options that do not touch rendering (a `--config`, `--templater`, ... do)."""
    if not sqlfluff_args or sqlfluff_args[0] != "lint":
        return False
    return all(not arg.startswith("-") or arg in NEUTRAL_OPTIONS for arg in sqlfluff_args[1:])


@contextmanager
def _capturing_renders() -> Iterator[list[Any]]:
    """Every `RenderedFile` sqlfluff's linter makes in this process while the block runs."""
    from sqlfluff.core.linter import Linter

    captured: list[Any] = []
    original = Linter.render_string

    def render_string(self: Any, in_str: str, fname: str, config: Any, encoding: str) -> Any:
        rendered = original(self, in_str, fname, config, encoding)
        captured.append(rendered)
        return rendered

    Linter.render_string = render_string  # type: ignore[method-assign]
    try:
        yield captured
    finally:
        Linter.render_string = original  # type: ignore[method-assign]


def _path_settings(config: Any) -> list[object]:
    section = config.get_section(("templater", "jinja")) or {}
    values: list[object] = [config.get("library_path")]
    if isinstance(section, dict):
        values.extend(section.get(name) for name in render_cache.PATH_SETTINGS)
    return values


def _renderings(rendered: Any) -> list[render_cache.CachedRendering] | None:
    """The renderings of one file worth storing: jinja templater, no templating error, at least one."""
    from sqlfluff.core.templaters.jinja import JinjaTemplater

    if rendered.templater_violations or not rendered.templated_variants:
        return None
    if type(rendered.config.get("templater_obj")) is not JinjaTemplater:
        return None
    return [
        render_cache.CachedRendering(
            str(variant.templated_str),
            str(variant.source_str),
            tuple(
                render_cache.Slice(
                    str(item.slice_type),
                    int(item.source_slice.start),
                    int(item.source_slice.stop),
                    int(item.templated_slice.start),
                    int(item.templated_slice.stop),
                )
                for item in variant.sliced_file
            ),
        )
        for variant in rendered.templated_variants
    ]


def store_all(cache_dir: Path, captured: Sequence[Any]) -> int:
    """Store each captured rendering that is worth it; a failure to store is never the hook's failure."""
    stored = 0
    for rendered in captured:
        try:
            renderings = _renderings(rendered)
            if renderings is None:
                continue
            fname = str(rendered.fname)
            dependencies = render_cache.dependencies_from(_path_settings(rendered.config))
            render_cache.store(cache_dir, Path(fname), fname, renderings, dependencies)
            stored += 1
        except Exception:
            continue
    return stored


def main(argv: Sequence[str] | None = None) -> int:
    cache_dir, sqlfluff_args = _split(sys.argv[1:] if argv is None else argv)
    from sqlfluff.cli.commands import cli

    store = cache_dir is not None and storable(sqlfluff_args)
    with _capturing_renders() as captured:
        try:
            cli.main(args=sqlfluff_args, prog_name="sqlfluff", standalone_mode=True)
            code: object = 0
        except SystemExit as exit_:
            code = exit_.code
    if store and cache_dir is not None:
        store_all(cache_dir, captured)
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


if __name__ == "__main__":
    raise SystemExit(main())
