"""`dbt.*` cross-database macros as dbt-databricks renders them (lint only)."""

from __future__ import annotations

from collections.abc import Sequence


def type_string() -> str:
    return "string"


def type_timestamp() -> str:
    return "timestamp"


def type_boolean() -> str:
    return "boolean"


def type_int() -> str:
    return "int"


def type_bigint() -> str:
    return "bigint"


def type_numeric() -> str:
    return "decimal(28, 6)"


def hash(field: str) -> str:  # shadows the builtin on purpose: mirrors dbt.hash
    return f"md5(cast({field} as string))"


def concat(fields: Sequence[str]) -> str:
    return f"concat({', '.join(fields)})"


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"timestampadd({datepart}, {interval}, {from_date_or_timestamp})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"timestampdiff({datepart}, {first_date}, {second_date})"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def safe_cast(field: str, type_: str) -> str:
    return f"try_cast({field} as {type_})"
