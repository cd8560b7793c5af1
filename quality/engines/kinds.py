"""The registry of engine kinds: which `EngineKind` a target, a profile `type`, a URL or a dialect names.

DuckDB and Databricks are registered here; another engine is one `EngineKind` subclass in
`quality/engines/` registered with `register_kind` (tests/unit/test_engine_kinds.py registers one).
"""

from __future__ import annotations

from typing import Any

from quality.engines.databricks_kind import DatabricksKind
from quality.engines.duckdb_kind import DuckDBKind
from quality.engines.kind import EngineKind
from quality.engines.target import Target
from quality.errors import HarnessError, TargetError

_KINDS: dict[str, EngineKind] = {}


def register_kind(kind: EngineKind) -> EngineKind:
    """Add an engine kind (its `name` is the profile output's `type`); a name can be registered once."""
    if kind.name in _KINDS:
        raise HarnessError(f"an engine kind named {kind.name!r} is registered already.")
    _KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Remove an engine kind (e.g. a test's); unknown names are ignored."""
    _KINDS.pop(name, None)


def kinds() -> list[EngineKind]:
    """Every registered kind, in registration order (DuckDB, Databricks, then any other)."""
    return list(_KINDS.values())


def find_kind(name: Any) -> EngineKind | None:
    """The kind named `name` (a profile output's `type`, Target.engine or Engine.name), if registered."""
    return _KINDS.get(name) if isinstance(name, str) else None


def engine_kind(target: Target) -> EngineKind:
    """The kind of the target's engine."""
    kind = find_kind(target.engine)
    if kind is None:
        raise TargetError(f"{target.describe()} has no connection settings the harness understands.")
    return kind


def kind_for_dialect(dialect: str) -> EngineKind | None:
    """The kind whose SQLAlchemy dialect (and URL scheme) is `dialect`, if any."""
    return next((kind for kind in _KINDS.values() if kind.sqlalchemy_dialect == dialect), None)


def kind_for_url(url: str) -> EngineKind | None:
    """The kind of a SQLAlchemy URL (`duckdb:///<path>`, `databricks://...`), by its scheme."""
    return kind_for_dialect(url_scheme(url))


def url_scheme(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


register_kind(DuckDBKind())
register_kind(DatabricksKind())
