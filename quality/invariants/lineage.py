"""Column lineage of compiled SQL (sqlglot): what each output column of a model is computed from.

Within one model, every column reference is followed through CTEs and subqueries down to the tables the SQL
reads (`ColumnDef.expression`, whose leaves are `schema.table` columns). Across models (`ProjectLineage`),
a leaf that is another model's column is replaced by that column's own expression, down to sources, seeds
and snapshots: two models computing the same thing from the same source column then have the same resolved
expression, however many CTEs and views lie between.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from quality.invariants.model import Node

VALUE_CASTS = ("date", "timestamp")  # casts that change values (a timestamp cut to a day): kept when comparing


@dataclass(frozen=True)
class Leaf:
    relation: str  # `schema.table` of a table the SQL reads (lower case), or a node's unique id
    column: str


@dataclass
class ColumnDef:
    name: str
    expression: exp.Expr  # leaves: exp.Column(table=<schema.table>, this=<column>)
    resolvable: bool  # every reference was followed to a table (no star, set operation or unknown source)
    row_preserving: bool  # one output row per row of the table it reads (no filter, DISTINCT, LIMIT, joined side)
    grouped: bool = False  # a GROUP BY lies between the output and the table (rows collapse)


def model_columns(sql: str, dialect: str) -> dict[str, ColumnDef]:
    """Output columns of a SELECT (lower-case names) with their lineage; {} when sqlglot cannot read it."""
    try:
        qualified = qualify(sqlglot.parse_one(sql, dialect=dialect), dialect=dialect, validate_qualify_columns=False)
        root = build_scope(qualified)
    except (SqlglotError, KeyError, ValueError, AttributeError, RecursionError):
        return {}
    if root is None or not isinstance(root.expression, exp.Select):
        return {}
    columns = {}
    for projection in root.expression.selects:
        name = projection.alias_or_name.lower()
        if not name or isinstance(projection.unalias(), exp.Star):
            continue
        walker = _Walker()
        expression = walker.resolve(root, projection.unalias())
        preserving = walker.row_preserving and keeps_rows(root)
        grouped = walker.grouped or bool(root.expression.args.get("group"))
        columns[name] = ColumnDef(name, expression, walker.resolvable, preserving, grouped)
    return columns


class _Walker:
    def __init__(self) -> None:
        self.resolvable = True
        self.row_preserving = True
        self.grouped = False

    def resolve(self, scope: Scope, expression: exp.Expr) -> exp.Expr:
        holder = exp.Paren(this=expression.copy())
        for column in list(holder.find_all(exp.Column)):
            column.replace(self._column(scope, column))
        return holder.this

    def _column(self, scope: Scope, column: exp.Column) -> exp.Expr:
        table = column.table or _only_source(scope)
        source = scope.sources.get(table) if table else None
        if not isinstance(source, Scope | exp.Table) or not column.name:
            self.resolvable = False
            return column.copy()
        if _from_alias(scope) != table:
            self.row_preserving = False
        if isinstance(source, exp.Table):
            return exp.column(column.name.lower(), table=f"{source.db}.{source.name}".lower(), quoted=True)
        select = source.expression
        match = None
        if isinstance(select, exp.Select):
            match = next((p for p in select.selects if p.alias_or_name.lower() == column.name.lower()), None)
        if match is None or isinstance(match.unalias(), exp.Star):
            self.resolvable = False
            return column.copy()
        self.row_preserving = self.row_preserving and keeps_rows(source)
        self.grouped = self.grouped or bool(select.args.get("group"))
        return self.resolve(source, match.unalias())


def _only_source(scope: Scope) -> str | None:
    """The FROM alias of a SELECT without joins (sqlglot leaves its columns unqualified without a schema)."""
    if not isinstance(scope.expression, exp.Select) or scope.expression.args.get("joins"):
        return None
    return _from_alias(scope)


def _from_alias(scope: Scope) -> str | None:
    from_ = scope.expression.args.get("from_")
    return from_.this.alias_or_name if isinstance(from_, exp.From) else None


def keeps_rows(scope: Scope) -> bool:
    """No filter, DISTINCT or LIMIT in the scope's own SELECT (GROUP BY is judged by the aggregate used)."""
    select = scope.expression
    if not isinstance(select, exp.Select):
        return False
    return not any(select.args.get(key) for key in ("where", "having", "qualify", "limit", "distinct"))


