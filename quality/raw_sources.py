"""The raw source tables a dbt project declares, and the gate's checks that its raw data matches them.

Every fixture CSV becomes a table of the raw schema, and the gate publishes that schema to prod's raw
with the models: a file that is not a declared source (a stray `zz_extra.csv`, an `orders copy.csv`)
would land in prod, so it is refused by name. A gate given no raw data reads the target's own raw
tables; when they are missing, one line says so (instead of one dbt error per staging model).

The pytest plugin decides the same way (`fixture_folder`, `require_source_data`): with no raw fixture
files, the project's own seeds are its raw data (`dbt build` builds them first), and a declared source
that no seed, fixture or existing table provides is one error naming it, before anything is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.engines.base import Engine
from quality.errors import FixtureError, QualityError


@dataclass(frozen=True, order=True)
class SourceTable:
    """One declared source table, where dbt reads it: `schema.identifier` (in `database`, when given)."""

    schema: str
    identifier: str
    database: str | None = None

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.identifier}"


def declared_sources(manifest: dict[str, Any]) -> list[SourceTable]:
    """The manifest's source tables, sorted by schema and name."""
    tables = {
        SourceTable(str(source["schema"]), str(source.get("identifier") or source["name"]), source.get("database"))
        for source in manifest.get("sources", {}).values()
    }
    return sorted(tables)


def check_fixture_tables(
    directory: Path, loaded: Iterable[str], declared: Sequence[SourceTable], raw_schema: str
) -> None:
    """Every fixture file must be a source table read from the raw schema; else FixtureError naming it."""
    names = sorted({table.identifier for table in declared if table.schema == raw_schema})
    unknown = sorted(set(loaded) - set(names))
    if not unknown:
        return
    files = ", ".join(f"{name}.csv" for name in unknown)
    raise FixtureError(
        f"{files} in {directory} {'is' if len(unknown) == 1 else 'are'} not a source table of the project, and "
        "every fixture file becomes a raw table that is published to prod; declared source tables: "
        f"{', '.join(names) or 'none'}. Rename the file to one of them or move it out of the folder."
    )


GATE_HINT = (
    "Give the gate raw data with --fixtures <folder of <table>.csv> or --orders N (generated), "
    "or load those tables into the target first."
)


def fixture_folder(directory: Path | None) -> Path | None:
    """The folder of raw fixture CSVs to load, or None when there is nothing to load (no folder, or no
    `.csv` in it): the raw data then come from the project itself (its seeds) or from tables in place."""
    if directory is None or not directory.is_dir() or not any(directory.glob("*.csv")):
        return None
    return directory


def seeded_tables(manifest: dict[str, Any]) -> set[tuple[str, str]]:
    """(schema, table) of every seed of the project, lower case: a source may read what a seed builds."""
    return {
        (str(node["schema"]).lower(), str(node.get("alias") or node["name"]).lower())
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "seed"
    }


def require_source_data(engine: Engine, manifest: dict[str, Any], where: str, hint: str) -> None:
    """Every declared source must have data before the build: a table in place, or a seed that builds it."""
    seeded = seeded_tables(manifest)
    declared = [t for t in declared_sources(manifest) if (t.schema.lower(), t.identifier.lower()) not in seeded]
    require_raw_tables(engine, declared, where, hint)


def require_raw_tables(engine: Engine, declared: Sequence[SourceTable], where: str, hint: str = GATE_HINT) -> None:
    """The declared source tables (in the engine's catalog) must exist; else one line naming the missing ones."""
    local = [table for table in declared if _here(engine, table)]
    relations = {schema: _relations(engine, schema) for schema in {table.schema for table in local}}
    missing = [table for table in local if table.identifier.lower() not in relations[table.schema]]
    if missing:
        raise QualityError(
            f"no raw data on {where}: source table(s) {', '.join(table.label for table in missing)} do not exist. "
            f"{hint}"
        )


def _here(engine: Engine, table: SourceTable) -> bool:
    """Whether the table is in the engine's catalog (a source in another catalog is not checked)."""
    return table.database is None or table.database.lower() == engine.database.lower()


def _relations(engine: Engine, schema: str) -> set[str]:
    return {name.lower() for name, _kind in engine.list_relations(schema)}
