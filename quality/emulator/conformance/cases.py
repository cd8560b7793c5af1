"""What the conformance corpus asks Spark: the SQL of every case, before any engine answers.

Three sources, none of them a list of known bugs:

- `examples_of(describe_output)`: the examples in Spark's own documentation of every built-in
  (`DESCRIBE FUNCTION EXTENDED`), as Spark itself runs them;
- `variants(example, function)`: each example of a function the project calls, and of every function of
  the everyday groups (`EDGE_GROUPS`), again with each of its literal arguments replaced by edge values
  of the same kind (NULL, zero, negatives, Sunday, leap days, month ends, long and multi-byte strings,
  decimals with many digits, the integer limit);
- `constructs()`: casts of edge values to every type, and expressions over edge values in the areas where
  engines are known to part ways (day numbering, negative lengths, one-argument log, overflow, division
  and decimal scale, NULL in concat and ordering, array indexes, rounding, regex groups, hashes, formats).

`project_functions(project_dir)` names the functions a dbt project's SQL calls, rendered as the pre-commit
Spark check renders it (Databricks macros picked).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlglot.dialects.spark import Spark
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

DIALECT = "spark"
DATES = (
    "DATE'2024-06-02'",  # a Sunday
    "DATE'2024-06-03'",  # a Monday
    "DATE'2024-06-08'",  # a Saturday
    "DATE'2024-02-29'",  # a leap day
    "DATE'2023-12-31'",  # the end of a year (ISO week 52 of 2023)
    "DATE'2021-01-03'",  # a Sunday in ISO week 53 of 2020
    "DATE'1969-12-31'",  # before the epoch
    "CAST(NULL AS DATE)",
)
TIMESTAMPS = (
    "TIMESTAMP'2024-06-02 23:59:59.999999'",
    "TIMESTAMP'2024-02-29 00:00:00'",
    "TIMESTAMP'1969-12-31 23:59:59.5'",
    "CAST(NULL AS TIMESTAMP)",
)
INTEGERS = ("NULL", "0", "-1", "-7", "2147483647")  # (-2^31 as an argument meets overflows inside Spark itself)
DECIMALS = ("NULL", "0.0", "-1.5", "2.5", "-2.5", "1.005", "12345678901234567.123456789")
STRINGS = ("NULL", "''", "' a b '", "'ÄbC ß ǅ'", "'x1,y2,,z3'", f"'{'long' * 80}'")
CAST_VALUES = (
    "'12'", "' 12 '", "'1.5'", "'-0'", "'1e3'", "'abc'", "''", "'true'", "'yes'", "'1'", "'2024-02-30'",
    "'2024-02-29 25:00:00'", "'2024-01-01T10:00:00Z'", "1.5", "-1.5", "2.5", "-2.5", "3000000000", "1e20",
    "0.1 + 0.2", "CAST(1 AS DOUBLE)", "true", "DATE'2024-02-29'", "TIMESTAMP'2024-02-29 12:34:56.789'",
)  # fmt: skip
CAST_TYPES = (
    "int", "bigint", "smallint", "tinyint", "decimal(10,2)", "decimal(3,0)", "double", "float", "boolean",
    "date", "timestamp", "string",
)  # fmt: skip
DATE_FIELDS = (
    "dow", "dayofweek", "dow_iso", "dayofweek_iso", "doy", "week", "quarter", "year", "month", "day",
    "yearofweek",
)  # fmt: skip
# Spark's function groups whose every member gets edge values, called by the project or not: the SQL of
# everyday models, where a construct the corpus has not seen is most likely to come from.
EDGE_GROUPS = frozenset({"string_funcs", "datetime_funcs", "math_funcs", "conditional_funcs", "conversion_funcs"})
# Functions whose answer depends on when, where or by whom it runs: their examples prove nothing.
VOLATILE = frozenset(
    [
        "current_date",
        "current_timestamp",
        "current_timezone",
        "current_user",
        "current_database",
        "current_catalog",
        "current_schema",
        "curdate",
        "localtimestamp",
        "now",
        "rand",
        "randn",
        "random",
        "randstr",
        "uniform",
        "uuid",
        "shuffle",
        "monotonically_increasing_id",
        "spark_partition_id",
        "input_file_name",
        "input_file_block_start",
        "input_file_block_length",
        "session_user",
        "user",
        "version",
        "current_time",
        "reflect",
        "java_method",
        "assert_true",
        "raise_error",
        "try_reflect",
    ]
)
# Aggregates whose answer is one of several right ones (the order of a set, one of tied modes).
NONDETERMINISTIC = frozenset({"collect_set", "mode", "approx_top_k", "any_value", "try_reflect"})
UNREPEATABLE = VOLATILE | NONDETERMINISTIC
# The few edge values every everyday function gets (a function the project calls gets them all).
FEW = frozenset(
    {"NULL", "0", "-1", "0.0", "-1.5", "''", "DATE'2024-06-02'", "DATE'2024-02-29'", "'2024-06-02'", "'2024-02-29'"}
)
EVERYDAY_CAP = 8  # edge cases at most per everyday function
_EXAMPLE = re.compile(r"^\s*>\s*(?P<sql>SELECT\b.*)$", re.I)


def examples_of(describe_output: str) -> list[str]:
    """The example statements in the text of `DESCRIBE FUNCTION EXTENDED f` (without their `;`)."""
    examples: list[str] = []
    lines = iter(describe_output.splitlines())
    for line in lines:
        match = _EXAMPLE.match(line)
        if not match:
            continue
        statement = match.group("sql").strip()
        while not statement.endswith(";"):
            following = next(lines, None)
            if following is None or following.strip().startswith(">"):
                break
            statement = f"{statement} {following.strip()}"
        examples.append(statement.rstrip(";").strip())
    return examples


def _edge_values(kind: str, text: str, *, few: bool = False) -> tuple[str, ...]:
    """Edge values of the same kind as the literal `text` (a number, a string, a typed date or timestamp);
    `few`: only the most telling (NULL, zero or empty, a negative, a Sunday, a leap day)."""
    values = _all_edge_values(kind, text)
    return tuple(value for value in values if value in FEW) if few else values


def _all_edge_values(kind: str, text: str) -> tuple[str, ...]:
    if kind == "date":
        return DATES
    if kind == "timestamp":
        return TIMESTAMPS
    if kind == "number":
        return DECIMALS if "." in text else INTEGERS
    if kind != "string":  # NULL, or an expression: nothing to vary
        return ()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # a date written as a string
        return (*(f"'{date[5:15]}'" for date in DATES[:-1]), "NULL")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?", text):
        return (*(f"'{ts[10:-1]}'" for ts in TIMESTAMPS[:-1]), "NULL")
    return STRINGS


def variants(example: str, function: str, *, few: bool = False) -> list[str]:
    """`example` with one literal argument of its `function` call at a time replaced by each edge value
    (`few`: the most telling only).

    The text is edited where the literal stands, so the rest is exactly Spark's own example."""
    found: set[str] = set()
    for argument in call_arguments(example, function) or ():
        for value in _edge_values(argument.kind, argument.text, few=few):
            found.add(f"{example[: argument.start]}{value}{example[argument.end :]}")
    return sorted(found - {example})


