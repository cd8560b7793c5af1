"""The embedded engine's kind: a DuckDB file through dbt-duckdb, one file per ephemeral workspace."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hooks.env_vars import ENV_VAR_CALL
from quality.engines.connectivity import Say
from quality.engines.kind import EPHEMERAL_DIR, EngineKind
from quality.engines.target import Target
from quality.errors import TargetError

if TYPE_CHECKING:
    from quality.engines.base import Engine

DEFAULT_DUCKDB_PATH = Path(".quality/warehouse.duckdb")
# What DuckDB's `SET memory_limit` parses: a number and a unit (1000^i: KB..TB; 1024^i: KiB..TiB).
MEMORY_SIZE = re.compile(r"\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT](?:i?B)?)\s*", re.IGNORECASE)
FILE_SUFFIX = ".duckdb"


class DuckDBKind(EngineKind):
    name = "duckdb"
    sqlalchemy_dialect = "duckdb"
    url_example = "duckdb:///<path>"
    file_backed = True
    gate_loads_raw_folder = True
    stands_in_literal_sources = True
    inspects_read_only = True
    fidelity_role = "reference"
    # GX 1.24 has no regex or LIKE for the duckdb dialect ("Regex is not supported for dialect duckdb").
    emulated_expectations = frozenset(
        {
            "expect_column_values_to_match_regex",
            "expect_column_values_to_not_match_regex",
            "expect_column_values_to_match_like_pattern",
            "expect_column_values_to_not_match_like_pattern",
        }
    )
    distributions = ("dbt-duckdb", "duckdb")
    sqlglot_dialect = "duckdb"
    embedded = True
    dispatch_prefixes = ("duckdb", "default")
    label = "DuckDB"
    file_setting = "path"
    file_setting_example = "path: \"{{ env_var('QUALITY_DUCKDB_PATH', '.quality/warehouse.duckdb') }}\""
    file_suffix = FILE_SUFFIX

    def check_output(self, raw: dict[str, Any], rendered: dict[str, Any], *, where: str) -> None:
        _check_memory_limit(raw, rendered, where=where)

    def target_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        path = Path(str(output.get("path") or DEFAULT_DUCKDB_PATH))
        return {"duckdb_path": path.resolve(), "output": output}

    def extensions_hint(self, target: Target, names: str, where: str) -> str:
        return (
            f" Target '{target.name}' lists DuckDB extensions ({names}; extensions, {where}), which dbt-duckdb "
            "installs each time it connects: install them once where their repository is reachable (DuckDB keeps "
            "them in ~/.duckdb/extensions), or leave them out of the target the harness builds on."
        )

    def listed_extensions(self, target: Target) -> Any:
        return target.output.get("extensions")

    def open(self, target: Target, *, read_only: bool, say: Say) -> Engine | None:
        if target.duckdb_path is None:
            return None
        from quality.engines.duckdb import DuckDBEngine

        return DuckDBEngine(target.duckdb_path, read_only=read_only, config=target.output.get("config_options"))

    def warehouse_exists(self, target: Target) -> bool:
        return bool(target.duckdb_path and target.duckdb_path.exists())

    def release_in_process_connections(self) -> None:
        from quality.engines.dbt_duckdb import release_dbt_duckdb

        release_dbt_duckdb()

    def database_file(self, target: Target) -> Path | None:
        return target.duckdb_path

    def with_database_file(self, target: Target, path: Path) -> Target:
        return dataclasses.replace(target, duckdb_path=path)

    def database_file_named(self, folder: Path, stem: str) -> Path | None:
        return (folder / f"{stem}{FILE_SUFFIX}").resolve()

    def workspace_file(self, base: str) -> Path | None:
        return self.database_file_named(EPHEMERAL_DIR, base)

    def remove_files(self, target: Target) -> list[str]:
        """The file and its WAL (every `<file name>*` beside it)."""
        path = target.duckdb_path
        if path is None:
            return []
        removed = []
        for leftover in path.parent.glob(f"{path.name}*"):
            removed.append(leftover.name)
            leftover.unlink(missing_ok=True)
        return removed

    def ephemeral_files(self) -> dict[str, list[Path]]:
        if not EPHEMERAL_DIR.is_dir():
            return {}
        files: dict[str, list[Path]] = {}
        for path in EPHEMERAL_DIR.glob(f"*{FILE_SUFFIX}*"):
            files.setdefault(path.name.split(FILE_SUFFIX)[0], []).append(path)
        return files

    def pinned_profile_output(self, target: Target) -> dict[str, Any] | None:
        if target.duckdb_path is None:
            return None
        return {**target.output, "path": str(target.duckdb_path)}

    def gx_datasource(
        self, context: Any, url: str, creator: Callable[[], Any] | None, timeout_s: float, *, name: str
    ) -> Any:
        from quality.engines.gx_duckdb import add_duckdb_datasource

        return add_duckdb_datasource(context, url, creator, name=name)

    def regex_match_sql(self, column: str, pattern: str) -> str:
        return f"regexp_matches({column}, {pattern})"


def _check_memory_limit(raw: dict[str, Any], rendered: dict[str, Any], *, where: str) -> None:
    """DuckDB's memory_limit must be a size such as '3GB'; else every dbt connection fails with a traceback."""
    value = (rendered.get("settings") or {}).get("memory_limit")
    if value is None:
        return
    size = MEMORY_SIZE.fullmatch(str(value))
    if size is not None and float(size["amount"]) > 0:
        return
    names = [call["name"] for call in ENV_VAR_CALL.finditer(str((raw.get("settings") or {}).get("memory_limit")))]
    given = f"{names[0]}={str(value)!r}" if names else f"memory_limit {str(value)!r}"
    raise TargetError(
        f"{given} is not a DuckDB memory limit ({where}.settings.memory_limit in profiles.yml); "
        "write a positive number and a unit, e.g. '3GB' or '512MB' (KB, MB, GB, TB or KiB, MiB, GiB, TiB)"
        + (f", or unset {names[0]} for the profile's default." if names else ".")
    )
