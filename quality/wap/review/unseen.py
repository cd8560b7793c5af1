"""Changes the review's engine cannot see: macros that only another adapter's dispatch runs.

A project written for Databricks and tested on DuckDB dispatches some macros per adapter
(`adapter.dispatch`: `duckdb__x` on DuckDB; `databricks__x`, then `spark__x`, then `default__x` on
Databricks). When a change edits an implementation that prod's engine (Databricks) runs but the review's
engine does not, the data comparison cannot show what it does: such a change is a finding of every model
that uses the macro, until it is reviewed on Spark SQL (`quality pr --target local_databricks`) or declared
(`macros: [name]` with a reason under the model's meta.quality.changes). Edits that change no SQL token
(whitespace, comments) are no change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hooks.sql_tokens import tokens
from quality.engines.kinds import find_kind, prod_kind

_IMPLEMENTATION = re.compile(r"^(?P<prefix>[a-z0-9]+)__(?P<name>\w+)$")


@dataclass(frozen=True)
class UnseenChange:
    model: str
    macro: str  # the implementation that changed, e.g. default__day_of_week_iso
    runs_instead: str  # what the review's engine runs, or "" when it runs none
    engine: str


def unseen_changes(base: dict[str, Any], head: dict[str, Any], engine: str) -> list[UnseenChange]:
    """Per model using it: each changed macro implementation prod runs and the review's engine does not (the
    order each engine's `adapter.dispatch` tries implementations in is its kind's `dispatch_prefixes`)."""
    review = find_kind(engine)
    if review is None or not review.dispatch_prefixes or review.runs_prod:
        return []
    order, prod_order = review.dispatch_prefixes, prod_kind().dispatch_prefixes
    implementations = _implementations(head)
    found = []
    for unique_id in _changed_macros(base, head):
        package, macro = unique_id.split(".")[1:3]
        match = _IMPLEMENTATION.match(macro)
        if match is None:
            continue
        prefix, name = match["prefix"], match["name"]
        available = implementations.get((package, name), set())
        if _chosen(prod_order, available) != prefix or _chosen(order, available) == prefix:
            continue
        runs = _chosen(order, available)
        instead = f"{runs}__{name}" if runs else ""
        for model in _users(head, f"macro.{package}.{name}"):
            found.append(UnseenChange(model, macro, instead, engine))
    return found


def _chosen(order: tuple[str, ...], available: set[str]) -> str:
    return next((prefix for prefix in order if prefix in available), "")


def _implementations(manifest: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for macro in manifest.get("macros", {}).values():
        if (match := _IMPLEMENTATION.match(str(macro.get("name", "")))) is not None:
            found.setdefault((str(macro.get("package_name")), match["name"]), set()).add(match["prefix"])
    return found


def _changed_macros(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    before, after = base.get("macros", {}), head.get("macros", {})
    return sorted(
        unique_id
        for unique_id, macro in after.items()
        if unique_id not in before
        or tokens(macro.get("macro_sql", "")) != tokens(before[unique_id].get("macro_sql", ""))
    )


def _users(manifest: dict[str, Any], dispatcher: str) -> list[str]:
    """Names of the models, seeds and snapshots whose SQL calls the macro, directly or through other macros."""
    macros = manifest.get("macros", {})
    calling = {dispatcher}
    grew = True
    while grew:
        more = {uid for uid, macro in macros.items() if calling & set(macro.get("depends_on", {}).get("macros", []))}
        grew = not more <= calling
        calling |= more
    return sorted(
        str(node["name"])
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") in {"model", "seed", "snapshot"}
        and calling & set(node.get("depends_on", {}).get("macros", []))
    )
