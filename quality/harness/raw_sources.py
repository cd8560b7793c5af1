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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    source_name: str = field(default="", compare=False)
    path: str = field(default="", compare=False)  # the YAML file declaring it, relative to the project
    unique_id: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.identifier}"

    @property
    def key(self) -> tuple[str, str]:
        """(schema, table) in lower case, as `seeded_tables` holds them (DuckDB and Spark ignore case)."""
        return (self.schema.lower(), self.identifier.lower())


def declared_sources(manifest: dict[str, Any]) -> list[SourceTable]:
    """The manifest's source tables that are tables, sorted by schema and name.

    A source dbt-duckdb reads from files or a plugin (`external_location`, `plugin` in its meta or config)
    is no table: it needs no raw data from the harness.
    """
    tables = {
        SourceTable(
            str(source["schema"]),
            str(source.get("identifier") or source["name"]),
            source.get("database"),
            source_name=str(source.get("source_name", "")),
            path=str(source.get("original_file_path", "")),
            unique_id=str(source.get("unique_id") or unique_id),
        )
        for unique_id, source in manifest.get("sources", {}).items()
        if not _read_from_files(source)
    }
    return sorted(tables)


BUILT_TYPES = frozenset({"model", "seed", "snapshot", "test"})


def read_sources(manifest: dict[str, Any]) -> list[SourceTable]:
    """The declared source tables that something the build runs reads: a model, seed, snapshot or data
    test. A source read only by an analysis (or by nothing) needs no data: dbt never queries it."""
    read = {
        dependency
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") in BUILT_TYPES
        for dependency in node.get("depends_on", {}).get("nodes", [])
    }
    return [table for table in declared_sources(manifest) if table.unique_id in read]


def _read_from_files(source: dict[str, Any]) -> bool:
    settings = [source.get("meta"), source.get("source_meta"), source.get("config")]
    return any(isinstance(held, dict) and ("external_location" in held or "plugin" in held) for held in settings)


def literal_schema_advice(tables: Iterable[SourceTable], raw_schema: str) -> str:
    """Why sources that name their schema as written get no test data, and the line that fixes each file.

    The harness loads raw data into the schema `var('raw_schema')` names (the workspace's own, in tests);
    a source written `schema: raw` keeps reading `raw`.
    """
    literal = sorted({t for t in tables if t.schema != raw_schema}, key=lambda t: (t.path, t.source_name, t.label))
    if not literal:
        return ""
    by_source: dict[tuple[str, str, str], list[str]] = {}
    for table in literal:
        by_source.setdefault((table.path, table.source_name, table.schema), []).append(table.identifier)
    fixes = "; ".join(
        f"in {path or 'its YAML file'}, source '{name}' (tables {', '.join(ids)}): "
        f"schema: \"{{{{ var('raw_schema', '{schema}') }}}}\""
        for (path, name, schema), ids in by_source.items()
    )
    return (
        f" The harness loads raw data into the schema var('raw_schema') names ({raw_schema} here), but these "
        f"sources name their schema as written, so no fixture or seed can reach them. Let them read the var, "
        f"which keeps their schema in your own runs: {fixes}."
    )


def check_fixture_tables(
    directory: Path, loaded: Iterable[str], declared: Sequence[SourceTable], raw_schema: str
) -> None:
    """Every fixture file must be a source table read from the raw schema; else FixtureError naming it."""
    names = sorted({table.identifier for table in declared if table.schema == raw_schema})
    unknown = sorted(set(loaded) - set(names))
    if not unknown:
        return
    elsewhere = [table for table in declared if table.identifier in unknown and table.schema != raw_schema]
    if elsewhere:
        files = ", ".join(sorted({f"{table.identifier}.csv" for table in elsewhere}))
        raise FixtureError(
            f"{files} in {directory} cannot reach the project.{literal_schema_advice(elsewhere, raw_schema)}"
        )
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
GATE_HINT_NO_GENERATOR = (
    "Give the gate raw data with --fixtures <folder of <table>.csv>, or load those tables into the target first."
)


def gate_hint(declared: Sequence[SourceTable]) -> str:
    """The gate's way out; `--orders N` only where the generator makes this project's source tables."""
    return GATE_HINT if generator_mismatch(declared) is None else GATE_HINT_NO_GENERATOR


def generator_mismatch(declared: Sequence[SourceTable]) -> str | None:
    """Why `--orders N` cannot feed this project (its sources are not the generator's tables), or None."""
    from quality.harness.generate import RAW_TABLES

    foreign = sorted({t.identifier for t in declared} - set(RAW_TABLES))
    if not foreign:
        return None
    return (
        f"--orders generates the tables {', '.join(RAW_TABLES)} (the demo retail project's sources), but this "
        f"project's sources include {', '.join(foreign)}, which it cannot make. Pass --fixtures <folder of "
        "<table>.csv> with one file per source table instead."
    )


