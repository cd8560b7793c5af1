"""Sources written `schema: raw` (not the harness's var), as most public projects write them, work in pytest with
no edit: the workspace's own DuckDB file stands in for them, from the seeds of the project or from raw
fixtures (quality.harness.literal_sources). DuckDB only; elsewhere the error names the file and the line to write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.test_plugin import SAMPLE, _ephemeral_leftovers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOURCES = """
sources:
  - name: ecom
    schema: raw
    tables:
      - name: raw_customers
      - name: raw_orders
"""


def _jaffle_shop_layout(root: Path, *, seeds: bool) -> None:
    """The sample project as dbt-labs/jaffle-shop lays it out: staging reads source('ecom', ...) in schema raw."""
    from quality.onboarding import scaffold

    shutil.copytree(SAMPLE, root, dirs_exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "jaffle"\nversion = "0.1.0"\n', encoding="utf-8")
    (root / "models" / "sources.yml").write_text(SOURCES, encoding="utf-8")
    for model in (root / "models" / "staging").glob("*.sql"):
        text = model.read_text(encoding="utf-8")
        for table in ("raw_customers", "raw_orders"):
            text = text.replace(f"ref('{table}')", f"source('ecom', '{table}')")
        model.write_text(text, encoding="utf-8")
    if seeds:
        with (root / "dbt_project.yml").open("a", encoding="utf-8") as config:
            config.write("seeds:\n  jaffle_sample:\n    +schema: raw\n")
    else:
        fixtures = root / "tests" / "fixtures" / "raw"
        fixtures.mkdir(parents=True)
        for csv in (root / "seeds").glob("*.csv"):
            csv.rename(fixtures / csv.name)
    scaffold.apply(scaffold.plan(root, root))


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "two-workers"])
def test_seeds_stand_in_for_sources_that_name_their_schema(pytester: pytest.Pytester, workers: list[str]) -> None:
    _jaffle_shop_layout(pytester.path, seeds=True)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *workers, "tests/test_dbt_quality.py")

    result.assert_outcomes(passed=2)
    assert _ephemeral_leftovers(pytester.path) == []


def test_raw_fixtures_stand_in_for_sources_that_name_their_schema(pytester: pytest.Pytester) -> None:
    _jaffle_shop_layout(pytester.path, seeds=False)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests/test_dbt_quality.py")

    result.assert_outcomes(passed=2)
    assert _ephemeral_leftovers(pytester.path) == []


def test_a_literal_source_with_no_data_names_the_file_and_the_line_to_write(pytester: pytest.Pytester) -> None:
    _jaffle_shop_layout(pytester.path, seeds=False)
    (pytester.path / "tests" / "fixtures" / "raw" / "raw_orders.csv").unlink()

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests/test_dbt_quality.py")

    result.assert_outcomes(errors=2)
    output = " ".join(result.stdout.str().split())
    assert "source table(s) raw.raw_orders do not exist" in output
    assert (
        "in models/sources.yml, source 'ecom' (tables raw_orders): schema: \"{{ var('raw_schema', 'raw') }}\"" in output
    )
    assert "Traceback" not in output


def test_seeds_enabled_by_a_var_are_built_with_dbt_vars(pytester: pytest.Pytester) -> None:
    """dbt-labs/jaffle-shop switches its seeds on with a var that only the command line can set."""
    _jaffle_shop_layout(pytester.path, seeds=True)
    with (pytester.path / "dbt_project.yml").open("a", encoding="utf-8") as config:
        config.write("    +enabled: \"{{ var('load_source_data', false) }}\"\n")

    without = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests/test_dbt_quality.py")
    without.assert_outcomes(errors=2)
    assert "source table(s) raw.raw_customers, raw.raw_orders do not exist" in " ".join(without.stdout.str().split())

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--dbt-vars", "{load_source_data: true}", "tests/test_dbt_quality.py"
    )
    result.assert_outcomes(passed=2)
    assert _ephemeral_leftovers(pytester.path) == []
