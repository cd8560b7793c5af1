"""The base build of a data change review, kept for the next review of the same base on the same raw data.

Keyed by git's hash of the base's project folder (equal content, equal key, whatever the commit), the raw
data files, the target, the vars, the harness version and the UTC day (a column computed from the build's
date changes overnight). Only a target with a database file of its own (DuckDB) is cached: the file is
copied, with the base's manifest and the volatile columns found by building it twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

CACHE_DIR = Path(".quality/cache/pr")
CACHE_FORMAT = "2"
KEEP_ENTRIES = 4
CACHED_DATABASE = ".database"  # the base build's database file, kept whatever engine wrote it


@dataclass(frozen=True)
class CachedBase:
    database: Path
    record: dict[str, Any]  # base schema base, manifest, volatile columns


def cache_key(project_tree: str, batches: list[Path], target_name: str, dbt_vars: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for part in (CACHE_FORMAT, _harness_version(), project_tree, target_name, json.dumps(dbt_vars, sort_keys=True)):
        digest.update(part.encode() + b"\0")
    digest.update(f"{datetime.now(UTC):%Y-%m-%d}".encode())
    for number, batch in enumerate(batches):
        for csv in sorted(batch.glob("*.csv")):
            digest.update(f"{number}/{csv.name}\0".encode() + hashlib.sha256(csv.read_bytes()).digest())
    return digest.hexdigest()[:20]


def lookup(key: str, cache_dir: Path = CACHE_DIR) -> CachedBase | None:
    database, record = cache_dir / f"{key}{CACHED_DATABASE}", cache_dir / f"{key}.json"
    if not (database.is_file() and record.is_file()):
        return None
    try:
        return CachedBase(database, json.loads(record.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError):
        return None


def restore(cached: CachedBase, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached.database, destination)


def store(key: str, database: Path, record: dict[str, Any], cache_dir: Path = CACHE_DIR) -> None:
    """Keep the file and its record (written last, so a half-written entry is never found); prune old ones."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, cache_dir / f"{key}{CACHED_DATABASE}")
    temporary = cache_dir / f"{key}.json.tmp"
    temporary.write_text(json.dumps(record), encoding="utf-8")
    temporary.replace(cache_dir / f"{key}.json")
    entries = sorted(cache_dir.glob("*.json"), key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in entries[KEEP_ENTRIES:]:
        with contextlib.suppress(OSError):
            stale.unlink()
            stale.with_suffix(CACHED_DATABASE).unlink()


def _harness_version() -> str:
    try:
        return version("dbt-quality-harness")
    except PackageNotFoundError:
        return "unknown"
