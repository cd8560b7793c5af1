"""A dbt error the harness passes on keeps the file and line dbt names, not only its first line."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt.clients.yaml_helper import load_yaml_text
from dbt.exceptions import YamlLoadError
from dbt_common.exceptions import CompilationError, DbtValidationError

from quality.dbt.runner import dbt_error_text, parse_dbt_vars
from quality.errors import UsageError

BROKEN_YAML = "models:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique\n      - name: x\n"


def yaml_load_error(path: str) -> YamlLoadError:
    """The error dbt's schema parser raises for a malformed YAML file (`path` relative to its folder)."""
    with pytest.raises(DbtValidationError) as syntax:
        load_yaml_text(BROKEN_YAML)
    return YamlLoadError(path=path, exc=syntax.value, project_name="shop")


def test_malformed_yaml_names_the_project_file_line_and_column(tmp_path: Path) -> None:
    schema = tmp_path / "models" / "staging" / "schema.yml"
    schema.parent.mkdir(parents=True)
    schema.write_text(BROKEN_YAML, encoding="utf-8")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "schema.yml").write_text("", encoding="utf-8")  # dbt's output folder never matches

    assert dbt_error_text(yaml_load_error("staging/schema.yml"), tmp_path) == (
        f"Parsing Error in {schema}: Error reading shop: staging/schema.yml - Runtime Error; "
        "Syntax error near line 6; while parsing a flow sequence at line 5, column 16; "
        "did not find expected ',' or ']' at line 6, column 13"
    )


def test_a_file_name_found_twice_is_left_as_dbt_gave_it(tmp_path: Path) -> None:
    for folder in ("staging", "marts"):
        (tmp_path / "models" / folder).mkdir(parents=True)
        (tmp_path / "models" / folder / "schema.yml").write_text("", encoding="utf-8")

    text = dbt_error_text(yaml_load_error("schema.yml"), tmp_path)

    assert text.startswith("Parsing Error: Error reading shop: schema.yml - Runtime Error; Syntax error near line 6;")


def test_a_compilation_error_keeps_its_model_file_and_line(tmp_path: Path) -> None:
    error = CompilationError("unexpected '}', expected ')'\n  line 1\n    select {{ ref(\"a\" }} as x")
    error.node = None
    assert dbt_error_text(error, tmp_path) == (
        "Compilation Error: unexpected '}', expected ')'; line 1; select {{ ref(\"a\" }} as x"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, {}),
        ("", {}),
        ("{load_source_data: true}", {"load_source_data": True}),
        ('{"start": "2024-01-01", "days": 3}', {"start": "2024-01-01", "days": 3}),
    ],
)
def test_dbt_vars_are_a_yaml_mapping(text: str | None, expected: dict[str, object]) -> None:
    assert parse_dbt_vars(text, option="--vars") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "--vars '[1, 2]' is not a mapping of var names to values"),
        ("{a: [}", "--vars '{a: [}' is not YAML"),
        ("{raw_schema: x}", "--vars sets raw_schema, which the harness sets for every ephemeral build; leave it out."),
    ],
)
def test_bad_dbt_vars_are_a_usage_error_naming_the_option(text: str, message: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_dbt_vars(text, option="--vars")
    assert str(error.value).startswith(message)
