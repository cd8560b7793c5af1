"""The functions a SQL text calls and the types it names, as WRITTEN, read with sqlglot's Databricks parser.

sqlglot is lenient on purpose (an unknown function parses as an anonymous call, `hugeint` as INT128,
`strftime` maps to the same node as `date_format`), so the parser below notes the name token of every
function call and the first token of every type it reads. The pre-commit Spark check (`hooks.spark_sql`)
and the conformance corpus (`quality.emulator.conformance.cases`) both read SQL through `find_uses`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.dialects.databricks import Databricks
from sqlglot.errors import ParseError, TokenError
from sqlglot.parsers.databricks import DatabricksParser
from sqlglot.tokens import Token, TokenType

# A multi-word type keeps its words: `timestamp with time zone` is not `timestamp`.
TYPE_NAME = re.compile(r"[a-z_][a-z0-9_]*(?:\s+(?:with(?:out)?\s+(?:local\s+)?time\s+zone|precision|varying))?")
END_META = "spark_check_end"

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to parsing as a Command" warnings


@dataclass(frozen=True)
class Use:
    """A function called (`kind` "function") or a type named (`kind` "type"), as written in the SQL.

    `name` is lower-case, without quotes, dotted when qualified (`my_catalog.my_schema.f`); `offset` is
    where its first character is in the text.
    """

    kind: str
    name: str
    offset: int


@dataclass(frozen=True)
class SyntaxProblem:
    """A statement sqlglot could not parse: where (offset in the text) and why."""

    offset: int
    message: str


class _NotingParser(DatabricksParser):
    """sqlglot's Databricks parser, noting each function call's name token and each type's span."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calls: dict[int, str] = {}

    def _parse_function_call(
        self,
        functions: dict[str, Callable[..., Any]] | None = None,
        anonymous: bool = False,
        optional_parens: bool = True,
        any_token: bool = False,
    ) -> exp.Expr | None:
        index, token, following = self._index, self._curr, self._next
        result = super()._parse_function_call(functions, anonymous, optional_parens, any_token)
        called = following is not None and following.token_type == TokenType.L_PAREN
        if result is not None and token is not None and called:
            self.calls[token.start] = _qualified_name(self._tokens, index)
        return result  # type: ignore[no-any-return]

    def _parse_types(
        self,
        check_func: bool = False,
        schema: bool = False,
        allow_identifiers: bool = True,
        with_collation: bool = False,
    ) -> exp.Expr | None:
        token = self._curr
        result = super()._parse_types(check_func, schema, allow_identifiers, with_collation)
        if isinstance(result, exp.DataType) and token is not None and self._prev is not None:
            result.update_positions(token)
            result.meta[END_META] = self._prev.end
        return result  # type: ignore[no-any-return]


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in '`"' else text


def _qualified_name(tokens: list[Token], index: int) -> str:
    """The name of the call at `tokens[index]`, with its `catalog.schema.` qualifiers, lower-case."""
    parts = [tokens[index].text]
    while index >= 2 and tokens[index - 1].token_type == TokenType.DOT:
        index -= 2
        parts.insert(0, tokens[index].text)
    return ".".join(_unquote(part) for part in parts).lower()


def _statements(tokens: list[Token]) -> Iterator[list[Token]]:
    statement: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if statement:
                yield statement
            statement = []
        else:
            statement.append(token)
    if statement:
        yield statement


def _type_targets(tree: exp.Expr) -> Iterator[exp.DataType]:
    """The types a statement casts to (CAST, TRY_CAST, `::`) or declares columns with, nested ones too."""
    for node in tree.walk():
        target = node.args.get("to") if isinstance(node, exp.Cast) else None
        if isinstance(node, exp.ColumnDef):
            target = node.args.get("kind")
        if isinstance(target, exp.DataType):
            yield from target.find_all(exp.DataType)


def _type_use(sql: str, data_type: exp.DataType) -> Use | None:
    start, end = data_type.meta.get("start"), data_type.meta.get(END_META)
    if start is None or end is None:
        return None  # made by sqlglot, not read from the text
    written = " ".join(sql[start : end + 1].lower().split())
    match = TYPE_NAME.match(_unquote(written))
    return Use("type", match.group(0) if match else written, start) if written else None


def _statement_uses(parser: _NotingParser, sql: str, tokens: list[Token]) -> list[Use]:
    parser.calls = {}
    uses: list[Use] = []
    for tree in parser.parse(tokens, sql):
        if tree is not None:
            uses.extend(use for data_type in _type_targets(tree) if (use := _type_use(sql, data_type)))
    uses.extend(Use("function", name, offset) for offset, name in parser.calls.items())
    return uses


def _offset_of(sql: str, line: int, column: int) -> int:
    lines = sql.splitlines(keepends=True)
    return sum(len(text) for text in lines[: max(line - 1, 0)]) + max(column - 1, 0)


def find_uses(sql: str) -> tuple[list[Use], list[SyntaxProblem]]:
    """Every function call and type of every statement, in text order; and the statements that fail."""
    dialect = Databricks()
    try:
        tokens = dialect.tokenize(sql)
    except TokenError as error:
        return [], [SyntaxProblem(0, f"the SQL does not tokenize: {error}")]
    parser = _NotingParser(dialect=dialect)
    uses: list[Use] = []
    problems: list[SyntaxProblem] = []
    for statement in _statements(tokens):
        try:
            uses.extend(_statement_uses(parser, sql, statement))
        except ParseError as error:
            first = error.errors[0] if error.errors else {}
            offset = _offset_of(sql, int(first.get("line") or 1), int(first.get("col") or 1))
            problems.append(SyntaxProblem(offset, str(first.get("description") or error).splitlines()[0]))
    return sorted(set(uses), key=lambda use: (use.offset, use.kind)), problems
