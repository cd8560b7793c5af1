"""The endpoint's catalog, kept across restarts.

Sail keeps its catalog in memory while its Delta tables live on disk. So that a warehouse directory
outlives the endpoint (a local prod that a later `pytest -m prod_smoke` reads), the endpoint writes its
catalog (schemas, each table's Delta location, each view's definition) to a JSON file after every change
of the catalog, atomically, and registers it again on start.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CatalogEntry:
    kind: str  # "table" | "view"
    location: str | None = None  # tables: the Delta directory
    definition: str | None = None  # views: the SELECT


@dataclass
class CatalogJournal:
    path: Path
    schemas: set[str] = field(default_factory=set)
    relations: dict[str, dict[str, CatalogEntry]] = field(default_factory=dict)  # schema -> name -> entry

    def load(self) -> None:
        if not self.path.exists():
            return
        data: dict[str, Any] = json.loads(self.path.read_text())
        self.schemas = set(data.get("schemas", []))
        self.relations = {
            schema: {name: CatalogEntry(**entry) for name, entry in names.items()}
            for schema, names in data.get("relations", {}).items()
        }

    def save(self) -> None:
        payload = {
            "schemas": sorted(self.schemas),
            "relations": {
                schema: {name: vars(entry) for name, entry in sorted(names.items())}
                for schema, names in sorted(self.relations.items())
                if names
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".catalog-", suffix=".json")
        with os.fdopen(handle, "w") as file:
            json.dump(payload, file, indent=1)
        os.replace(temporary, self.path)
