"""`pytest -m prod_smoke`: read-only checks of the deployed target (default: the local prod of `quality gate`).

Run after a deployment: `uv run pytest -m prod_smoke tests/smoke [--dbt-target prod]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quality.dbt.targets import Target
from quality.engines.base import Engine
from quality.engines.read_only import ReadOnlyEngine, ReadOnlyError
from quality.wap.smoke import (
    actual_columns,
    contract_problems,
    contracted_models,
    count_rows,
    published_row_counts,
    row_count_problems,
)

pytestmark = pytest.mark.prod_smoke


def _relation(manifest: dict[str, Any], engine: Engine, name: str) -> str:
    node = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name)
    return engine.relation_ref(node["schema"], node["alias"])


def _source(manifest: dict[str, Any], engine: Engine, table: str) -> str:
    source = next(s for s in manifest["sources"].values() if s["name"] == table)
    return engine.relation_ref(source["schema"], source["identifier"])


def test_every_mart_exists_with_its_contract_columns(prod_engine: Engine, prod_manifest: dict[str, Any]) -> None:
    marts = contracted_models(prod_manifest)
    assert {m.name for m in marts} >= {"dim_customers", "dim_products", "dim_stores", "dim_date", "fct_orders"}
    problems = [p for m in marts for p in contract_problems(m, actual_columns(prod_engine, m.schema, m.alias))]
    assert problems == [], "\n".join(problems)


def test_the_smoke_connection_refuses_writes_without_sending_them(
    prod_engine: Engine, prod_manifest: dict[str, Any]
) -> None:
    # Refused by the client-side guard (ReadOnlyError is raised before the statement reaches the connection;
    # tests/unit/test_read_only.py records the connection to prove it), never by attempting the write.
    assert isinstance(prod_engine, ReadOnlyEngine)
    with pytest.raises(ReadOnlyError, match=r"^refused a DELETE statement on the read-only connection .+ not sent"):
        prod_engine.execute(f"delete from {_relation(prod_manifest, prod_engine, 'fct_orders')}")


def test_facts_are_as_fresh_as_their_sources(prod_engine: Engine, prod_manifest: dict[str, Any]) -> None:
    newest_fact = prod_engine.query(
        f"select max(updated_at) from {_relation(prod_manifest, prod_engine, 'fct_orders')}"
    )
    newest_raw = prod_engine.query(f"select max(updated_at) from {_source(prod_manifest, prod_engine, 'orders')}")
    assert newest_fact[0][0] is not None, "fct_orders is empty in prod"
    assert newest_fact[0][0] >= newest_raw[0][0], (
        f"fct_orders is stale: newest update {newest_fact[0][0]} but raw orders have {newest_raw[0][0]}; "
        "run the gate (quality gate) to publish the latest data"
    )


def test_row_counts_match_the_last_publish_and_stay_within_bounds_of_the_one_before(
    prod_engine: Engine, dbt_target: Target, runs_dir: Path, pytestconfig: pytest.Config
) -> None:
    last = published_row_counts(dbt_target.name, runs_dir, engine=prod_engine)
    if not last:
        pytest.skip(f"no publish record for target {dbt_target.name} under {runs_dir}")
    current = count_rows(prod_engine, list(last))
    assert row_count_problems(current, last, tolerance=0.0) == []
    before = published_row_counts(dbt_target.name, runs_dir, back=1, engine=prod_engine)
    tolerance = pytestconfig.getoption("--smoke-row-tolerance")
    assert row_count_problems(current, before, tolerance=tolerance) == []


def test_key_expectations_hold_in_prod(prod_engine: Engine, prod_manifest: dict[str, Any]) -> None:
    from quality.expectations.report import format_failures
    from quality.expectations.spec import check_suites
    from quality.expectations.validate import validate_models

    suites = [s for s in check_suites(prod_manifest) if s.name in {"fct_orders", "fct_order_lines", "dim_customers"}]
    report = validate_models(suites, prod_manifest, prod_engine, data_docs_dir=None, run_name="prod_smoke")
    assert report.ok, format_failures(report)
