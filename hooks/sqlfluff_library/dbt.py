"""dbt's cross-database macros (`dbt.type_string()`, `dbt.dateadd(...)`, ...) rendered as dbt-databricks does.

Any macro not listed renders as a plain function call `name(arg, ...)`, which parses as SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

TYPES = {
    "type_string": "string",
    "type_timestamp": "timestamp",
    "type_int": "int",
    "type_bigint": "bigint",
    "type_float": "double",
    "type_numeric": "decimal(28, 6)",
    "type_boolean": "boolean",
}


def _text(values: Sequence[Any]) -> str:
    return ", ".join(str(value) for value in values)


def dateadd(datepart: str, interval: Any, from_date_or_timestamp: Any) -> str:
    return f"timestampadd({datepart}, {interval}, {from_date_or_timestamp})"


def datediff(first_date: Any, second_date: Any, datepart: str) -> str:
    return f"timestampdiff({datepart}, {first_date}, {second_date})"


def date_trunc(datepart: str, date: Any) -> str:
    return f"date_trunc('{datepart}', {date})"


def safe_cast(field: Any, type: str) -> str:  # dbt's argument names
    return f"try_cast({field} as {type})"


def concat(fields: Sequence[Any]) -> str:
    return f"concat({_text(fields)})"


def hash(field: Any) -> str:  # dbt's macro name
    return f"md5(cast({field} as string))"


def current_timestamp() -> str:
    return "current_timestamp()"


def string_literal(value: Any) -> str:
    return f"'{value}'"


def split_part(string_text: Any, delimiter_text: Any, part_number: Any) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def __getattr__(name: str) -> Callable[..., str]:
    if name.startswith("__"):
        raise AttributeError(name)
    if name in TYPES:
        return lambda *args, **kwargs: TYPES[name]
    return lambda *args, **kwargs: f"{name}({_text(args)})"