@dataclass(frozen=True)
class Argument:
    """One argument of a call as written: where it is, its kind (string, number, date, timestamp, null, or
    expr for anything but a literal) and, for a literal, its value as written (a string without quotes)."""

    start: int
    end: int
    kind: str
    text: str


def call_arguments(sql: str, function: str, offset: int = 0) -> list[Argument] | None:
    """The arguments of the first call of `function` at or after `offset` in `sql`; None when there is none."""
    try:
        tokens = Spark().tokenize(sql)
    except TokenError:
        return None
    calls = (i for i, token in enumerate(tokens[:-1]) if token.start >= offset and token.text.lower() == function)
    opening = next((i + 1 for i in calls if tokens[i + 1].token_type == TokenType.L_PAREN), None)
    if opening is None:
        return None
    arguments: list[Argument] = []
    depth, argument = 0, list[Token]()
    for token in tokens[opening:]:
        depth += token.token_type == TokenType.L_PAREN
        depth -= token.token_type == TokenType.R_PAREN
        if depth == 1 and token.token_type == TokenType.L_PAREN:
            continue  # the call's own opening parenthesis
        if depth == 0 or (depth == 1 and token.token_type == TokenType.COMMA):
            arguments.extend(_arguments(argument))
            argument = []
            if depth == 0:
                break
            continue
        argument.append(token)
    return arguments


