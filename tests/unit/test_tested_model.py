"""A failing test or unit test is reported on the model it checks, never on one of its inputs."""

from __future__ import annotations

from types import SimpleNamespace

from quality.dbt.runner import _tested_model


def test_a_unit_test_is_reported_on_its_tested_model_not_on_a_given_input() -> None:
    # The reported case: `dim_customers_scd2_validity_intervals` was named "on model snap_customers", its
    # given input, the one model among the unit test node's dependencies.
    node = SimpleNamespace(
        tested_node_unique_id="model.retail.dim_customers",
        attached_node=None,
        depends_on=SimpleNamespace(nodes=["model.retail.snap_customers"]),
    )

    assert _tested_model(node) == "dim_customers"


def test_a_data_test_is_reported_on_its_attached_model() -> None:
    node = SimpleNamespace(attached_node="model.retail.fct_orders", depends_on=SimpleNamespace(nodes=[]))

    assert _tested_model(node) == "fct_orders"


def test_a_singular_test_over_several_models_names_none() -> None:
    node = SimpleNamespace(
        attached_node=None,
        depends_on=SimpleNamespace(nodes=["model.retail.fct_orders", "model.retail.fct_order_lines"]),
    )

    assert _tested_model(node) is None
