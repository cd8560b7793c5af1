"""The retail project's own tests through the plugin's fixtures, as `quality init` writes them for a user of a
dbt project (`tests/test_dbt_quality.py`): the session's one shared build, its dbt tests, each model's Great
Expectations suite and the invariants the project implies, on the raw fixtures in an ephemeral schema."""

from __future__ import annotations

import pytest

from quality.dbt.runner import DbtRun
from quality.harness.gx_fixture import GxValidator

pytestmark = pytest.mark.integration

# Every model with an expectation suite in its YAML (`meta.quality.expectations`), one test each.
SUITES = ["dim_customers", "dim_date", "dim_products", "dim_stores", "fct_daily_sales", "fct_order_lines", "fct_orders"]


def test_the_project_builds_and_its_dbt_tests_pass(dbt_build: DbtRun) -> None:
    assert dbt_build.success
    assert dbt_build.failed == []


def test_every_suite_is_checked_here(dbt_build: DbtRun, gx: GxValidator) -> None:
    from quality.expectations.spec import check_suites

    assert sorted(suite.name for suite in check_suites(gx.manifest())) == SUITES


# Under -n 2 (`--dist loadgroup`) the validations share one worker with the `tag:ci` lane (test_ci_lane.py),
# which reads no shared build: that worker runs the lane while the other builds the project, imports Great
# Expectations while it waits for that build if the lane ends first (the plugin does it in the wait), and is
# the only one to import it (seconds of CPU, more than all seven validations take).
# bench/bench_xdist_project.py measures it.
@pytest.mark.xdist_group("retail_validation")
@pytest.mark.parametrize("model", SUITES)
def test_the_model_holds_its_expectations(dbt_build: DbtRun, gx: GxValidator, model: str) -> None:
    gx.assert_valid(model)


def test_the_invariants_hold(invariants: object) -> None:
    assert invariants.ok, invariants.describe()  # type: ignore[attr-defined]
