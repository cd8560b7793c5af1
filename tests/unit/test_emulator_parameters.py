"""Parameter markers of the Statement Execution API bound into Spark SQL as typed literals: `?`, `:name` and
`` :`name` `` (databricks-sqlalchemy's spelling); markers inside strings, quoted identifiers and comments
stay as they are."""

from __future__ import annotations

import pytest

from quality.emulator.parameters import Parameter, bind, literal, quote_string
from quality.emulator.spark import SparkSqlError


def named(name: str, value: str | None, kind: str | None = "STRING") -> Parameter:
    return Parameter(name, value, kind)


def positional(value: str | None, kind: str | None = "STRING") -> Parameter:
    return Parameter(None, value, kind)


def test_positional_markers_take_the_parameters_in_order() -> None:
    sql = bind("select ?, ? from t where id = ?", [positional("a"), positional("2", "INT"), positional("3", "BIGINT")])

    assert sql == "select 'a', CAST('2' AS INT) from t where id = CAST('3' AS BIGINT)"


def test_named_markers_are_bound_by_name_also_in_backticks_and_repeated() -> None:
    sql = bind("select :a, :`b`, :a", [named("a", "2024-01-02", "DATE"), named("b", "1.50", "DECIMAL(10,2)")])

    assert sql == "select CAST('2024-01-02' AS DATE), CAST('1.50' AS DECIMAL(10,2)), CAST('2024-01-02' AS DATE)"


def test_markers_inside_strings_identifiers_and_comments_stay_untouched() -> None:
    sql = "select '?', 'it''s :a', \"dq ? :a\", `col?:a`, ? -- trailing ? :a\n/* block ? :a */ from t where x = :a"

    bound = bind(sql, [positional("p"), named("a", "v")])

    assert bound == (
        "select '?', 'it''s :a', \"dq ? :a\", `col?:a`, 'p' -- trailing ? :a\n/* block ? :a */ from t where x = 'v'"
    )


def test_a_colon_that_is_no_known_marker_stays_as_it_is() -> None:
    sql = "select payload:customer.id, cast(x as int)::string, :unknown from t where y = :a"

    assert bind(sql, [named("a", "1", "INT")]) == (
        "select payload:customer.id, cast(x as int)::string, :unknown from t where y = CAST('1' AS INT)"
    )


def test_null_values_and_void_parameters_become_null() -> None:
    sql = bind("select ?, ?, :c", [positional(None, "INT"), positional("ignored", "VOID"), named("c", None, None)])

    assert sql == "select NULL, NULL, NULL"


def test_quotes_and_backslashes_are_escaped_in_the_literal() -> None:
    assert bind("select ?", [positional("it's C:\\temp\\")]) == "select 'it\\'s C:\\\\temp\\\\'"
    assert quote_string("a'b\\c") == "'a\\'b\\\\c'"


def test_an_untyped_parameter_is_a_string() -> None:
    assert literal(Parameter(None, "42", None)) == "'42'"
    assert literal(Parameter(None, "true", "boolean")) == "CAST('true' AS BOOLEAN)"


def test_without_parameters_the_statement_is_sent_unchanged() -> None:
    assert bind("select '?' as q, ? as unbound", []) == "select '?' as q, ? as unbound"


def test_more_markers_than_parameters_is_unbound_sql_parameter() -> None:
    with pytest.raises(SparkSqlError) as caught:
        bind("select ?, ?", [positional("a")])

    assert (caught.value.error_class, caught.value.sql_state) == ("UNBOUND_SQL_PARAMETER", "42P02")
    assert caught.value.message == (
        "[UNBOUND_SQL_PARAMETER] Found an unbound parameter marker '?': more markers than parameters."
    )
