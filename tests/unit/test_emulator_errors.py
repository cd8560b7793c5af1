"""Errors of the local endpoint as its users see them: Sail's Flight SQL errors reduced to the Databricks
message with its error class and SQLSTATE, and `quality emulator` called without a command."""

from __future__ import annotations

import pytest

from quality.cli import main
from quality.emulator.endpoint import LocalEndpoint
from quality.emulator.spark import EmulatorError, spark_error


@pytest.mark.parametrize(
    ("raised", "message", "error_class", "sql_state"),
    [
        pytest.param(
            "INTERNAL: [FlightSQL] plan error: analysis error: Table not found: [TABLE_OR_VIEW_NOT_FOUND] "
            "Table or view not found: nope (Internal; ExecuteQuery)",
            "Table not found: [TABLE_OR_VIEW_NOT_FOUND] Table or view not found: nope",
            "TABLE_OR_VIEW_NOT_FOUND",
            "42P01",
            id="a_flight_sql_error_keeps_the_message_with_its_error_class_and_sqlstate",
        ),
        pytest.param(
            "INVALID_ARGUMENT: [FlightSQL] parse error: error in SQL parser: found selec at 0:5 expected something "
            "else, ';', statement, or end of input (InvalidArgument; ExecuteQuery)\nsecond line",
            "[PARSE_SYNTAX_ERROR] error in SQL parser: found selec at 0:5 expected something else, ';', statement, "
            "or end of input",
            "PARSE_SYNTAX_ERROR",
            "42601",
            id="a_parse_error_gets_databricks_class_and_sqlstate_and_keeps_its_first_line",
        ),
        pytest.param(
            "INTERNAL: [FlightSQL] execution error: disk full (Internal; ExecuteQuery)\nmore",
            "disk full",
            None,
            None,
            id="an_error_without_a_class_keeps_its_first_line_and_has_no_sqlstate",
        ),
    ],
)
def test_a_flight_sql_error_is_reduced_to_the_databricks_message_class_and_sqlstate(
    raised: str, message: str, error_class: str | None, sql_state: str | None
) -> None:
    error = spark_error(RuntimeError(raised))

    assert (error.message, error.error_class, error.sql_state) == (message, error_class, sql_state)


def test_an_error_class_keeps_its_sub_class() -> None:
    error = spark_error(ValueError("[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `x` cannot be resolved."))

    assert error.error_class == "UNRESOLVED_COLUMN.WITH_SUGGESTION"


def test_an_empty_error_is_named_by_its_type() -> None:
    assert spark_error(TimeoutError()).message == "TimeoutError"


def test_the_environment_of_an_endpoint_that_is_not_running_is_refused() -> None:
    with pytest.raises(EmulatorError, match=r"^the local Databricks endpoint is not running$"):
        LocalEndpoint().environment()


def test_quality_emulator_without_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator"]) == 2

    assert " ".join(capsys.readouterr().err.split()) == (
        "usage error: name the command to run after `--`, e.g. `quality emulator -- dbt debug --target "
        "local_databricks`."
    )
