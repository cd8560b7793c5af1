"""dbt's `exceptions` namespace: compiler errors are dbt's job at parse time, so rendering goes on."""

from __future__ import annotations


def raise_compiler_error(message: str = "") -> str:
    return ""


def warn(message: str = "") -> str:
    return ""
