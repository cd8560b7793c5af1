"""The Databricks publish (clone-with-undo mode) against the local Databricks SQL endpoint: its record in
the Delta table `quality.publish_log`, an incremental model published by MERGE of its change, and a crash
(`os._exit`, QUALITY_TEST_CRASH_AT) at every step of a publish and of a rollback leaving prod and record
consistent, with `quality rollback`'s code restoring exactly.

The tables here are made without catalog commits (DESCRIBE DETAIL lists no `catalogManaged`), so every
publish takes the clone-with-undo mode, as it says; the atomic mode runs on the endpoint in
tests/integration/test_local_databricks_publish_atomic.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.emulator.endpoint import LocalEndpoint
from quality.engines import run_log
from quality.engines.databricks import DatabricksEngine
from quality.engines.factory import open_engine
from quality.engines.publish import CLONE_WITH_UNDO, MERGE, REPLACE, PublishStep, publish
from quality.errors import PublishError
from quality.interrupts import CRASH_ENV, CRASH_EXIT
from quality.wap.rollback import rollback_run
from quality.wap.smoke import published_row_counts
from tests.integration.local_databricks import on_local_endpoint, running_endpoint, unique_schema

pytestmark = on_local_endpoint("local_databricks_publish_crash")

ROOT = Path(__file__).resolve().parents[2]
PUBLISH_CRASH_POINTS = ["publish_after_record", "publish_after_first_table", "publish_before_record"]
ROLLBACK_CRASH_POINTS = ["rollback_after_record", "rollback_before_record"]

# A child process that publishes the steps given as JSON with the run's record, as the gate does.
CHILD = """
import json, sys
from quality.engines.factory import open_engine
from quality.engines.publish import PublishStep, publish
from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from pathlib import Path
args = json.loads(sys.argv[1])
engine = open_engine(resolve_target(load_project(Path(args["root"]) / "dbt"), "local_databricks"))
steps = [PublishStep(**step) for step in args["steps"]]
publish(engine, steps, args["schema_map"], record=(args["run_id"], args["target"]))
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    """An endpoint of the module's own, this process with every DATABRICKS_* variable of it."""
    with running_endpoint(all_variables=True) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def engine(endpoint: LocalEndpoint) -> Iterator[DatabricksEngine]:
    """The engine of the real project's local_databricks target, on the module's endpoint."""
    engine = open_engine(resolve_target(load_project(ROOT / "dbt"), "local_databricks"))
    assert isinstance(engine, DatabricksEngine)
    yield engine
    engine.close()


