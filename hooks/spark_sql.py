"""Check SQL against Databricks SQL: every function it calls is a built-in, every type it casts to exists.

The SQL is parsed with sqlglot's Databricks dialect. sqlglot is lenient on purpose (an unknown function
parses as an anonymous call, `hugeint` as INT128, `strftime` maps to the same node as `date_format`), so
the names are taken as WRITTEN: the parser below notes the name token of every function call and the
first token of every type it reads. A function is fine when it is in the catalog (`hooks.spark_catalog`)
or in the project's allowlist of UDFs; a type when it is a Databricks type. A statement that does not
parse is one finding, and the other statements of the text are still checked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.dialects.databricks import Databricks
from sqlglot.errors import ParseError, TokenError
from sqlglot.parsers.databricks import DatabricksParser
from sqlglot.tokens import Token, TokenType

from hooks.findings import Finding
from hooks.spark_catalog import Catalog, load_catalog

# A multi-word type keeps its words: `timestamp with time zone` is not `timestamp`.
TYPE_NAME = re.compile(r"[a-z_][a-z0-9_]*(?:\s+(?:with(?:out)?\s+(?:local\s+)?time\s+zone|precision|varying))?")
END_META = "spark_check_end"
DOES_NOT_PARSE = "the SQL does not parse as Databricks SQL"
VERIFIED_VAR = "verified_on_databricks"  # vars: quality: <this>: built-ins whose local differences you checked
# The Spark SQL way for what other engines (mostly DuckDB and Postgres) call differently. Careful: some
# DuckDB names exist in Spark with other results (monthname: 'Mar' on Spark, 'March' on DuckDB).
SPARK_EQUIVALENTS = {
    "strftime": "date_format(ts, 'yyyy-MM')",
    "strptime": "to_timestamp(s, 'yyyy-MM-dd')",
    "list_value": "array(1, 2)",
    "list_contains": "array_contains(xs, x)",
    "array_length": "size(xs) or array_size(xs)",
    "unnest": "explode(xs)",
    "generate_series": "explode(sequence(start, stop))",
    "struct_pack": "named_struct('a', 1)",
    "epoch_ms": "timestamp_millis(ms), or unix_millis(ts) the other way",
    "epoch_us": "timestamp_micros(us), or unix_micros(ts) the other way",
    "epoch": "unix_seconds(ts) or unix_timestamp(ts)",
    "regexp_full_match": "s rlike '^a.*$' or regexp_like(s, '^a.*$') (anchor the pattern)",
    "regexp_matches": "regexp_like(s, pattern) or s rlike pattern",
    "string_split": "split(s, delimiter)",
    "str_split": "split(s, delimiter)",
    "strpos": "instr(s, substring) or position(substring in s)",
    "isodow": "extract(dayofweek_iso from d) (macro day_of_week_iso)",
    "today": "current_date()",
    "json_extract": "get_json_object(j, '$.a') or j:a",
    "json_extract_string": "get_json_object(j, '$.a') or j:a::string",
    "age": "months_between(a, b) or datediff(a, b)",
}
TYPE_EQUIVALENTS = {
    "hugeint": "decimal(38, 0)",
    "uhugeint": "decimal(38, 0)",
    "int128": "decimal(38, 0)",
    "ubigint": "decimal(20, 0)",
    "uinteger": "bigint",
    "usmallint": "int",
    "utinyint": "smallint",
    "text": "string",
    "uuid": "string",
    "json": "string (or variant)",
    "jsonb": "string (or variant)",
    "blob": "binary",
    "bytea": "binary",
    "bool": "boolean",
    "int2": "smallint",
    "int4": "int",
    "int8": "bigint",
    "float4": "float",
    "float8": "double",
    "datetime": "timestamp",
    "timestamptz": "timestamp",
    "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp_ntz",
    "double precision": "double",
    "time": "string (Databricks has no TIME type)",
    "list": "array<...>",
}

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


def _line_in(sql: str) -> Callable[[int], int]:
    return lambda offset: sql.count("\n", 0, offset) + 1


def _function_finding(path: str, line: int, name: str) -> Finding:
    hint = SPARK_EQUIVALENTS.get(name.rsplit(".", 1)[-1])
    use = f"use {hint}" if hint else "use the Spark SQL built-in that does this"
    return Finding(
        path,
        line,
        f"function '{name}' is not a Spark / Databricks SQL built-in",
        f"{use}, or a cross-database macro (dbt.<macro>(), adapter.dispatch); if '{name}' is your own "
        "UDF, add it to vars: quality: spark_function_allowlist in dbt_project.yml",
    )


def _unverifiable_case(text: str, use: Use, known: Catalog) -> str | None:
    """A recorded difference this call may meet (`spark ... vs local ...`), or None."""
    from quality.emulator.conformance.cases import call_arguments

    arguments = call_arguments(text, use.name, use.offset)
    for case in known.unverifiable[use.name] if arguments is not None else ():
        if case.matches(arguments or []):
            item = case.difference
            return f"{item.sql} gives {item.spark} on Spark, {item.endpoint} locally"
    return None


def _unverifiable_finding(path: str, line: int, name: str, case: str) -> Finding:
    return Finding(
        path,
        line,
        f"'{name}' is not verifiable locally: the local Databricks endpoint does not always give Spark's answer "
        f"({case}), so a green `quality fidelity` does not prove this call",
        f"check the call's result on a Databricks workspace, then list it in dbt_project.yml under vars: quality: "
        f"{VERIFIED_VAR}: [{name}] (docs/fidelity.md lists every such function)",
    )


def _type_finding(path: str, line: int, name: str) -> Finding:
    hint = TYPE_EQUIVALENTS.get(name)
    use = f"cast to {hint}" if hint else "cast to a Databricks type (bigint, decimal(p, s), double, string, ...)"
    return Finding(
        path,
        line,
        f"type '{name}' does not exist in Databricks SQL",
        f"{use}, or use a cross-database type macro (dbt.type_string(), dbt.type_bigint(), ...)",
    )


def _allowed(name: str, functions: Collection[str], allow: Collection[str]) -> bool:
    if name in allow or name in functions:
        return True
    qualifier, _, bare = name.rpartition(".")
    return qualifier in ("builtin", "system.builtin") and bare in functions


def check_sql(
    text: str,
    path: str,
    *,
    allow: Collection[str] = (),
    line_of: Callable[[int], int] | None = None,
    catalog: Catalog | None = None,
) -> list[Finding]:
    """Findings for `text` (the SQL of `path`): unknown functions, unknown types, statements that fail.

    `allow` holds lower-case UDF names (as called, qualified or not); `line_of` maps an offset in `text`
    to the line of `path` to report (rendered SQL); by default the line in `text` itself.
    """
    known = catalog or load_catalog()
    where = line_of or _line_in(text)
    uses, problems = find_uses(text)
    findings = [
        Finding(
            path,
            where(problem.offset),
            f"{DOES_NOT_PARSE}: {problem.message}",
            "fix the syntax; the Spark function and type check could not read this statement",
        )
        for problem in problems
    ]
    for use in uses:
        if use.kind == "function" and not _allowed(use.name, known.functions, allow):
            findings.append(_function_finding(path, where(use.offset), use.name))
        elif use.kind == "function" and use.name in known.unverifiable and use.name not in allow:
            if case := _unverifiable_case(text, use, known):
                findings.append(_unverifiable_finding(path, where(use.offset), use.name, case))
        elif use.kind == "type" and use.name not in known.types:
            findings.append(_type_finding(path, where(use.offset), use.name))
    return findings
