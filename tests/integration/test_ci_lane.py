"""The fast `tag:ci` lane of the PR workflow: staging, dimensions, seeds and snapshots build and test alone,
through the plugin's per-worker fixtures (`dbt` writes), on the embedded engine in an ephemeral schema (as the
README shows)."""

from __future__ import annotations

from collections import Counter

import pytest

from quality.dbt.runner import DbtInvoker

# Under -n 2 the lane runs on the worker that then validates the shared build's models, while the other
# worker builds (test_retail_models.py says why).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("retail_validation")]

# Everything tagged `ci` (dbt_project.yml): no intermediate model and no fact.
CI_SUBSET = [
    ("model", "dim_customers"),
    ("model", "dim_date"),
    ("model", "dim_products"),
    ("model", "dim_stores"),
    ("model", "stg_customers"),
    ("model", "stg_order_lines"),
    ("model", "stg_orders"),
    ("model", "stg_payments"),
    ("model", "stg_products"),
    ("model", "stg_stores"),
    ("seed", "payment_methods"),
    ("snapshot", "snap_customers"),
    ("unit_test", "dim_customers_scd2_validity_intervals"),
    ("unit_test", "dim_customers_surrogate_key_is_stable_per_version"),
]


def test_the_ci_subset_builds_alone_and_every_test_of_it_passes(
    dbt: DbtInvoker, worker_seed_fixtures: dict[str, int]
) -> None:
    run = dbt.run(["build", "--select", "tag:ci"], expect_pass=False)

    assert run.failed == [], [f"{node.name}: {node.message}" for node in run.failed]
    assert sorted((n.resource_type, n.name) for n in run.nodes if n.resource_type != "test") == CI_SUBSET
    tests = Counter(node.status for node in run.nodes if node.resource_type == "test")
    assert list(tests) == ["pass"], tests
