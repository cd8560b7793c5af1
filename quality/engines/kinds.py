"""The registry of engine kinds: which `EngineKind` a target, a profile `type`, a URL or a dialect names.

DuckDB and Databricks are registered here; another engine is one `EngineKind` subclass in
`quality/engines/` registered with `register_kind` (tests/unit/test_engine_kinds.py registers one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quality.engines.databricks_kind import DatabricksKind
from quality.engines.duckdb_kind import DuckDBKind
from quality.engines.kind import EngineKind
from quality.engines.target import Target
from quality.errors import HarnessError, TargetError

if TYPE_CHECKING:
    from quality.engines.base import Engine

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


def kind_of(engine: Engine) -> EngineKind:
    """The kind of an open engine (its `name` is its kind's)."""
    kind = find_kind(engine.name)
    if kind is None:
        raise HarnessError(f"no engine kind named {engine.name!r} is registered.")
    return kind


def embedded_kind() -> EngineKind:
    """The harness's embedded engine (`EngineKind.embedded`): the one `quality init`'s `local` output uses."""
    return _the_one("embedded", [kind for kind in _KINDS.values() if kind.embedded])


def prod_kind() -> EngineKind:
    """The engine prod runs on (`EngineKind.runs_prod`)."""
    return _the_one("runs_prod", [kind for kind in _KINDS.values() if kind.runs_prod])


def adapter_dialect(adapter_type: Any) -> str:
    """The sqlglot dialect of SQL dbt compiled for `adapter_type` (a manifest's `metadata.adapter_type`): its
    kind's; the embedded engine's when the manifest names none; else the adapter's own name (sqlglot's)."""
    if not adapter_type:
        return embedded_kind().sqlglot_dialect
    kind = find_kind(str(adapter_type))
    return kind.sqlglot_dialect if kind is not None else str(adapter_type)


def _the_one(capability: str, found: list[EngineKind]) -> EngineKind:
    if len(found) != 1:
        raise HarnessError(f"exactly one engine kind must have `{capability}`, not {[kind.name for kind in found]}.")
    return found[0]


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
