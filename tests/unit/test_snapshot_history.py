"""Raw rows older than a snapshot's current versions in prod, found before the build (quality.wap.snapshot_history)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.engines.publish import PublishStep
from quality.wap.snapshot_history import find_backwards

STEP = PublishStep(
    unique_id="snapshot.shop.snap",
    kind="table",
    audit_schema="a_snapshots",
    name="snap",
    prod_schema="snapshots",
    prod_name="snap",
)


def manifest(parents: list[str], **config: Any) -> dict[str, Any]:
    snapshot = {
        "resource_type": "snapshot",
        "name": "snap",
        "config": {"strategy": "timestamp", "unique_key": "id", "updated_at": "updated_at", **config},
        "depends_on": {"nodes": ["model.shop.stg"]},
    }
    stg = {"resource_type": "model", "name": "stg", "depends_on": {"nodes": parents}}
    sources = {
        f"source.shop.raw.{name}": {"source_name": "raw", "name": name, "schema": "raw", "identifier": name}
        for name in ("customers", "accounts")
    }
    return {"nodes": {"snapshot.shop.snap": snapshot, "model.shop.stg": stg}, "sources": sources}


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    engine.execute("create schema raw; create schema snapshots")
    engine.execute(
        "create table raw.customers as select * from (values (1, '2025-01-01'), (2, '2026-06-01'), (3, '2024-01-01'))"
        " t(id, updated_at)"
    )
    engine.execute("create table raw.accounts as select 1 as id, '2020-01-01' as updated_at")
    engine.execute(
        "create table snapshots.snap as select * from (values (1, timestamp '2026-01-01', null), "
        "(2, timestamp '2026-01-01', null), (3, timestamp '2023-01-01', timestamp '2024-02-01'), "
        "(3, timestamp '2024-02-01', null)) t(id, dbt_updated_at, dbt_valid_to)"
    )
    yield engine
    engine.close()


def test_keys_whose_raw_updated_at_went_backwards_are_counted(engine: DuckDBEngine) -> None:
    (found,) = find_backwards(engine, manifest(["source.shop.raw.customers"]), [STEP])
    assert (found.snapshot, found.keys, found.compared, found.raw) == ("snap", 2, 3, "source('raw', 'customers')")
    assert found.describe().startswith("snapshot snap: for 2 of 3 id value(s), updated_at in the raw rows of")


@pytest.mark.parametrize(
    ("parents", "config"),
    [
        (["source.shop.raw.customers", "source.shop.raw.accounts"], {}),
        (["source.shop.raw.customers", "seed.shop.extra"], {}),
        (["source.shop.raw.customers"], {"strategy": "check"}),
        (["source.shop.raw.customers"], {"unique_key": "id || '-' || updated_at"}),
        (["source.shop.raw.customers"], {"updated_at": "changed_on"}),
    ],
    ids=["two-sources", "a-seed-on-the-way", "check-strategy", "key-expression", "column-not-in-raw"],
)
def test_a_snapshot_that_cannot_be_read_plainly_is_left_to_the_build(
    engine: DuckDBEngine, parents: list[str], config: dict[str, Any]
) -> None:
    assert find_backwards(engine, manifest(parents, **config), [STEP]) == []
