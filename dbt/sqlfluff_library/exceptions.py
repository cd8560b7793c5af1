"""dbt's `exceptions` context object (lint only)."""


def raise_compiler_error(message: str) -> None:
    raise RuntimeError(message)
