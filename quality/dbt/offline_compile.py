"""Offline Databricks compile: every node rendered as dbt-databricks would send it, with no connection.

`quality compile`: one `dbt compile` through `quality.dbt.runner`, inside `quality.dbt.adapter`'s
`offline_databricks()` and `every_node_rendered()`. This module decides what that adapter is told: the
relations that exist (from a prod manifest in `--state`, else none) and the known column types (fully
typed YAML columns (contracts), else a prod `catalog.json` in `--state`), and stands in for the
Databricks variables the profiles read.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.dbt.adapter import (
    Columns,
    ExistingRelation,
    KnownState,
    RelationKey,
    every_node_rendered,
    offline_databricks,
)
from quality.dbt.project import DbtProject
from quality.dbt.runner import DbtInvoker, DbtRun
from quality.dbt.targets import resolve_target
from quality.engines.kinds import engine_kind
from quality.errors import QualityError, TargetError

# What the profiles read from the environment; the offline compile never connects, so stand-ins do.
PLACEHOLDER_ENV: Mapping[str, str] = {
    "DATABRICKS_HOST": "dbc-offline-compile.cloud.databricks.com",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/offline-compile",
    "DATABRICKS_TOKEN": "offline-compile",
    "DATABRICKS_CLIENT_ID": "offline-compile",
    "DATABRICKS_CLIENT_SECRET": "offline-compile",  # pragma: allowlist secret
}
DEFAULT_CATALOG = "main"
RELATION_TYPES = frozenset({"model", "seed", "snapshot"})
# dbt materialization -> how information_schema lists it: (table_type, file_format, databricks_table_type)
_LISTED_AS = {
    "view": ("view", None, None),
    "materialized_view": ("materialized_view", None, None),
    "streaming_table": ("streaming_table", None, None),
}


def relations_from_manifest(manifest: Mapping[str, Any]) -> dict[tuple[str, str], list[ExistingRelation]]:
    """Every relation a (prod) manifest materializes: models, seeds and snapshots, and its sources as tables."""
    found: dict[tuple[str, str], list[ExistingRelation]] = {}
    for node in _relations(manifest):
        catalog, schema, name = _key(node)
        found.setdefault((catalog, schema), []).append(ExistingRelation(name, *_listed_as(node)))
    return found


def _listed_as(node: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    if node["resource_type"] == "source":
        return ("table", None, None)
    config = node.get("config") or {}
    listed = _LISTED_AS.get(str(config.get("materialized")))
    return listed or ("table", str(config.get("file_format") or "delta"), "managed")


def declared_columns(manifest: Mapping[str, Any]) -> dict[RelationKey, Columns]:
    """Columns of the relations whose YAML types every column (a contract's columns, say)."""
    found: dict[RelationKey, Columns] = {}
    for node in _relations(manifest):
        columns = list((node.get("columns") or {}).values())
        if columns and all(column.get("data_type") for column in columns):
            found[_key(node)] = tuple((str(c["name"]), str(c["data_type"])) for c in columns)
    return found


def catalog_columns(catalog: Mapping[str, Any]) -> dict[RelationKey, Columns]:
    """Columns of every relation in a `dbt docs generate` catalog.json, in table order."""
    found: dict[RelationKey, Columns] = {}
    for entry in [*catalog.get("nodes", {}).values(), *catalog.get("sources", {}).values()]:
        meta = entry.get("metadata") or {}
        key = (str(meta.get("database") or "").lower(), str(meta.get("schema")).lower(), str(meta.get("name")).lower())
        ordered = sorted((entry.get("columns") or {}).values(), key=lambda column: int(column.get("index") or 0))
        found[key] = tuple((str(column["name"]), str(column["type"])) for column in ordered)
    return found


def _relations(manifest: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for node in manifest.get("nodes", {}).values():
        if (
            node.get("resource_type") in RELATION_TYPES
            and (node.get("config") or {}).get("materialized") != "ephemeral"
        ):
            yield node
    yield from manifest.get("sources", {}).values()


def _key(node: Mapping[str, Any]) -> RelationKey:
    name = node.get("identifier") if node.get("resource_type") == "source" else node.get("alias")
    return (str(node.get("database") or "").lower(), str(node.get("schema")).lower(), str(name or node["name"]).lower())


def manifest_catalog(manifest: Mapping[str, Any]) -> str | None:
    """The one catalog a manifest's models live in, if there is exactly one."""
    nodes = manifest.get("nodes", {}).values()
    catalogs = {node.get("database") for node in nodes if node.get("resource_type") == "model"} - {None}
    return str(catalogs.pop()) if len(catalogs) == 1 else None


@contextmanager
def placeholder_environment(catalog: str = DEFAULT_CATALOG) -> Iterator[dict[str, str]]:
    """Set the Databricks variables the profiles need and the environment lacks; yields the ones it set."""
    added = {key: value for key, value in {**PLACEHOLDER_ENV, "DBT_CATALOG": catalog}.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield added
    finally:
        for key in added:
            os.environ.pop(key, None)


@dataclass(frozen=True)
class CompileSummary:
    run: DbtRun
    files: tuple[Path, ...]
    catalog: str
    existing_relations: int
    placeholders: tuple[str, ...]  # environment variables the compile stood in for
    seconds: float  # parse and compile

    @property
    def rendered(self) -> Counter[str]:
        written = set(self.files)
        return Counter(node.resource_type for node in self.run.nodes if node.compiled_path in written)

    @property
    def unrendered(self) -> list[str]:
        return [node.name for node in self.run.nodes if node.status == "skipped"]

    def describe(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.rendered.items()))
        unset = " (DBT_CATALOG unset)" if "DBT_CATALOG" in self.placeholders else ""
        relations = f"{self.existing_relations} prod relations" if self.existing_relations else "no relations"
        line = (
            f"rendered {len(self.files)} files ({kinds}) offline in {self.seconds:.1f} s, catalog "
            f"{self.catalog}{unset}, {relations} -> {self.run.target_path / 'compiled'}"
        )
        if self.unrendered:
            line += (
                f"; {len(self.unrendered)} unit tests not rendered: their inputs' column types are unknown "
                "offline (type those columns in YAML, or pass --state with a prod catalog.json)"
            )
        return line


def compile_offline(
    project: DbtProject,
    target_name: str | None,
    target_path: Path,
    *,
    state: Path | None = None,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> CompileSummary:
    """`dbt compile` for a Databricks target with no connection; SQL in `<target_path>/compiled`, manifest beside."""
    started = time.perf_counter()
    prod = _read_json(state / "manifest.json", "--state") if state else {}
    catalog = _read_json(state / "catalog.json", None) if state else {}
    with placeholder_environment(manifest_catalog(prod) or DEFAULT_CATALOG) as placeholders:
        target = resolve_target(project, target_name)
        if not engine_kind(target).compiles_offline:
            raise TargetError(
                f"{target.describe()} is not a Databricks target; the offline compile renders what "
                "dbt-databricks would send: pass one, e.g. --target prod."
            )
        invoker = DbtInvoker(project=project, target=target, target_path=target_path, quiet=True)
        shutil.rmtree(invoker.target_path / "compiled", ignore_errors=True)  # this run's files only
        args = ["compile", *_flag("--select", select), *_flag("--exclude", exclude)]
        args += ["--state", str(state.resolve())] if state else []
        with offline_databricks():
            columns = {**catalog_columns(catalog), **declared_columns(invoker.parse())}
        known = KnownState(relations_from_manifest(prod), columns)
        with offline_databricks(known), every_node_rendered():
            run = invoker.run(args, expect_pass=False)
    if run.failed:
        raise QualityError(_failure_message(run))
    files = tuple(node.compiled_path for node in run.nodes if node.compiled_path and node.compiled_path.is_file())
    seconds = time.perf_counter() - started
    catalog_name = target.databricks.catalog if target.databricks else DEFAULT_CATALOG
    return CompileSummary(run, files, catalog_name, known.relation_count, tuple(sorted(placeholders)), seconds)


def _read_json(path: Path, required_by: str | None) -> dict[str, Any]:
    if not path.is_file():
        if required_by is None:
            return {}
        raise QualityError(f"no {path.name} in {required_by} {path.parent}; pass the folder holding the prod manifest.")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _flag(flag: str, values: Sequence[str]) -> list[str]:
    return [flag, *values] if values else []


def _failure_message(run: DbtRun) -> str:
    lines = [f"the offline Databricks compile failed on {len(run.failed)} node(s):"]
    for node in run.failed:
        detail = " ".join((node.message or "no message").split())
        lines.append(f"  - {node.resource_type} {node.name}: {detail}")
    return "\n".join(lines)
