"""Render a dbt SQL file the way the `sqlfluff-lint` hook does, with a map back to the file's lines.

This is sqlfluff's jinja templater with the repository's `.sqlfluff` (dbt builtins, the project's
macros, `hooks/sqlfluff_library` for what dbt injects: `dbt.dateadd()` renders `timestampadd`,
`adapter.dispatch()` picks `databricks__`): no dbt import, no warehouse, about 30 ms a file. SQL written
by a macro maps to the line of the `{{ ... }}` that called it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hooks import render_cache


@dataclass(frozen=True)
class Rendered:
    """The SQL a file renders to, and `line_of(offset in sql) -> line in the file` (1-based)."""

    path: str
    sql: str
    line_of: Callable[[int], int]


class RenderError(Exception):
    """The Jinja of a file does not render; `line` is where (1 when unknown)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


@contextmanager
def _pytest_not_imported() -> Iterator[None]:
    """sqlfluff imports pytest when it can, only to register assert rewriting (0.08 s per commit here)."""
    if "pytest" in sys.modules:
        yield
        return
    sys.modules["pytest"] = None  # type: ignore[assignment]  # makes `import pytest` raise ImportError
    try:
        yield
    finally:
        del sys.modules["pytest"]


@cache
def _templater() -> Any:
    with _pytest_not_imported():
        from sqlfluff.core.templaters.jinja import JinjaTemplater
    return JinjaTemplater()


@cache
def _config(folder: str) -> Any:
    """The sqlfluff config for files in `folder`. The dialect is left out: rendering needs none, and
    loading sqlfluff's Databricks grammar costs 0.12 s."""
    with _pytest_not_imported():
        from sqlfluff.core import FluffConfig
        from sqlfluff.core.config.loader import load_config_up_to_path

    configs = load_config_up_to_path(path=folder)
    core = configs.get("core")
    if isinstance(core, dict):
        core.pop("dialect", None)
    return FluffConfig(configs=configs, require_dialect=False)


def _line_mapper(templated_file: Any) -> Callable[[int], int]:
    def line_of(offset: int) -> int:
        offset = max(0, min(offset, len(templated_file.templated_str) - 1))
        source = templated_file.templated_slice_to_source_slice(slice(offset, offset + 1))
        line, _ = templated_file.get_line_pos_of_char_pos(source.start, source=True)
        return int(line)

    return line_of


def _variant_limit(config: Any) -> int:
    limit = config.get("render_variant_limit")
    return int(limit) if isinstance(limit, int) and limit > 0 else 1


def _fatal(path: Path, errors: list[Any]) -> RenderError:
    if not errors:
        return RenderError(path.as_posix(), 1, "the templater returned nothing")
    return RenderError(path.as_posix(), int(getattr(errors[0], "line_no", 1) or 1), str(errors[0].desc()))


def render_file(path: Path, cache_dir: Path | None = None) -> list[Rendered]:
    """The renderings of one dbt SQL file (model, snapshot, singular test, analysis); raises RenderError.

    The first is the plain rendering; like `sqlfluff lint`, up to `render_variant_limit` more cover Jinja
    branches it did not take (`{% else %}` of `is_incremental()`, a target check, ...). With `cache_dir`,
    the renderings the `sqlfluff-lint` hook stored there are used when they are still exact
    (`hooks.render_cache`), and sqlfluff is not imported.
    """
    text = path.read_text(encoding="utf-8")
    if cache_dir is not None:
        cached = render_cache.load(cache_dir, path, path.as_posix(), text)
        if cached is not None:
            return [Rendered(path.as_posix(), rendering.sql, rendering.line_of) for rendering in cached]
    config = _config(path.parent.resolve().as_posix())
    renderings: list[Rendered] = []
    try:
        for templated_file, errors in _templater().process_with_variants(
            in_str=text, fname=path.as_posix(), config=config
        ):
            if templated_file is None:
                raise _fatal(path, errors)
            sql = str(templated_file.templated_str)
            renderings.append(Rendered(path.as_posix(), sql, _line_mapper(templated_file)))
            if len(renderings) >= _variant_limit(config):
                break
    except RenderError:
        raise
    except Exception as error:  # sqlfluff raises SQLTemplaterError (and user errors) for fatal ones
        raise RenderError(path.as_posix(), int(getattr(error, "line_no", 1) or 1), str(error)) from error
    return renderings
