"""Read-only by construction: an `Engine` (and DB-API connections) that send nothing but reads.

`open_engine(target, read_only=True)` returns a `ReadOnlyEngine` on every engine. Each statement is
classified with sqlglot in the engine's dialect *before* it reaches the connection: one statement that is
a SELECT (also WITH ... SELECT, UNION, VALUES), SHOW, DESCRIBE or EXPLAIN (not EXPLAIN ANALYZE, which runs
its statement on DuckDB) passes; anything else, several statements, or SQL that does not parse raises
`ReadOnlyError` naming the statement kind, and nothing is sent. Loading, schema changes and transactions
are refused outright. On Databricks the same check also guards the connector connections themselves
(the engine's own session and those Great Expectations opens through `sqlalchemy_creator`); on DuckDB
the file is opened read-only as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from quality.engines.base import Engine
from quality.engines.kinds import find_kind
from quality.errors import QualityError

READ_KEYWORDS = frozenset({"SHOW", "DESCRIBE", "DESC"})  # statements that cannot write, whatever follows
READ_ROOTS = (exp.Select, exp.SetOperation, exp.Subquery, exp.Values, exp.Describe)
ALLOWED = "SELECT, WITH ... SELECT, SHOW, DESCRIBE and EXPLAIN"


class ReadOnlyError(QualityError):
    """A read-only connection refused a statement in the client; nothing was sent to the warehouse."""


def statement_kind(sql: str, dialect: str) -> str:
    """The kind of a statement ("SELECT", "SHOW", "DELETE", ...), or "MULTIPLE STATEMENTS" / "UNPARSEABLE"."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(sql)
    except SqlglotError:
        return "UNPARSEABLE"
    statements = _split(tokens)
    if len(statements) != 1:
        return "EMPTY" if not statements else "MULTIPLE STATEMENTS"
    first = statements[0][0].text.upper()
    if first in READ_KEYWORDS:
        return "DESCRIBE" if first == "DESC" else first
    if first == "EXPLAIN":
        following = " ".join(token.text for token in statements[0][1:]).split()  # sqlglot keeps it as one string
        return "EXPLAIN ANALYZE" if [word.upper() for word in following[:1]] == ["ANALYZE"] else "EXPLAIN"
    return _parsed_kind(sql, dialect)


def is_read(kind: str) -> bool:
    return kind in {"SELECT", "SHOW", "DESCRIBE", "EXPLAIN"}


def check_read(sql: str, dialect: str, where: str) -> None:
    """Raise `ReadOnlyError` unless the SQL is exactly one read statement."""
    kind = statement_kind(sql, dialect)
    if is_read(kind):
        return
    excerpt = " ".join(sql.split())[:160]
    raise ReadOnlyError(
        f"refused a {kind} statement on the read-only connection to {where}; it was not sent. This connection "
        f"sends only single {ALLOWED} statements (the prod smoke checks must never change prod). "
        f"Statement: {excerpt}"
    )


