"""`adapter.dispatch(name, namespace)` as dbt-databricks resolves it: databricks__, spark__, default__."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

DISPATCH_ORDER = ("databricks__", "spark__", "default__")


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Callable[..., Any]:
    for prefix in DISPATCH_ORDER:
        macro = context.get(f"{prefix}{macro_name}")
        if callable(macro):
            return macro  # type: ignore[no-any-return]
    fallback = context.get(macro_name)
    if callable(fallback):
        return fallback  # type: ignore[no-any-return]
    return lambda *args, **kwargs: f"{macro_name}({', '.join(str(arg) for arg in args)})"