class Prod:
    """An audit schema (orders: incremental with key order_id; stores: a table; a view) and its prod."""

    def __init__(self, engine: DatabricksEngine, runs: Path) -> None:
        self.engine = engine
        self.audit, self.prod = unique_schema("audit"), unique_schema("prod")
        self.target = f"crash_{uuid.uuid4().hex[:8]}"  # the record's rows of this test only
        self.runs = runs
        engine.create_schema(self.audit)
        self.sql(
            f"create table {self.ref(self.audit, 'orders')} (order_id bigint, amount int, note string) using delta"
        )
        self.sql(f"insert into {self.ref(self.audit, 'orders')} values (1, 10, 'a'), (2, 20, null), (3, 30, 'c')")
        self.sql(f"create table {self.ref(self.audit, 'stores')} (store_id bigint, city string) using delta")
        self.sql(f"insert into {self.ref(self.audit, 'stores')} values (1, 'Madrid'), (2, 'Lyon')")
        self.sql(
            f"create view {self.ref(self.audit, 'big_orders')} as select order_id from "
            f"{self.ref(self.audit, 'orders')} where amount > 15"
        )

    def ref(self, schema: str, name: str) -> str:
        return self.engine.relation_ref(schema, name)

    def sql(self, statement: str) -> None:
        self.engine.execute(statement)

    @property
    def schema_map(self) -> dict[str, str]:
        return {self.audit: self.prod}

    def steps(self) -> list[PublishStep]:
        return [
            PublishStep("model.p.orders", "table", self.audit, "orders", self.prod, "orders", merge_key=["order_id"]),
            PublishStep("model.p.stores", "table", self.audit, "stores", self.prod, "stores"),
            PublishStep("model.p.big_orders", "view", self.audit, "big_orders", self.prod, "big_orders"),
        ]

    def next_batch(self) -> None:
        """What an incremental run leaves in the audit schema: one order changed, one new; stores rebuilt."""
        self.sql(f"update {self.ref(self.audit, 'orders')} set amount = 21 where order_id = 2")
        self.sql(f"insert into {self.ref(self.audit, 'orders')} values (4, 40, 'd')")
        self.sql(f"delete from {self.ref(self.audit, 'stores')} where store_id = 2")
        self.sql(
            f"create or replace view {self.ref(self.audit, 'big_orders')} as select order_id, amount from "
            f"{self.ref(self.audit, 'orders')} where amount > 25"
        )

    def publish(self, run_id: str) -> list[PublishStep]:
        return publish(self.engine, self.steps(), self.schema_map, record=(run_id, self.target))

    def publish_then_next_batch(self, run_id: str) -> dict[str, Any]:
        """Publish the batch as run_id and stage the next one; returns prod's state after the publish."""
        self.publish(run_id)
        before = self.state()
        self.next_batch()
        return before

    def publish_in_child(self, run_id: str, crash_at: str) -> subprocess.CompletedProcess[str]:
        args = {
            "root": str(ROOT),
            "steps": [step.as_dict() for step in self.steps()],
            "schema_map": self.schema_map,
            "run_id": run_id,
            "target": self.target,
        }
        env = {**os.environ, CRASH_ENV: crash_at}
        command = [sys.executable, "-c", CHILD, json.dumps(args)]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)

    def state(self) -> dict[str, Any]:
        """Every prod relation: a table's rows, a view's rows and columns."""
        relations = dict(self.engine.list_relations(self.prod))
        state: dict[str, Any] = {}
        for name in sorted(relations):
            result = self.engine.fetch_arrow(f"select * from {self.ref(self.prod, name)} order by 1")
            state[name] = (relations[name], result.column_names, result.to_pylist())
        return state

    def records(self) -> list[tuple[str, str]]:
        return [(r["run_id"], r["status"]) for r in run_log.records(self.engine, self.target)]

    def rollback(self, run_id: str) -> list[str]:
        return rollback_run(self.engine, self.runs / run_id, target=self.target)

    def rollback_in_child(self, run_id: str, crash_at: str) -> subprocess.CompletedProcess[str]:
        code = (
            "import sys; from pathlib import Path; from quality.engines.factory import open_engine; "
            "from quality.dbt.project import load_project; from quality.dbt.targets import resolve_target; "
            "from quality.wap.rollback import rollback_run; "
            f"engine = open_engine(resolve_target(load_project(Path({str(ROOT)!r}) / 'dbt'), 'local_databricks')); "
            f"rollback_run(engine, Path({str(self.runs / run_id)!r}), target={self.target!r})"
        )
        env = {**os.environ, CRASH_ENV: crash_at}
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    def drop(self) -> None:
        for schema in (self.audit, self.prod):
            self.engine.drop_schema(schema)


@pytest.fixture
def prod(engine: DatabricksEngine, tmp_path: Path) -> Iterator[Prod]:
    prod = Prod(engine, tmp_path / "runs")
    yield prod
    prod.drop()


def _run_id(n: int) -> str:
    return f"20261130t12000{n}_{uuid.uuid4().hex[:6]}"


