"""A Delta table's log as the endpoint reads and rewinds it (Sail keeps no other state of a table).

A write Databricks refuses makes no Delta version. Sail has written its commit by the time the endpoint
can check a NOT NULL it does not know, so the endpoint takes the commit back: it deletes the log entries
newer than the version before the write (commit JSON, its checksum, and any checkpoint after it). Measured
on Sail 0.7.2: the next read sees the version before, and the next write takes the freed version number,
exactly as if the refused write never ran. The data files of the removed commit stay as orphans (what
Databricks' VACUUM would remove).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

# Endpoint-private table properties (Sail refuses or does not know what they stand for); SHOW TBLPROPERTIES
# shows them under Databricks' names, or not at all.
NOT_NULL = "quality.emulator.notNull"  # JSON list of the columns made NOT NULL by ALTER ... SET NOT NULL
CATALOG_MANAGED = "quality.emulator.catalogManaged"  # 'delta.feature.catalogManaged' (Sail refuses it)
DATABRICKS_NAMES = {CATALOG_MANAGED: "delta.feature.catalogManaged"}


def log_folder(location: str | Path) -> Path:
    return Path(location) / "_delta_log"


def version(location: str | Path) -> int | None:
    """The newest committed version, None when the folder holds no Delta table."""
    commits = [int(path.stem) for path in log_folder(location).glob("*.json") if path.stem.isdigit()]
    return max(commits) if commits else None


def configuration(location: str | Path) -> dict[str, str]:
    """The table properties of the newest metaData action (a commit without one keeps the earlier ones)."""
    for entry in sorted(log_folder(location).glob("*.json"), reverse=True):
        for line in entry.read_text().splitlines():
            if '"metaData"' in line:
                metadata: dict[str, Any] = json.loads(line)["metaData"]
                return {key: str(value) for key, value in (metadata.get("configuration") or {}).items()}
    return {}


def not_null_columns(config: dict[str, str]) -> list[str]:
    with contextlib.suppress(ValueError):
        columns = json.loads(config.get(NOT_NULL, "[]"))
        if isinstance(columns, list):
            return [str(column) for column in columns]
    return []


def check_constraints(config: dict[str, str]) -> dict[str, str]:
    """CHECK constraints by name (Delta keeps them as `delta.constraints.<name>` properties)."""
    prefix = "delta.constraints."
    return {key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)}


def rewind(location: str | Path, to_version: int) -> list[int]:
    """Remove every commit newer than `to_version` (what a failed write or transaction leaves: none)."""
    folder = log_folder(location)
    removed = sorted({int(p.name.split(".")[0]) for p in folder.glob("*.json") if p.stem.isdigit()})
    removed = [v for v in removed if v > to_version]
    for path in folder.iterdir():
        head = path.name.split(".")[0]
        if head.isdigit() and int(head) > to_version:
            path.unlink(missing_ok=True)
    last = folder / "_last_checkpoint"
    with contextlib.suppress(OSError, ValueError, KeyError):
        if int(json.loads(last.read_text())["version"]) > to_version:
            last.unlink()
    return removed
