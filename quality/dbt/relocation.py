"""Point a manifest parsed for a placeholder schema base at a real one, so ephemeral runs reuse dbt's partial parse.

Every ephemeral run has its own schema base, passed to dbt as the var `quality_schema_base`. dbt hashes
the vars into its partial-parse state, so a new base means a full re-parse every run. The harness
instead parses with a fixed placeholder base (partial parse then hits from one run to the next) and
moves the result onto the run's base here: the schema, database and relation name of every node,
source and unit test - the only places a parse renders the base (`generate_schema_name`, the sources'
`schema:`, a DuckDB file named after the base). Anything else that holds the placeholder (a project
that renders the var into a description or a config) makes `relocate` refuse, and the caller falls back
to an exact parse with the real base.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

PLACEHOLDER = "qualityrelocatablebase"
RELOCATED_FIELDS = frozenset({"database", "schema", "relation_name"})
RELOCATED_COLLECTIONS = ("nodes", "sources", "unit_tests")


class NotRelocatable(Exception):
    """The placeholder occurs where relocation does not reach; parse exactly instead."""


def placeholder_paths(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Key paths of manifest.json where the placeholder occurs (in a string value or a key)."""
    if isinstance(value, str):
        if PLACEHOLDER in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if PLACEHOLDER in str(key):
                yield (*path, str(key))
            yield from placeholder_paths(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from placeholder_paths(item, (*path, str(index)))


def _relocatable(path: tuple[str, ...]) -> bool:
    if len(path) == 3 and path[0] in RELOCATED_COLLECTIONS and path[2] in RELOCATED_FIELDS:
        return True
    return len(path) == 4 and path[0] == "disabled" and path[3] in RELOCATED_FIELDS


def relocate(manifest: Any, manifest_json: dict[str, Any], base: str) -> None:
    """Move the in-memory `Manifest` from the placeholder onto `base`, after checking its manifest.json.

    Raises `NotRelocatable` (changing nothing) when the placeholder occurs in manifest.json anywhere but
    a relocated field; otherwise replacing the placeholder in manifest.json's text relocates it too.
    """
    stray = [".".join(path) for path in placeholder_paths(manifest_json) if not _relocatable(path)]
    if stray:
        raise NotRelocatable(f"the schema base placeholder also occurs in {', '.join(stray[:5])}")
    for collection in RELOCATED_COLLECTIONS:
        for node in getattr(manifest, collection).values():
            _relocate_object(node, base)
    for versions in manifest.disabled.values():
        for node in versions:
            _relocate_object(node, base)
    manifest.build_flat_graph()  # the `graph` context variable of the run's Jinja


def _relocate_object(node: Any, base: str) -> None:
    for name in RELOCATED_FIELDS:
        value = getattr(node, name, None)
        if isinstance(value, str) and PLACEHOLDER in value:
            setattr(node, name, value.replace(PLACEHOLDER, base))
