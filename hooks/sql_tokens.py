"""SQL (with Jinja) as a list of tokens, so that a reformat compares equal and a real edit does not.

Comments (`--`, `/* */`, `{# #}`) and whitespace are dropped; string literals and quoted identifiers
stay whole, byte for byte; Jinja's whitespace control (`{%-`, `-}}`) is ignored; SQL words outside
Jinja compare in lower case (a literal's case and a Jinja name's are kept). So `select a,b` and
`SELECT  a , b -- note` are one query; `where x > 0.01` and `where x > 0.02` are not.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

_TOKEN = re.compile(
    r"""
      (?P<comment>\{\#.*?(?:\#\}|\Z) | --[^\n]* | /\*.*?(?:\*/|\Z))
    | (?P<space>\s+)
    | (?P<jinja>[{][{%][-+]? | [-+]?[%}][}])
    | (?P<quoted>'(?:[^'\\]|\\.|'')*(?:'|\Z) | "(?:[^"\\]|\\.|"")*(?:"|\Z) | `[^`]*(?:`|\Z))
    | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)? | \.\d+(?:[eE][-+]?\d+)?)
    | (?P<word>[^\W\d]\w*)
    | (?P<operator><=>|<>|!=|>=|<=|\|\||::|=>|->|==)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# The `config()` arguments of a singular test that decide what fails; severity and enabled are compared
# on their own, the rest (tags, meta, store_failures, alias, ...) do not change what the test checks.
CONFIG_DECIDING = frozenset({"where", "error_if", "warn_if", "fail_calc", "limit"})
_NO_SPACE_BEFORE = frozenset({",", ")", "]", ".", "}", ":"})
_NO_SPACE_AFTER = frozenset({"(", "[", ".", "{", ":"})
# Words followed by ` (` rather than a call's `(`, when a message shows tokens as SQL.
_SPACED_BEFORE_PARENTHESIS = frozenset({"and", "or", "not", "in", "as", "on", "from", "join", "where", "select"}) | {
    "exists",
    "when",
    "then",
    "else",
    "by",
    "over",
    "union",
    "all",
    "with",
    "is",
}


def tokens(sql: str) -> list[str]:
    """The tokens of `sql`, without comments and whitespace; Jinja delimiters without `-`/`+`; SQL words
    (keywords, unquoted identifiers: case-insensitive on Databricks and DuckDB) in lower case."""
    found: list[str] = []
    in_jinja = False
    for match in _TOKEN.finditer(sql):
        kind, text = match.lastgroup, match.group()
        if kind == "jinja":
            text = text.strip("-+")
            in_jinja = text in ("{{", "{%")
        elif kind == "word" and not in_jinja:
            text = text.lower()
        if kind not in ("comment", "space"):
            found.append(text)
    return found


def _argument_end(items: Sequence[str], start: int) -> int:
    """The index of the `,` or `)` that ends the call argument starting at `start` (nesting respected)."""
    depth = 0
    for index in range(start, len(items)):
        if items[index] in ("(", "["):
            depth += 1
        elif items[index] in (")", "]"):
            if depth == 0:
                return index
            depth -= 1
        elif items[index] == "," and depth == 0:
            return index
    return len(items)


def without_config_arguments(items: Sequence[str], kept_names: frozenset[str] = CONFIG_DECIDING) -> list[str]:
    """The tokens with every keyword argument of a `config(...)` call left out but `kept_names`."""
    result: list[str] = []
    index = 0
    while index < len(items):
        result.append(items[index])
        if items[index] == "config" and index + 1 < len(items) and items[index + 1] == "(":
            result.append("(")
            index += 2
            kept: list[list[str]] = []
            while index < len(items) and items[index] != ")":
                end = _argument_end(items, index)
                argument = list(items[index:end])
                if not (len(argument) > 1 and argument[1] == "=" and argument[0] not in kept_names):
                    kept.append(argument)
                index = end + 1 if end < len(items) and items[end] == "," else end
            result.extend(
                token for position, argument in enumerate(kept) for token in ([","] if position else []) + argument
            )
            continue
        index += 1
    return _without_empty_config(result)


def _without_empty_config(items: list[str]) -> list[str]:
    """`{{ config() }}` (no argument that decides what fails) says nothing: leave it out."""
    empty = ["{{", "config", "(", ")", "}}"]
    for start in range(len(items) - len(empty), -1, -1):
        if items[start : start + len(empty)] == empty:
            del items[start : start + len(empty)]
    return items


def render(items: Sequence[str]) -> str:
    """Tokens back as one line of SQL, for a message: `where amount > 0.01`."""
    text = ""
    for position, token in enumerate(items):
        previous = items[position - 1] if position else ""
        call = token == "(" and previous[:1].isalpha() and previous.lower() not in _SPACED_BEFORE_PARENTHESIS
        glue = position and not call and token not in _NO_SPACE_BEFORE and previous not in _NO_SPACE_AFTER
        text += (" " if glue else "") + token
    return text


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def describe_change(old: Sequence[str], new: Sequence[str], context: int = 4, width: int = 80) -> str:
    """The first stretch of differences between two token lists, with a little context:
    "`where amount > 0.01` -> `where amount > 0.02`"."""
    matcher = difflib.SequenceMatcher(a=list(old), b=list(new), autojunk=False)
    groups = list(matcher.get_grouped_opcodes(context))
    if not groups:
        return "unchanged"
    first = groups[0]
    before = render(old[first[0][1] : first[-1][2]])
    after = render(new[first[0][3] : first[-1][4]])
    more = f" (and {len(groups) - 1} more change{'s' if len(groups) > 2 else ''})" if len(groups) > 1 else ""
    return f"`{_clip(before, width)}` -> `{_clip(after, width)}`{more}"