_TYPED_LITERALS = frozenset({"date", "timestamp", "timestamp_ntz", "timestamp_ltz", "time", "interval", "x"})
_CLAUSE_WORDS = frozenset({TokenType.FROM, TokenType.FOR, TokenType.IN})


def _arguments(tokens: list[Token]) -> list[Argument]:
    """One argument's tokens as arguments: `HOUR FROM ts` (extract, substring's FROM/FOR, position's IN)
    is a keyword argument and the rest, each classified as a literal or an expression."""
    parts: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type in _CLAUSE_WORDS and parts[-1]:
            parts.append([])
        else:
            parts[-1].append(token)
    found = [_argument(part) for part in parts if part]
    if len(found) > 1 and len(parts[0]) == 1 and parts[0][0].token_type == TokenType.VAR:
        found[0] = Argument(found[0].start, found[0].end, "keyword", parts[0][0].text.lower())
    return found


def _argument(tokens: list[Token]) -> Argument:
    """The argument made of `tokens`, as a literal when it is one: 'text', 12, -1.5, NULL, DATE'...'."""
    kinds = [token.token_type for token in tokens]
    first, last = tokens[0], tokens[-1]
    text = last.text
    if kinds in ([TokenType.STRING], [TokenType.NUMBER], [TokenType.DASH, TokenType.NUMBER], [TokenType.NULL]):
        kind = {TokenType.STRING: "string", TokenType.NULL: "null"}.get(kinds[0], "number")
        text = "".join(token.text for token in tokens).lower() if kind != "string" else text
    elif len(kinds) >= 2 and kinds[1] == TokenType.STRING and first.text.lower() in _TYPED_LITERALS:
        kind, text = first.text.lower(), " ".join(token.text for token in tokens[1:])
    else:
        kind = "expr"
    return Argument(first.start, last.end + 1, kind, text)


def first_call(sql: str) -> str | None:
    """The name of the first function `sql` calls (in `SELECT f(...)`, the outermost: the one answering)."""
    from hooks.spark_uses import find_uses

    uses, _ = find_uses(sql)
    calls = [use for use in uses if use.kind == "function"]
    return min(calls, key=lambda use: use.offset).name if calls else None


def constructs() -> Iterator[tuple[str, str]]:
    """(SQL, origin) of the casts and of the constructs where engines are known to part ways."""
    for value, type_ in itertools.product(CAST_VALUES, CAST_TYPES):
        yield f"SELECT CAST({value} AS {type_})", "cast"
    for date, field in itertools.product(DATES, DATE_FIELDS):
        yield f"SELECT extract({field} FROM {date})", "date part"
        yield f"SELECT date_part('{field}', {date})", "date part"
    for date in DATES:
        for call in ("dayofweek({})", "weekday({})", "weekofyear({})", "dayofyear({})", "last_day({})",
                     "next_day({}, 'MO')", "date_trunc('week', {})", "trunc({}, 'week')",
                     "date_format({}, 'E')", "date_format({}, 'EEEE')", "date_format({}, 'w')",
                     "date_add({}, -1)", "add_months({}, 1)", "months_between({}, DATE'2024-02-29')",
                     "datediff({}, DATE'2024-03-01')", "unix_date({})"):  # fmt: skip
            yield f"SELECT {call.format(date)}", "dates"
    yield from _strings()
    yield from _numbers()
    yield from _queries()


