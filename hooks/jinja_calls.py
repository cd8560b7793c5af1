"""The `ref()` and `source()` calls of a dbt SQL file, found by regex (no dbt import), with their lines.

Jinja comments (`{# ... #}`) are blanked out first, keeping line numbers. SQL comments are kept on
purpose: dbt renders `{{ ref() }}` inside a `--` comment too, so it is a real dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_STRING = r"""(['"])(?P<{name}>[^'"]+)\{group}"""
REF_CALL = re.compile(
    r"\bref\(\s*"
    + _STRING.format(name="first", group=1)
    + r"(?:\s*,\s*"
    + _STRING.format(name="second", group=3)
    + r")?"
)
SOURCE_CALL = re.compile(
    r"\bsource\(\s*" + _STRING.format(name="source", group=1) + r"\s*,\s*" + _STRING.format(name="table", group=3)
)


@dataclass(frozen=True)
class Call:
    """One `ref('name')` (kind "ref", `name` the model) or `source('src', 'table')` (kind "source")."""

    kind: str
    name: str
    line: int
    package: str = ""


def blank_jinja_comments(sql: str) -> str:
    return JINJA_COMMENT.sub(lambda match: "\n" * match.group(0).count("\n"), sql)


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def find_calls(sql: str) -> list[Call]:
    """Every ref/source call in order of appearance. `ref('pkg', 'model')` keeps the package apart."""
    text = blank_jinja_comments(sql)
    calls: list[Call] = []
    for match in REF_CALL.finditer(text):
        first, second = match.group("first"), match.group("second")
        name, package = (second, first) if second else (first, "")
        calls.append(Call("ref", name, _line_at(text, match.start()), package))
    for match in SOURCE_CALL.finditer(text):
        name = f"{match.group('source')}.{match.group('table')}"
        calls.append(Call("source", name, _line_at(text, match.start())))
    return sorted(calls, key=lambda call: (call.line, call.kind, call.name))


def jinja_tags(sql: str) -> list[str]:
    """The Jinja expressions and statements of a file (what can change dbt's graph), comments removed."""
    return JINJA_TAG.findall(blank_jinja_comments(sql))