def test_a_publish_writes_its_record_in_the_delta_log_table_and_merges_the_incremental_change(prod: Prod) -> None:
    first, second = _run_id(1), _run_id(2)
    done = prod.publish(first)
    assert (done.mode, [step.method for step in done if step.kind == "table"]) == (CLONE_WITH_UNDO, [REPLACE] * 2)
    assert "no catalog commits" in done.reason or "no prod table exists yet" in done.reason
    prod.next_batch()

    done = prod.publish(second)

    assert "no catalog commits (DESCRIBE DETAIL tableFeatures" in done.reason
    orders = next(step for step in done if step.prod_name == "orders")
    assert (orders.method, orders.merged_inserted, orders.merged_updated, orders.rows) == (MERGE, 1, 1, 4)
    assert prod.state()["orders"][2] == [
        {"order_id": 1, "amount": 10, "note": "a"},
        {"order_id": 2, "amount": 21, "note": None},
        {"order_id": 3, "amount": 30, "note": "c"},
        {"order_id": 4, "amount": 40, "note": "d"},
    ]
    history = prod.engine.query(f"describe history {prod.ref(prod.prod, 'orders')}")
    assert history[0][3] == "MERGE", "the incremental model's publish is one MERGE commit, not a copy"
    assert prod.records() == [(first, "published"), (second, "published")]
    record = run_log.read(prod.engine, second)
    assert record is not None
    assert {s["prod_name"]: s["mode"] for s in record["steps"]} == dict.fromkeys(
        ["orders", "stores", "big_orders"], CLONE_WITH_UNDO
    )
    assert published_row_counts(prod.target, prod.runs, engine=prod.engine) == {
        f"{prod.prod}.orders": 4,
        f"{prod.prod}.stores": 1,
    }


def test_a_full_refresh_that_lost_rows_is_published_whole_and_says_why(prod: Prod) -> None:
    prod.publish(_run_id(1))
    prod.sql(f"delete from {prod.ref(prod.audit, 'orders')} where order_id = 1")

    done = prod.publish(_run_id(2))

    orders = next(step for step in done if step.prod_name == "orders")
    assert orders.method == REPLACE
    assert orders.method_note is not None
    assert "lacks 1 row(s) prod has" in orders.method_note
    assert [row["order_id"] for row in prod.state()["orders"][2]] == [2, 3]


@pytest.mark.parametrize("crash_at", PUBLISH_CRASH_POINTS)
def test_a_crash_at_any_publish_step_leaves_a_publishing_record_and_rollback_restores_exactly(
    prod: Prod, crash_at: str
) -> None:
    first, second = _run_id(1), _run_id(2)
    before = prod.publish_then_next_batch(first)

    crashed = prod.publish_in_child(second, crash_at)

    assert crashed.returncode == CRASH_EXIT, crashed.stdout + crashed.stderr
    assert prod.records() == [(first, "published"), (second, "publishing")]
    if crash_at == "publish_after_record":
        assert prod.state() == before, "nothing changed before the first clone"
    with pytest.raises(PublishError, match=rf"unfinished run\(s\): {second} \(publishing\).*quality rollback"):
        prod.publish(_run_id(3))
    assert prod.records() == [(first, "published"), (second, "publishing")], "the refused gate left no row"

    restored = prod.rollback(second)

    assert restored == [f"{prod.prod}.orders", f"{prod.prod}.stores"]
    assert prod.state() == before, "tables and views exactly as after the first publish"
    assert prod.records() == [(first, "published"), (second, "rolled_back")]
    prod.publish(_run_id(4))  # the gate publishes again


@pytest.mark.parametrize("crash_at", ROLLBACK_CRASH_POINTS)
def test_a_crash_during_a_rollback_leaves_a_rolling_back_record_that_the_next_rollback_finishes(
    prod: Prod, crash_at: str
) -> None:
    first, second = _run_id(1), _run_id(2)
    before = prod.publish_then_next_batch(first)
    prod.publish(second)

    crashed = prod.rollback_in_child(second, crash_at)

    assert crashed.returncode == CRASH_EXIT, crashed.stdout + crashed.stderr
    assert prod.records() == [(first, "published"), (second, "rolling_back")]
    assert prod.rollback(second) == [f"{prod.prod}.orders", f"{prod.prod}.stores"]
    tables = {name: value for name, value in prod.state().items() if value[0] == "table"}
    assert tables == {name: value for name, value in before.items() if value[0] == "table"}
    assert prod.records() == [(first, "published"), (second, "rolled_back")]


def test_a_publish_that_fails_is_undone_and_leaves_no_record_row(prod: Prod) -> None:
    first = _run_id(1)
    before = prod.publish_then_next_batch(first)
    broken = [*prod.steps(), PublishStep("model.p.gone", "table", prod.audit, "gone", prod.prod, "gone")]

    with pytest.raises(PublishError, match="Nothing stays published"):
        publish(prod.engine, broken, prod.schema_map, record=(_run_id(2), prod.target))

    assert prod.state() == before
    assert prod.records() == [(first, "published")]