def _strings() -> Iterator[tuple[str, str]]:
    for text, n in itertools.product(("'abc'", "''", "NULL"), ("-1", "0", "2", "10", "NULL")):
        for call in ("left({s}, {n})", "right({s}, {n})", "substring({s}, {n})", "substring({s}, 1, {n})",
                     "substring({s}, {n}, 2)", "lpad({s}, {n}, 'x')", "rpad({s}, {n})", "repeat({s}, {n})",
                     "split_part('a,b,c', ',', {n})", "locate('b', {s}, {n})"):  # fmt: skip
            yield f"SELECT {call.format(s=text, n=n)}", "strings"
    for call in ("concat('a', NULL)", "concat_ws('-', 'a', NULL, 'b')", "'a' || NULL", "initcap('hello wORLD')",
                 "upper('ß')", "lower('ǅ')", "length('ß')", "char_length('ÄbC')", "octet_length('ÄbC')",
                 "trim('  a  ')", "instr('abc', '')", "replace('abc', '', 'x')", "translate('abc', 'ab', 'x')",
                 "regexp_extract('abc123', '([a-z]+)(\\\\d+)')", "regexp_extract('abc123', '([a-z]+)(\\\\d+)', 0)",
                 "regexp_extract('abc', '(\\\\d+)')", "regexp_replace('a1b2', '\\\\d', '')", "split('a,b,,', ',')",
                 "format_number(1234.5, 2)", "format_string('%05d', 42)", "md5('a')", "sha2('a', 256)",
                 "hash('a')", "xxhash64('a')", "crc32('a')", "base64('ab')", "'a ' = 'a'", "'abc' = 'ABC'",
                 "'1.0' = 1", "get_json_object('{\"a\": [1, 2]}', '$.a[1]')", "to_json(named_struct('a', 1))",
                 "nvl(NULL, 'x')", "coalesce(NULL, 1, 2.5)", "greatest(1, NULL, 3)", "least('b', NULL, 'a')",
                 "if(NULL, 1, 2)", "nullif(1, 1)", "1 <=> NULL", "NULL = NULL"):  # fmt: skip
        yield f"SELECT {call}", "strings"


def _numbers() -> Iterator[tuple[str, str]]:
    for x in ("0", "-1", "1", "10", "NULL", "0.5"):
        for call in ("log({x})", "log(2, {x})", "ln({x})", "log10({x})", "log2({x})", "sqrt({x})",
                     "exp({x})", "sign({x})"):  # fmt: skip
            yield f"SELECT {call.format(x=x)}", "numbers"
    for call in ("2147483647 + 1", "-2147483648 - 1", "2147483647 * 2", "CAST(9223372036854775807 AS BIGINT) + 1",
                 "abs(-2147483648)", "-(-2147483648)", "CAST(127 AS TINYINT) + CAST(1 AS TINYINT)",
                 "1 / 0", "1 div 0", "1 % 0", "7 div 2", "-7 div 2", "-7 % 3", "pmod(-7, 3)", "7 / 2", "5 / 2.0",
                 "CAST(1 AS DECIMAL(10,2)) / 3", "CAST(1 AS DECIMAL(38,10)) / CAST(3 AS DECIMAL(38,10))",
                 "CAST(1.23 AS DECIMAL(10,2)) * CAST(4.567 AS DECIMAL(10,3))", "CAST(10 AS DECIMAL(5,2)) / 4",
                 "round(2.5)", "round(-2.5)", "round(0.125, 2)", "round(1.005, 2)", "bround(2.5)", "round(15, -1)",
                 "round(CAST(2.5 AS DOUBLE))", "ceil(-0.5)", "floor(-0.5)", "ceil(1.2345, 2)", "int(2.9)",
                 "CAST(2.9 AS INT)", "CAST(-2.9 AS INT)", "0.1 + 0.2", "1e308 * 10", "CAST('NaN' AS DOUBLE) = "
                 "CAST('NaN' AS DOUBLE)", "power(2, 0.5)", "mod(-7, 3)", "3 / 2 * 2", "try_divide(1, 0)",
                 "try_add(2147483647, 1)", "width_bucket(5.3, 0.2, 10.6, 5)"):  # fmt: skip
        yield f"SELECT {call}", "numbers"
    for call in ("array(1, 2, 3)[0]", "array(1, 2, 3)[5]", "element_at(array(1, 2, 3), 0)",
                 "element_at(array(1, 2, 3), -1)", "try_element_at(array(1, 2, 3), 5)", "size(NULL)",
                 "size(array())", "array_contains(array(1, NULL), 2)", "array_position(array(3, 2, 1), 1)",
                 "map('a', 1)['b']", "element_at(map('a', 1), 'b')", "slice(array(1, 2, 3), -2, 2)",
                 "sort_array(array(3, NULL, 1))", "array_sort(array(3, NULL, 1))",
                 "array_join(array('a', NULL, 'b'), ',')", "sequence(1, 5, 2)",
                 "sequence(DATE'2024-02-27', DATE'2024-03-01', INTERVAL 1 DAY)"):  # fmt: skip
        yield f"SELECT {call}", "arrays"


