"""Violation queries: the one SQL statement that decides an expectation.

Measured on DuckDB (bench/bench_gx.py): GX decides `expect_column_values_to_be_unique` with a window
count over the whole table and then runs it again for the sample of unexpected values, even when
nothing is unexpected; `expect_compound_columns_to_be_unique` joins the table with its group counts
(twice as well); an `unexpected_rows` query runs twice (a count, then a fetch of up to 200 rows). Each
costs 2-5x the hand-written GROUP BY.

So validation decides these in one pass with a GX `expect_table_row_count_to_equal(0)` on a query
asset holding the query below (rows returned = violations), and only for those that fail runs the
declared GX expectation itself, to report GX's own counts and samples. A query is produced only when
it is exactly equivalent to the declared expectation: GX's defaults (no `mostly`, no `row_condition`,
`ignore_row_if` left at `all_values_are_missing`); anything else is validated by GX as declared.

Emulated expectations: GX 1.24 has no regex or LIKE for the duckdb dialect ("Regex is not supported for
dialect duckdb"), which the project uses on Databricks. On DuckDB those four expectations run as an
`unexpected_rows` query with Databricks' semantics (regex search, LIKE with backslash escape), nulls
ignored as GX ignores them. Which expectations a dialect emulates, and its regex function, are its engine
kind's (`EngineKind.emulated_expectations`, `regex_match_sql`).
"""

from __future__ import annotations

from collections.abc import Callable

from quality.engines.kinds import kind_for_dialect
from quality.expectations.spec import ExpectationSpec

Quote = Callable[[str], str]

# expectation -> (pattern argument, True when a match is the violation), where the dialect's engine kind
# lists the expectation in its `emulated_expectations`.
_PATTERN_EXPECTATIONS = {
    "expect_column_values_to_match_regex": ("regex", False),
    "expect_column_values_to_not_match_regex": ("regex", True),
    "expect_column_values_to_match_like_pattern": ("like_pattern", False),
    "expect_column_values_to_not_match_like_pattern": ("like_pattern", True),
}


def violation_query(spec: ExpectationSpec, relation_sql: str, quote: Quote, dialect: str) -> str | None:
    """A SELECT returning one row per violation of `spec` on `relation_sql`, or None (let GX decide)."""
    rows_query = spec.resolved_query if spec.is_unexpected_rows else emulated_query(spec, quote, dialect)
    if rows_query is not None:
        # Wrapped: a GX query asset must start with SELECT (a user's query may start with WITH), and
        # the newline keeps a trailing `-- comment` from swallowing the closing parenthesis.
        return f"select * from (\n{rows_query.format(batch=relation_sql)}\n) as violations"
    if spec.expectation == "expect_column_values_to_be_unique" and set(spec.kwargs) == {"column"}:
        return _duplicate_keys([str(spec.kwargs["column"])], relation_sql, quote)
    if spec.expectation == "expect_compound_columns_to_be_unique" and set(spec.kwargs) == {"column_list"}:
        return _duplicate_keys([str(column) for column in spec.kwargs["column_list"]], relation_sql, quote)
    return None


def emulated_query(spec: ExpectationSpec, quote: Quote, dialect: str) -> str | None:
    """For an expectation GX cannot evaluate on `dialect`: an `unexpected_rows` query (with {batch})
    returning the column's unexpected values; None when GX can evaluate it."""
    shape = _PATTERN_EXPECTATIONS.get(spec.expectation)
    kind = kind_for_dialect(dialect)
    if kind is None or spec.expectation not in kind.emulated_expectations or shape is None:
        return None
    argument, match_is_violation = shape
    if set(spec.kwargs) != {"column", argument}:
        return None
    column = quote(str(spec.kwargs["column"]))
    pattern = _literal(str(spec.kwargs[argument]))
    like = f"{column} like {pattern} escape '\\'"
    matches = kind.regex_match_sql(column, pattern) if argument == "regex" else like
    condition = matches if match_is_violation else f"not ({matches})"
    return f"select {column} from {{batch}} where {column} is not null and {condition}"


def _literal(text: str) -> str:
    """A SQL string literal, braces doubled for the {batch} formatting that follows."""
    return "'" + text.replace("'", "''").replace("{", "{{").replace("}", "}}") + "'"


def _duplicate_keys(columns: list[str], relation_sql: str, quote: Quote) -> str:
    """Keys (all parts non-null, as GX compares them) that occur more than once."""
    keys = ", ".join(quote(column) for column in columns)
    not_null = " and ".join(f"{quote(column)} is not null" for column in columns)
    return f"select {keys} from {relation_sql} where {not_null} group by {keys} having count(*) > 1"
