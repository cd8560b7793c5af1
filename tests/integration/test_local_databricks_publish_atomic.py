"""The Databricks publish in its atomic mode, run on the local Databricks SQL endpoint (Spark SQL on Sail,
real connector): prod tables with catalog commits (`'delta.feature.catalogManaged' = 'supported'`, which
the endpoint reports in DESCRIBE DETAIL), DDL before the block, one `BEGIN ATOMIC ... END` with every
table write and the record's `published`, executed statement by statement by the endpoint all-or-nothing;
a failing block undone (a NOT NULL that dbt-databricks set after its CTAS, broken by the audited rows); a
crash (`os._exit` in a child process) at each atomic step leaving prod and record consistent, and
`quality rollback` restoring exactly.

What this proves: our SQL runs on Spark SQL and our sequence holds against an engine that applies the block
all-or-nothing. What it cannot: Databricks' isolation (here other sessions see the block's writes while it
runs) and its commit protocol; tests/unit/test_publish_atomic.py keeps the statement-by-statement checks
and the detection fallbacks against a recording fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.engines import run_log
from quality.engines.databricks import DatabricksEngine
from quality.engines.publish import ATOMIC, MERGE, MODE_ENV, REPLACE, Published, PublishStep, publish
from quality.errors import PublishError
from quality.interrupts import CRASH_EXIT
from tests.integration.local_databricks import on_local_endpoint
from tests.integration.test_local_databricks_publish_crash import Prod, _run_id, endpoint, engine

pytestmark = on_local_endpoint("local_databricks_publish_atomic")

ATOMIC_CRASH_POINTS = [
    "publish_after_record",
    "publish_after_new_tables",
    "publish_after_views",
    "publish_after_atomic_block",
]

# The crash tests' module fixtures, built again for this module: an endpoint of its own (its own warehouse: a
# catalog-managed record table) and an engine on it.
__all__ = ["endpoint", "engine"]


class AtomicProd(Prod):
    """Prod published once in the atomic mode (forced, as a first publish must be: the harness never turns
    catalog commits on by itself), so its tables have catalog commits; the next batch adds a new model."""

    new_model = False
    first_run = ""

    def steps(self) -> list[PublishStep]:
        refunds = PublishStep("model.p.refunds", "table", self.audit, "refunds", self.prod, "refunds")
        return [*super().steps(), *([refunds] if self.new_model else [])]

    def next_batch(self) -> None:
        super().next_batch()
        self.sql(f"create table {self.ref(self.audit, 'refunds')} (refund_id bigint, amount int) using delta")
        self.sql(f"insert into {self.ref(self.audit, 'refunds')} values (1, 5)")
        self.new_model = True

    def publish(self, run_id: str) -> Published:
        return publish(self.engine, self.steps(), self.schema_map, record=(run_id, self.target))

    def versions(self) -> dict[str, int]:
        return self.engine.table_versions(self.prod)


@pytest.fixture
def prod(engine: DatabricksEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AtomicProd]:
    prod = AtomicProd(engine, tmp_path / "runs")
    with monkeypatch.context() as patch:
        patch.setenv(MODE_ENV, "atomic")
        prod.first_run = _run_id(1)
        first = prod.publish(prod.first_run)
    assert first.mode == ATOMIC, first.reason
    yield prod
    prod.drop()


def test_a_catalog_managed_prod_publishes_in_one_atomic_block_with_its_record(prod: AtomicProd) -> None:
    for name in ("orders", "stores"):
        assert "catalogManaged" in prod.engine.table_features(prod.prod, name)
    assert "catalogManaged" in prod.engine.table_features(run_log.LOG_SCHEMA, run_log.LOG_TABLE)
    prod.next_batch()
    second = _run_id(2)

    done = prod.publish(second)

    assert done.mode == ATOMIC
    assert done.reason.startswith("SQL warehouse, and all 3 existing table(s) written"), done.reason
    steps = {step.prod_name: step for step in done}
    assert (steps["orders"].method, steps["orders"].merged_inserted, steps["orders"].merged_updated) == (MERGE, 1, 1)
    assert (steps["stores"].method, steps["refunds"].method, steps["refunds"].existed) == (REPLACE, REPLACE, False)
    state = prod.state()
    assert [row["amount"] for row in state["orders"][2]] == [10, 21, 30, 40]
    assert state["stores"][2] == [{"store_id": 1, "city": "Madrid"}]
    assert state["refunds"][2] == [{"refund_id": 1, "amount": 5}]
    assert state["big_orders"][1] == ["order_id", "amount"], "the view as audited"
    assert prod.engine.query(f"describe history {prod.ref(prod.prod, 'orders')} limit 1")[0][3] == "MERGE"
    assert "catalogManaged" in prod.engine.table_features(prod.prod, "refunds"), "a new table gets catalog commits"
    assert prod.records() == [(prod.first_run, "published"), (second, "published")]
    record = run_log.read(prod.engine, second)
    assert record is not None
    versions = prod.versions()
    for step in record["steps"]:
        assert step["mode"] == ATOMIC
        if step["kind"] == "table":
            assert step["published_version"] == versions[step["prod_name"]]


def test_a_block_that_fails_changes_no_table_and_the_ddl_before_it_is_undone(prod: AtomicProd) -> None:
    prod.sql(f"alter table {prod.ref(prod.prod, 'stores')} alter column city set not null")  # as dbt-databricks
    prod.next_batch()
    prod.sql(f"insert into {prod.ref(prod.audit, 'stores')} values (3, null)")
    before, versions = prod.state(), prod.versions()

    with pytest.raises(PublishError) as failed:
        prod.publish(_run_id(2))

    message = str(failed.value)
    assert "[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint violated for column: city." in message
    assert "The transaction (BEGIN ATOMIC) rolled back, so no table changed; 1 new table(s) dropped" in message
    assert prod.state() == before, "orders' MERGE and stores' DELETE ran in the block, and were undone"
    assert prod.versions() == versions, "no Delta version left behind"
    assert prod.records() == [(prod.first_run, "published")], "a publish that never happened leaves no row"


@pytest.mark.parametrize("crash_at", ATOMIC_CRASH_POINTS)
def test_a_crash_at_any_atomic_step_leaves_prod_and_record_consistent_and_rollback_exact(
    prod: AtomicProd, crash_at: str
) -> None:
    before = prod.state()
    prod.next_batch()
    second = _run_id(2)

    crashed = prod.publish_in_child(second, crash_at)

    assert crashed.returncode == CRASH_EXIT, crashed.stdout + crashed.stderr
    tables = {name: value for name, value in prod.state().items() if value[0] == "table" and name != "refunds"}
    old_tables = {name: value for name, value in before.items() if value[0] == "table"}
    if crash_at == "publish_after_atomic_block":
        assert prod.records() == [(prod.first_run, "published"), (second, "published")], "committed together"
        assert tables != old_tables
    else:
        assert prod.records() == [(prod.first_run, "published"), (second, "publishing")]
        assert tables == old_tables, "the block never ran: every table as before"
        with pytest.raises(PublishError, match=rf"unfinished run\(s\): {second} \(publishing\)"):
            prod.publish(_run_id(3))

    prod.rollback(second)

    after = prod.state()
    if crash_at == "publish_after_atomic_block":  # a finished publish: tables back, views stay as published
        after.pop("big_orders")
        before.pop("big_orders")
    assert after == before, "rollback restores the recorded versions exactly (and drops the new table)"
    assert prod.records() == [(prod.first_run, "published"), (second, "rolled_back")]
    assert prod.publish(_run_id(4)).mode == ATOMIC, "the gate publishes again, atomically"
