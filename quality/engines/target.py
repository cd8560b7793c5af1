"""A rendered dbt target: which engine (an engine kind's name), where, and whether it is production.

Made by `quality.dbt.targets.resolve_target` from profiles.yml, with the engine-specific fields its engine kind
gives (`EngineKind.target_fields`). Below the kinds, so that they and `quality.dbt.targets` share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EngineName = str  # an engine kind's name (quality.engines.kinds): the profile output's `type`


@dataclass(frozen=True)
class DatabricksSettings:
    host: str
    http_path: str
    catalog: str
    schema: str
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    # The profile's `auth_type` (dbt-databricks: `oauth` = OAuth, M2M with a client secret, else U2M).
    auth_type: str | None = None
    # The profile's `connection_parameters`: handed to databricks-sql-connector as dbt-databricks does.
    connection_parameters: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Target:
    """A rendered dbt target: which engine, where, and which schemas count as production."""

    name: str
    engine: EngineName
    schema: str
    duckdb_path: Path | None = None
    databricks: DatabricksSettings | None = None
    is_prod: bool = False
    output: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def describe(self) -> str:
        where = str(self.duckdb_path) if self.duckdb_path else (self.databricks.host if self.databricks else "?")
        return f"target '{self.name}' ({self.engine} at {where})"