def _queries() -> Iterator[tuple[str, str]]:
    values = "VALUES (1, 2), (2, NULL), (3, 1), (4, 2) AS t(id, v)"
    for query in (
        f"SELECT id, row_number() OVER (ORDER BY v, id) FROM {values} ORDER BY id",
        f"SELECT id, rank() OVER (ORDER BY v DESC) FROM {values} ORDER BY id",
        f"SELECT id, lag(v) OVER (ORDER BY id), lead(v, 2, -1) OVER (ORDER BY id) FROM {values} ORDER BY id",
        f"SELECT id, sum(v) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM {values} "
        "ORDER BY id",
        f"SELECT id, first_value(v) OVER (ORDER BY id DESC) FROM {values} ORDER BY id",
        f"SELECT v FROM {values} ORDER BY v",
        f"SELECT v FROM {values} ORDER BY v DESC",
        f"SELECT avg(v), sum(v), count(v), count(*), count(DISTINCT v) FROM {values}",
        "SELECT stddev(v), variance(v), stddev_pop(v) FROM VALUES (1) AS t(v)",
        "SELECT avg(v) FROM VALUES (CAST(1 AS DECIMAL(10,2))), (CAST(2 AS DECIMAL(10,2))) AS t(v)",
        "SELECT sum(v) FROM VALUES (2147483647), (1) AS t(v)",
        "SELECT median(v), percentile(v, 0.5) FROM VALUES (1), (2), (3), (4) AS t(v)",
        "SELECT collect_list(v), collect_set(v) FROM VALUES (2), (NULL), (1), (2) AS t(v)",
        "SELECT max_by(id, v), min_by(id, v) FROM VALUES (1, 2), (2, NULL), (3, 1) AS t(id, v)",
        "SELECT sum(v) FROM VALUES (CAST(NULL AS INT)) AS t(v)",
        "SELECT bool_and(v), bool_or(v), every(v) FROM VALUES (true), (NULL) AS t(v)",
    ):
        yield query, "queries"


def project_functions(project_dir: Path) -> set[str]:
    """The functions the SQL of a dbt project calls, rendered as the pre-commit Spark check renders it."""
    from hooks.dbt_layout import load_project, node_folders, sql_files
    from hooks.dbt_render import RenderError, render_file
    from hooks.spark_uses import find_uses

    project = load_project(project_dir)
    names: set[str] = set()
    for path in sql_files(node_folders(project)):
        try:
            rendered = render_file(path)
        except RenderError:
            continue
        for variant in rendered:
            uses, _ = find_uses(variant.sql)
            names.update(use.name for use in uses if use.kind == "function" and "." not in use.name)
    return names


def functions_called(sql: str) -> tuple[str, ...]:
    """The functions `sql` calls, by name, sorted."""
    from hooks.spark_uses import find_uses

    uses, _ = find_uses(sql)
    return tuple(sorted({use.name for use in uses if use.kind == "function"}))


def row_order_defined(sql: str) -> bool:
    """The query orders its rows (a top-level ORDER BY); True as well when it cannot be parsed (compare strictly)."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import ParseError

    try:
        tree = parse_one(sql, read=DIALECT)
    except (ParseError, TokenError):
        return True
    return not isinstance(tree, exp.Query) or tree.args.get("order") is not None
