"""Where a model, seed, snapshot or source lives, read from a dbt manifest, and the placeholders of an
`unexpected_rows` query resolved to those relations.

The manifest written by a run in an ephemeral schema carries that run's schemas, so resolving from the
manifest you are given always points at the same run's relations.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Resource types that are relations one can validate or reference with {ref:NAME}.
RELATION_RESOURCE_TYPES = frozenset({"model", "seed", "snapshot"})

_PLACEHOLDER = re.compile(r"(?<!\{)\{(ref|source):([^{}]+)\}(?!\})")


@dataclass(frozen=True)
class Relation:
    """A table or view: `rendered` is dbt's quoted `relation_name`, ready to paste into SQL."""

    database: str | None
    schema: str
    identifier: str
    rendered: str


@dataclass(frozen=True)
class Placeholder:
    """One `{...}` field of a query: kind is 'batch', 'ref', 'source', or anything else (unknown)."""

    kind: str
    target: str  # NAME for ref, SOURCE.TABLE for source, "" for batch

    @property
    def text(self) -> str:
        return f"{{{self.kind}:{self.target}}}" if self.target else f"{{{self.kind}}}"


class PlaceholderSyntaxError(ValueError):
    """The query has an unpaired brace."""


def node_relation(node: Mapping[str, Any]) -> Relation | None:
    """The relation of a manifest node or source; None when it has none (an ephemeral model)."""
    rendered = node.get("relation_name")
    if not rendered:
        return None
    identifier = node.get("alias") or node.get("identifier") or node["name"]
    return Relation(node.get("database"), str(node["schema"]), str(identifier), str(rendered))


def placeholders(query: str) -> list[Placeholder]:
    """The fields of a query as GX's formatter sees them ({{ and }} are literal braces)."""
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(query) if name is not None]
    except ValueError as error:
        raise PlaceholderSyntaxError(str(error)) from error
    return [Placeholder(name, spec or "") for name, spec in fields]


def find_ref(manifest: Mapping[str, Any], name: str, package: str | None = None) -> Relation | None:
    """The relation of the model, seed or snapshot called `name` (the caller's package wins a tie)."""
    matches = [
        node
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") in RELATION_RESOURCE_TYPES and node.get("name") == name
    ]
    if len(matches) > 1 and package is not None:
        matches = [node for node in matches if node.get("package_name") == package] or matches
    return node_relation(matches[0]) if len(matches) == 1 else None


def find_source(manifest: Mapping[str, Any], target: str) -> Relation | None:
    """The relation of `SOURCE.TABLE` among the manifest's sources."""
    source_name, _, table_name = target.partition(".")
    for source in manifest.get("sources", {}).values():
        if source.get("source_name") == source_name and source.get("name") == table_name:
            return node_relation(source)
    return None


def resolve_placeholder(manifest: Mapping[str, Any], placeholder: Placeholder, package: str | None) -> Relation | None:
    if placeholder.kind == "ref":
        return find_ref(manifest, placeholder.target.strip(), package)
    if placeholder.kind == "source":
        return find_source(manifest, placeholder.target.strip())
    return None


def render_query(query: str, manifest: Mapping[str, Any], package: str | None) -> str:
    """Replace {ref:NAME} and {source:SOURCE.TABLE} by relations; {batch} is left for GX to fill in.

    Call only on a query that `check_suites` accepted: an unresolvable placeholder raises KeyError.
    """

    def substitute(match: re.Match[str]) -> str:
        relation = resolve_placeholder(manifest, Placeholder(match[1], match[2]), package)
        if relation is None:
            raise KeyError(match[0])
        return relation.rendered

    return _PLACEHOLDER.sub(substitute, query)
