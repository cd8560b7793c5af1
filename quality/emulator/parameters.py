"""Parameter markers: `?` (positional) and `:name` (named), bound as typed literals, as Spark SQL does.

Markers inside string literals, quoted identifiers and comments are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from quality.emulator.spark import SparkSqlError

_TOKEN = re.compile(
    r"""
    (?P<skip>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|`(?:[^`]|``)*`|--[^\n]*|/\*.*?\*/)
    | (?P<positional>\?)
    | (?<![:\w])(?P<named>:(?:[A-Za-z_]\w*|`[^`]+`))
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Parameter:
    name: str | None
    value: str | None
    type: str | None


def bind(sql: str, parameters: Sequence[Parameter]) -> str:
    if not parameters:
        return sql
    positional = iter([p for p in parameters if not p.name])
    named = {p.name: p for p in parameters if p.name}

    def replace(match: re.Match[str]) -> str:
        if match.group("skip"):
            return match.group(0)
        if match.group("positional"):
            parameter = next(positional, None)
            if parameter is None:
                raise SparkSqlError(
                    "[UNBOUND_SQL_PARAMETER] Found an unbound parameter marker '?': more markers than parameters.",
                    "UNBOUND_SQL_PARAMETER",
                    "42P02",
                )
            return literal(parameter)
        name = match.group("named")[1:].strip("`")  # databricks-sqlalchemy writes :`param_1`
        if name not in named:
            return match.group(0)  # `:name` that is no marker, e.g. a JSON path
        return literal(named[name])

    return _TOKEN.sub(replace, sql)


def literal(parameter: Parameter) -> str:
    kind = (parameter.type or "STRING").upper()
    if parameter.value is None or kind == "VOID":
        return "NULL"
    quoted = quote_string(parameter.value)
    return quoted if kind == "STRING" else f"CAST({quoted} AS {kind})"


def quote_string(value: str) -> str:
    """A Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
