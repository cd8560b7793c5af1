"""What the planner knows about a project, and what an invariant check is and finds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from quality.engines.base import Engine
from quality.engines.kinds import kind_of

FAMILIES = {
    "scd2": (
        "scd2_one_current_version",
        "scd2_no_overlap",
        "scd2_no_gaps",
        "scd2_no_identical_versions",
        "scd2_current_matches_source",
    ),
    "date_spine": ("date_spine_contiguous", "date_spine_bounds", "date_spine_weekday"),
    "derived_columns": ("derived_columns_agree",),
    "measures": ("measures_reconcile",),
}
INVARIANTS = frozenset(name for names in FAMILIES.values() for name in names)
EXAMPLES = 5  # violating rows shown per check


@dataclass(frozen=True)
class Relation:
    """A built relation of the project (model, snapshot, seed or source), as the manifest names it."""

    unique_id: str
    name: str  # the node's name (what messages show)
    schema: str
    identifier: str  # alias / identifier: the relation's name in the warehouse

    @property
    def key(self) -> str:
        """schema.identifier, lower case: how compiled SQL's table references are matched to nodes."""
        return f"{self.schema}.{self.identifier}".lower()


# name -> type (both lower case) of a relation's columns, in the relation's order; {} when it is not built.
ColumnLookup = Callable[[Relation], dict[str, str]]


@dataclass
class Node:
    """One model, snapshot, seed or source of the manifest, with what the invariants need of it."""

    relation: Relation
    resource_type: str
    config: dict[str, Any]
    raw_code: str = ""
    compiled_code: str = ""
    depends_on: list[str] = field(default_factory=list)
    unique_columns: set[str] = field(default_factory=set)  # columns declared unique (tests, keys, constraints)
    settings: dict[str, Any] = field(default_factory=dict)  # config.meta.quality.invariants

    @property
    def name(self) -> str:
        return self.relation.name

    @property
    def materialized(self) -> str:
        return str(self.config.get("materialized") or "")


@dataclass(frozen=True)
class Subject:
    """What an invariant check is about, planned or found: the invariant, the model and its columns."""

    invariant: str
    model: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Finding(Subject):
    """A violated invariant: how many rows or keys break it and a few of them."""

    count: int
    examples: list[dict[str, Any]]
    rule: str
    error: str | None = None  # the check could not be evaluated (harness error), e.g. a SQL error

    def describe(self) -> str:
        columns = ", ".join(self.columns) or "-"
        if self.error is not None:
            return f"- [ERROR] {self.invariant} on {self.model} ({columns}) could not be evaluated: {self.error}"
        shown = "; ".join(_example(row) for row in self.examples)
        return (
            f"- [FAILED] {self.invariant} on model {self.model}, column(s) {columns}: {self.count} "
            f"row(s)/key(s) break it\n    rule: {self.rule}\n    examples: {shown}"
        )


def _example(row: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{key}={_value(value)}" for key, value in row.items()) + "}"


def _value(value: Any) -> str:
    """Dates, times and decimals as they read (2024-01-07, 12.50); strings quoted; the rest as repr."""
    if isinstance(value, date | datetime | Decimal):
        return str(value)
    return repr(value)


Evaluate = Callable[[Engine], Finding | None]


@dataclass(frozen=True)
class Check(Subject):
    """One planned invariant on one model: evaluated through an Engine, None when it holds."""

    rule: str
    evaluate: Evaluate = field(compare=False, repr=False)
    owners: tuple[str, ...] = ()  # unique ids of the nodes whose switches apply (every model it reads)


def rows_check(
    invariant: str,
    owners: tuple[Node, ...],
    columns: tuple[str, ...],
    rule: str,
    sql: Callable[[Engine], str],
) -> Check:
    """A check whose SQL returns the violating rows (none when the invariant holds); named after owners[0]."""
    model = owners[0].name

    def evaluate(engine: Engine) -> Finding | None:
        query = sql(engine)
        (count,) = engine.query(f"select count(*) from ({query}) as violations")[0]
        if not count:
            return None
        table = engine.fetch_arrow(f"select * from ({query}) as violations limit {EXAMPLES}")
        return Finding(invariant, model, columns, int(count), table.to_pylist(), rule)

    return Check(invariant, model, columns, rule, evaluate, tuple(node.relation.unique_id for node in owners))


def ref(engine: Engine, relation: Relation) -> str:
    return engine.relation_ref(relation.schema, relation.identifier)


def quote(engine: Engine, column: str) -> str:
    """A column name quoted for the engine, by its kind (DuckDB double quotes, Databricks back ticks)."""
    return kind_of(engine).quote_identifier(column)


def is_numeric(column_type: str) -> bool:
    return column_type.startswith(("int", "uint", "decimal", "double", "float", "halffloat"))


def is_temporal(column_type: str) -> bool:
    return column_type.startswith(("date", "timestamp"))