def leaves(expression: exp.Expr) -> set[Leaf]:
    return {Leaf(column.table, column.name) for column in expression.find_all(exp.Column)}


def is_aggregated(expression: exp.Expr) -> bool:
    return expression.find(exp.AggFunc, exp.Window) is not None


def strip(expression: exp.Expr, *, keep_value_casts: bool = True) -> exp.Expr:
    """Without parentheses and type casts (date/timestamp casts kept unless asked): for comparing definitions."""

    def unwrap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Paren):
            return node.this
        if isinstance(node, exp.Cast):  # TryCast is a Cast
            if keep_value_casts and node.to.sql().lower().startswith(VALUE_CASTS):
                return node
            return node.this
        return node

    stripped = expression.copy()
    for _ in range(64):  # transform does not revisit what it unwrapped: repeat until nothing changes
        before = stripped.sql()
        stripped = stripped.transform(unwrap)
        if stripped.sql() == before:
            break
    return stripped


def passthrough(expression: exp.Expr) -> Leaf | None:
    """The one column an expression passes on unchanged (through casts, rounding, coalesce(x, 0)), if any."""
    node = strip(expression, keep_value_casts=False)
    while isinstance(node, exp.Round | exp.Paren | exp.Cast) or (
        isinstance(node, exp.Coalesce) and all(isinstance(e, exp.Literal) for e in node.expressions)
    ):
        node = node.this
    return Leaf(node.table, node.name) if isinstance(node, exp.Column) else None


def summed(expression: exp.Expr) -> Leaf | None:
    """The column an expression sums unchanged (sum(x), sum(cast(x ...)), coalesce(sum(x), 0)), if any."""
    node = strip(expression, keep_value_casts=False)
    while isinstance(node, exp.Coalesce | exp.Round | exp.Paren | exp.Cast):
        node = node.this
    return passthrough(node.this) if isinstance(node, exp.Sum) else None


class ProjectLineage:
    """Lineage of every model's columns, resolved across models down to non-model relations."""

    def __init__(self, nodes: dict[str, Node], dialect: str) -> None:
        self.nodes = nodes
        self.dialect = dialect
        self.by_key = {node.relation.key: unique_id for unique_id, node in nodes.items()}
        self.local = {
            unique_id: model_columns(node.compiled_code, dialect)
            for unique_id, node in nodes.items()
            if node.resource_type == "model" and node.compiled_code
        }
        self._memo: dict[tuple[str, str], exp.Expr | None] = {}

    def column(self, unique_id: str, name: str) -> ColumnDef | None:
        return self.local.get(unique_id, {}).get(name)

    def node_of(self, leaf: Leaf) -> str | None:
        """The unique id of the node a leaf reads (leaves hold `schema.table`)."""
        return self.by_key.get(leaf.relation)

    def resolved(self, unique_id: str, name: str) -> exp.Expr | None:
        """The column's expression over non-model relations (leaves: unique ids), None if not resolvable."""
        key = (unique_id, name)
        if key not in self._memo:
            self._memo[key] = self._resolve(unique_id, name)
        return self._memo[key]

    def _resolve(self, unique_id: str, name: str) -> exp.Expr | None:
        definition = self.column(unique_id, name)
        if definition is None or not definition.resolvable:
            return None
        holder = exp.Paren(this=definition.expression.copy())
        for column in list(holder.find_all(exp.Column)):
            upstream = self.by_key.get(column.table)
            deeper = self.resolved(upstream, column.name) if upstream in self.local else None
            if deeper is None:
                deeper = exp.column(column.name, table=upstream or column.table, quoted=True)
            column.replace(deeper.copy())
        return holder.this

    def normalized(self, expression: exp.Expr) -> str:
        return strip(expression).sql(dialect=self.dialect)
