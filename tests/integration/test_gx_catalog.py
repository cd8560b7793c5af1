"""quality/expectations/catalog.py, the static list of GX expectation names that lets `check_suites`
run without importing GX, matches the installed GX registry. On a GX upgrade that changes it, this
fails and prints the replacement text for COLUMN_ARGUMENTS."""

from __future__ import annotations

import pytest

from quality.expectations import catalog

pytestmark = pytest.mark.integration

COLUMN_FIELDS = ("column", "column_A", "column_B")


def registry_column_arguments() -> dict[str, tuple[str, ...]]:
    """Every registered GX expectation and the arguments naming columns of the validated table."""
    import great_expectations  # noqa: F401 - registers the core expectations
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )

    arguments: dict[str, tuple[str, ...]] = {}
    for name in sorted(list_registered_expectation_implementations()):
        implementation = get_expectation_impl(name)
        fields = implementation.__fields__
        columns = tuple(field for field in COLUMN_FIELDS if field in fields)
        if "column_list" in implementation.domain_keys:
            columns += ("column_list",)
        arguments[name] = columns
    return arguments


def test_static_catalog_matches_the_installed_gx_registry() -> None:
    registry = registry_column_arguments()
    ours = {name: registry.get(name) for name in catalog.UNSUPPORTED_EXPECTATIONS}
    ours |= {catalog.GX_UNEXPECTED_ROWS: ()} | dict(catalog.COLUMN_ARGUMENTS)
    generated = "\n".join(
        f'    "{name}": {columns!r},'.replace("'", '"')
        for name, columns in registry.items()
        if name not in catalog.UNSUPPORTED_EXPECTATIONS and name != catalog.GX_UNEXPECTED_ROWS
    )

    assert ours == registry, (
        "GX's expectation registry changed; replace COLUMN_ARGUMENTS in quality/expectations/catalog.py "
        f"(and GX_CATALOG_VERSION) with:\n{generated}"
    )


def test_unexpected_rows_is_gx_unexpected_rows_expectation() -> None:
    from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation

    assert UnexpectedRowsExpectation.expectation_type == catalog.GX_UNEXPECTED_ROWS
