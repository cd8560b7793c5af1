"""Which dbt SQL files a change to macro files can change, found by regex (no dbt import).

A macro file's own SQL is only ever seen through its callers, so a changed macro is checked in every
model, snapshot and test whose Jinja calls it, directly or through other macros. Dispatched macros
count too: a change to `databricks__month_name` reaches every caller of `month_name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from hooks.jinja_calls import blank_jinja_comments, jinja_tags

MACRO_BLOCK = re.compile(r"\{%-?\s*macro\s+(?P<name>\w+)\s*\(.*?%\}(?P<body>.*?)\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
CALLED = re.compile(r"\b(\w+)\s*\(")
DISPATCHED = re.compile(r"""\bdispatch\(\s*['"](\w+)['"]""")
DISPATCH_PREFIX = re.compile(r"^\w+?__(?P<base>\w+)$")


def macro_bodies(text: str) -> dict[str, str]:
    """The macros a file defines, by name, with their bodies (Jinja comments removed)."""
    return {match["name"]: match["body"] for match in MACRO_BLOCK.finditer(blank_jinja_comments(text))}


def called_names(jinja: str) -> set[str]:
    """The names a piece of Jinja calls: `name(...)` and `adapter.dispatch('name', ...)`."""
    return set(CALLED.findall(jinja)) | set(DISPATCHED.findall(jinja))


def _with_dispatch_bases(names: Iterable[str]) -> set[str]:
    """`databricks__x` is reached through `x`: both count."""
    found = set(names)
    found |= {match["base"] for name in found if (match := DISPATCH_PREFIX.match(name))}
    return found


def affected_macros(changed: Mapping[str, str], every_macro_file: Mapping[str, str]) -> set[str]:
    """The macro names a change to the `changed` files (path -> text) reaches, through other macros too."""
    affected = _with_dispatch_bases(name for text in changed.values() for name in macro_bodies(text))
    bodies = {name: body for text in every_macro_file.values() for name, body in macro_bodies(text).items()}
    while True:
        reached = {name for name, body in bodies.items() if called_names(body) & affected}
        grown = _with_dispatch_bases(reached) - affected
        if not grown:
            return affected
        affected |= grown


def users(sql_files: Mapping[str, str], macros: set[str]) -> list[str]:
    """The SQL files (path -> text) whose Jinja calls one of `macros`, sorted."""
    return sorted(path for path, text in sql_files.items() if called_names(" ".join(jinja_tags(text))) & macros)