def fixture_folder(directory: Path | None) -> Path | None:
    """The folder of raw fixture CSVs to load, or None when there is nothing to load (no folder, or no
    `.csv` in it): the raw data then come from the project itself (its seeds) or from tables in place."""
    if directory is None or not directory.is_dir() or not any(directory.glob("*.csv")):
        return None
    return directory


def seeds(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The seed nodes of the manifest."""
    return [node for node in manifest.get("nodes", {}).values() if node.get("resource_type") == "seed"]


def seed_key(node: dict[str, Any]) -> tuple[str, str]:
    """(schema, table) of a seed's relation, lower case, comparable with `SourceTable.key`."""
    return (str(node["schema"]).lower(), str(node.get("alias") or node["name"]).lower())


def seeded_tables(manifest: dict[str, Any]) -> set[tuple[str, str]]:
    """(schema, table) of every seed of the project, lower case: a source may read what a seed builds."""
    return {seed_key(node) for node in seeds(manifest)}


def require_source_data(
    engine: Engine,
    manifest: dict[str, Any],
    where: str,
    hint: str,
    *,
    raw_schema: str | None = None,
    also_provided: set[tuple[str, str]] | None = None,
    written_as: Callable[[SourceTable], bool] | None = None,
) -> None:
    """Every source the build reads must have data before it: a table in place, or a seed that builds it
    (or, `also_provided`, (schema, table) in lower case, a stand-in the build puts there).

    With `raw_schema` (where the harness loads raw data), a missing source that names another schema as
    written is told how to read the var instead.
    """
    seeded = seeded_tables(manifest) | (also_provided or set())
    declared = [t for t in read_sources(manifest) if t.key not in seeded]
    require_raw_tables(engine, declared, where, hint, raw_schema=raw_schema, written_as=written_as)


def require_raw_tables(
    engine: Engine,
    declared: Sequence[SourceTable],
    where: str,
    hint: str = GATE_HINT,
    *,
    raw_schema: str | None = None,
    written_as: Callable[[SourceTable], bool] | None = None,
) -> None:
    """The declared source tables (in the engine's catalog) must exist; else one line naming the missing ones.

    With `raw_schema`, the missing sources that name their schema as written (`written_as`; by default,
    those not in `raw_schema`) are told how to read the var, so that fixtures can reach them.
    """
    local = [table for table in declared if _here(engine, table)]
    relations = {schema: _relations(engine, schema) for schema in {table.schema for table in local}}
    missing = [table for table in local if table.identifier.lower() not in relations[table.schema]]
    if missing:
        literal = [table for table in missing if written_as is None or written_as(table)]
        advice = literal_schema_advice(literal, raw_schema) if raw_schema else ""
        raise QualityError(
            f"no raw data on {where}: source table(s) {', '.join(table.label for table in missing)} do not exist. "
            f"{hint}{advice}"
        )


def seeds_provide_every_source(manifest: dict[str, Any]) -> bool:
    """Every source table the build reads is a seed of the project (where the manifest's target puts both): the
    project carries its own raw data, so a gate given none builds from the seeds, as the plugin does."""
    declared = {t.key for t in read_sources(manifest)}
    return bool(declared) and declared <= seeded_tables(manifest)


def seeds_read_as_sources(manifest: dict[str, Any]) -> list[str]:
    """Seeds that models read through `source()`: dbt sees no edge from such a seed to its readers, so a
    single `dbt build` may create a reader before the seed's table exists; they are built first."""
    declared = {t.key for t in declared_sources(manifest)}
    return sorted(str(node["name"]) for node in seeds(manifest) if seed_key(node) in declared)


def _here(engine: Engine, table: SourceTable) -> bool:
    """Whether the table is in the engine's catalog (a source in another catalog is not checked)."""
    return table.database is None or table.database.lower() == engine.database.lower()


def _relations(engine: Engine, schema: str) -> set[str]:
    return {name.lower() for name, _kind in engine.list_relations(schema)}


def names_schema_as_written(project_root: Path, table: SourceTable) -> bool:
    """Whether the source's YAML writes its schema without the var `raw_schema` (`schema: raw`, or no schema:
    dbt then reads the source's name), so that no fixture can reach it; False when the YAML cannot say."""
    import yaml

    path = project_root / table.path
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    sources = data.get("sources") if isinstance(data, dict) else None
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict) and source.get("name") == table.source_name:
            return "raw_schema" not in str(source.get("schema") or "")
    return False