def _split(tokens: Sequence[Any]) -> list[list[Any]]:
    statements: list[list[Any]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [statement for statement in statements if statement]


def _parsed_kind(sql: str, dialect: str) -> str:
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # sqlglot warns when it falls back to a Command: that is our answer
    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except SqlglotError:
        return "UNPARSEABLE"
    finally:
        logger.setLevel(level)
    if isinstance(tree, exp.Command):
        return str(tree.this).upper()
    if not isinstance(tree, READ_ROOTS):
        return tree.key.upper()
    for node in tree.walk():
        if isinstance(node, (exp.DDL, exp.DML, exp.Command)):
            return f"{node.key.upper()} (inside a {tree.key.upper()})"
        if isinstance(node, exp.Select) and node.args.get("into"):
            return "SELECT INTO"
    return "SELECT"


class GuardedCursor:
    """A DB-API cursor that checks every statement before the wrapped cursor sees it."""

    def __init__(self, cursor: Any, check: Callable[[str], None]) -> None:
        self._cursor = cursor
        self._check = check

    def execute(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        self._check(operation)
        return self._cursor.execute(operation, *args, **kwargs)

    def executemany(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        self._check(operation)
        return self._cursor.executemany(operation, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def __enter__(self) -> GuardedCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()


class GuardedConnection:
    """A DB-API connection whose cursors refuse every statement that is not a read."""

    def __init__(self, connection: Any, check: Callable[[str], None]) -> None:
        self._connection = connection
        self._check = check

    def cursor(self, *args: Any, **kwargs: Any) -> GuardedCursor:
        return GuardedCursor(self._connection.cursor(*args, **kwargs), self._check)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class ReadOnlyEngine:
    """An `Engine` that passes reads to the engine it wraps and refuses everything else in the client."""

    def __init__(self, inner: Engine) -> None:
        self._inner = inner
        self.name = inner.name
        self.database = inner.database
        kind = find_kind(inner.name)
        self.dialect = kind.sqlglot_dialect if kind is not None else inner.name
        guard_connections = getattr(inner, "guard_connections", None)
        if callable(guard_connections):  # Databricks: the connector connections check every statement too
            guard_connections(lambda connection: GuardedConnection(connection, self.check))

    def __repr__(self) -> str:
        return f"ReadOnlyEngine({self._inner!r})"

    def check(self, sql: str) -> None:
        check_read(sql, self.dialect, f"{self.name} catalog {self.database}")

    def relation_ref(self, schema: str, name: str) -> str:
        return self._inner.relation_ref(schema, name)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.check(sql)
        self._inner.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        self.check(sql)
        return self._inner.query(sql, params)

    def fetch_arrow(self, sql: str) -> pa.Table:
        self.check(sql)
        return self._inner.fetch_arrow(sql)

    def list_schemas(self) -> list[str]:
        return self._inner.list_schemas()

    def list_relations(self, schema: str) -> list[tuple[str, str]]:
        return self._inner.list_relations(schema)

    def relation_exists(self, schema: str, name: str) -> bool:
        return self._inner.relation_exists(schema, name)

    def create_schema(self, schema: str) -> None:
        raise self._refused("CREATE SCHEMA", schema)

    def drop_schema(self, schema: str) -> None:
        raise self._refused("DROP SCHEMA", schema)

    def load_frame(self, schema: str, table: str, frame: pd.DataFrame, *, replace: bool = True) -> int:
        raise self._refused("a table load", f"{schema}.{table}")

    def load_csv(self, schema: str, table: str, path: Path) -> int:
        raise self._refused("a CSV load", f"{schema}.{table}")

    def transaction(self) -> AbstractContextManager[None]:
        raise self._refused("a transaction", "it")

    def sqlalchemy_url(self) -> str:
        return self._inner.sqlalchemy_url()

    @property
    def connection(self) -> Any:
        """DuckDB's connection (opened read-only on the file), shared with Great Expectations."""
        inner: Any = self._inner
        return inner.connection

    @property
    def sqlalchemy_creator(self) -> Callable[[float], Callable[[], Any]]:
        """Databricks: connections for Great Expectations, guarded like the engine's own."""
        inner: Any = self._inner
        creator: Callable[[float], Callable[[], Any]] = inner.sqlalchemy_creator
        return creator

    def close(self) -> None:
        self._inner.close()

    def _refused(self, what: str, name: str) -> ReadOnlyError:
        return ReadOnlyError(
            f"refused {what} for {name} on the read-only connection to {self.name} catalog {self.database}; "
            f"nothing was sent. This connection sends only single {ALLOWED} statements."
        )


def read_only(engine: Engine) -> ReadOnlyEngine:
    """Wrap an engine so that it can only read (see the module docstring)."""
    return engine if isinstance(engine, ReadOnlyEngine) else ReadOnlyEngine(engine)
