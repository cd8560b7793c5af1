"""The warehouse's publish record (`quality.publish_log`): written and marked inside the caller's
transaction, so a transaction that does not commit leaves no trace of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.engines import run_log
from quality.engines.duckdb import DuckDBEngine

STEPS = [{"prod_schema": "marts", "prod_name": "fct_orders", "rows": 3}]


@pytest.fixture
def engine(tmp_path: Path) -> DuckDBEngine:
    return DuckDBEngine(tmp_path / "prod.duckdb")


def _publish_then_fail(engine: DuckDBEngine, run_id: str) -> None:
    with engine.transaction():
        run_log.record_publish(engine, run_id, "local", STEPS)
        raise RuntimeError("crash before commit")


def test_a_publish_row_reads_back_with_its_steps(engine: DuckDBEngine) -> None:
    with engine.transaction():
        run_log.record_publish(engine, "20261130t150000_aaaaaa", "local", STEPS)

    record = run_log.read(engine, "20261130t150000_aaaaaa")

    assert record is not None
    assert (record["target"], record["steps"], record["status"], record["rolled_back_at"]) == (
        "local",
        STEPS,
        "published",
        None,
    )


def test_a_transaction_that_does_not_commit_leaves_no_row(engine: DuckDBEngine) -> None:
    with engine.transaction():
        run_log.record_publish(engine, "20261130t150000_aaaaaa", "local", STEPS)
    with pytest.raises(RuntimeError, match="crash before commit"):
        _publish_then_fail(engine, "20261130t160000_bbbbbb")

    assert [record["run_id"] for record in run_log.records(engine, "local")] == ["20261130t150000_aaaaaa"]


def test_marking_a_rollback_sets_status_and_time_for_that_run_only(engine: DuckDBEngine) -> None:
    with engine.transaction():
        run_log.record_publish(engine, "20261130t150000_aaaaaa", "local", STEPS)
        run_log.record_publish(engine, "20261130t160000_bbbbbb", "local", STEPS)
    with engine.transaction():
        run_log.mark_rolled_back(engine, "20261130t160000_bbbbbb")

    records = run_log.records(engine, "local")

    assert [(r["run_id"], r["status"]) for r in records] == [
        ("20261130t150000_aaaaaa", "published"),
        ("20261130t160000_bbbbbb", "rolled_back"),
    ]
    assert records[1]["rolled_back_at"] is not None


def test_a_warehouse_without_the_table_has_no_records(engine: DuckDBEngine) -> None:
    assert (run_log.read(engine, "20261130t150000_aaaaaa"), run_log.records(engine, "local")) == (None, [])
    run_log.mark_rolled_back(engine, "20261130t150000_aaaaaa")  # nothing to mark, and nothing created
    assert run_log.LOG_SCHEMA not in engine.list_schemas()


class _Databricks:
    """Just enough of the Databricks engine to render run_log's statements."""

    name = "databricks"

    def relation_ref(self, schema: str, name: str) -> str:
        return f"`main`.`{schema}`.`{name}`"


def test_the_atomic_blocks_update_inlines_its_values_as_escaped_databricks_literals() -> None:
    steps = [{"prod_name": "it's", "note": "C:\\x"}]

    statement = run_log.published_statement(_Databricks(), "20261130t150000_aaaaaa", steps)  # type: ignore[arg-type]

    assert statement == (
        "UPDATE `main`.`quality`.`publish_log` SET status = 'published', "
        """steps = '[{"prod_name": "it\\'s", "note": "C:\\\\\\\\x"}]' WHERE run_id = '20261130t150000_aaaaaa'"""
    )


def test_databricks_keeps_the_record_too_and_knows_unfinished_statuses() -> None:
    assert run_log.kept_in(_Databricks()) is True  # type: ignore[arg-type]
    assert {"publishing", "rolling_back"} == run_log.UNFINISHED
