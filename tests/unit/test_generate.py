"""The raw data generator: deterministic, at scale, referentially sound, with exact anomaly counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quality.commands.generate import write_fixtures
from quality.engines.duckdb import DuckDBEngine
from quality.harness.generate import (
    BATCH_ONE_LOADED_AT,
    DEFAULT_BATCH_TWO_AT,
    NEXT_STATUS,
    PAYMENT_METHODS,
    RAW_TABLES,
    RawScale,
    apply_anomalies,
    generate_raw,
    iter_raw_chunks,
    load_generated,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BATCH_TWO = pd.Timestamp(DEFAULT_BATCH_TWO_AT)


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    return generate_raw(2_000, seed=7)


@pytest.fixture(scope="module")
def batch_two(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return apply_anomalies(raw, late_updates=0.1, customer_changes=0.25, seed=7)


def test_same_seed_gives_identical_tables() -> None:
    first, second = generate_raw(500, seed=3), generate_raw(500, seed=3)
    for name in RAW_TABLES:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_another_seed_gives_other_orders() -> None:
    first, other = generate_raw(500, seed=3), generate_raw(500, seed=4)
    assert not first["orders"]["customer_id"].equals(other["orders"]["customer_id"])


def test_anomalies_are_deterministic(raw: dict[str, pd.DataFrame], batch_two: dict[str, pd.DataFrame]) -> None:
    again = apply_anomalies(raw, late_updates=0.1, customer_changes=0.25, seed=7)
    for name in RAW_TABLES:
        pd.testing.assert_frame_equal(again[name], batch_two[name])


def test_scale_follows_the_order_count(raw: dict[str, pd.DataFrame]) -> None:
    assert RawScale.for_orders(2_000) == RawScale(orders=2_000, customers=200, stores=50, products=666)
    assert RawScale.for_orders(10_000_000) == RawScale(10_000_000, 1_000_000, 50, 1_000)
    assert {name: len(frame) for name, frame in raw.items() if name in ("stores", "products", "customers")} == {
        "stores": 50,
        "products": 666,
        "customers": 200,
    }
    assert len(raw["orders"]) == 2_000
    lines_per_order = len(raw["order_lines"]) / len(raw["orders"])
    assert 2.8 < lines_per_order < 3.2


def test_chunks_continue_ids_across_chunk_boundaries() -> None:
    chunks = list(iter_raw_chunks(25, seed=1, chunk_orders=10))
    assert [name for name, _ in chunks[:3]] == ["stores", "products", "customers"]
    assert [name for name, _ in chunks[3:]] == ["orders", "order_lines", "payments"] * 3
    lines = pd.concat([frame for name, frame in chunks if name == "order_lines"], ignore_index=True)
    payments = pd.concat([frame for name, frame in chunks if name == "payments"], ignore_index=True)
    orders = pd.concat([frame for name, frame in chunks if name == "orders"], ignore_index=True)
    assert orders["order_id"].tolist() == list(range(1, 26))
    assert lines["order_line_id"].tolist() == list(range(1, len(lines) + 1))
    assert payments["payment_id"].tolist() == list(range(1, len(payments) + 1))


def test_every_table_has_unique_keys_and_load_columns(raw: dict[str, pd.DataFrame]) -> None:
    keys = {
        "stores": "store_id",
        "products": "product_id",
        "customers": "customer_id",
        "orders": "order_id",
        "order_lines": "order_line_id",
        "payments": "payment_id",
    }
    for name, key in keys.items():
        frame = raw[name]
        assert frame[key].is_unique, name
        assert {"updated_at", "_loaded_at"} <= set(frame.columns), name
        assert (frame["_loaded_at"] == pd.Timestamp(BATCH_ONE_LOADED_AT)).all(), name
        assert (frame["updated_at"] < frame["_loaded_at"]).all(), name


def test_foreign_keys_resolve(raw: dict[str, pd.DataFrame]) -> None:
    orders, lines, payments = raw["orders"], raw["order_lines"], raw["payments"]
    assert orders["customer_id"].isin(raw["customers"]["customer_id"]).all()
    assert orders["store_id"].isin(raw["stores"]["store_id"]).all()
    assert lines["order_id"].isin(orders["order_id"]).all()
    assert lines["product_id"].isin(raw["products"]["product_id"]).all()
    assert payments["order_id"].isin(orders["order_id"]).all()
    assert orders["order_id"].isin(lines["order_id"]).all()
    assert orders["order_id"].isin(payments["order_id"]).all()
    assert set(payments["payment_method"]) <= set(PAYMENT_METHODS)


def test_orders_follow_their_customers_sign_up(raw: dict[str, pd.DataFrame]) -> None:
    signed_up = raw["orders"]["customer_id"].map(raw["customers"].set_index("customer_id")["created_at"])
    assert (raw["orders"]["ordered_at"] >= signed_up).all()


def test_line_numbers_count_from_one_per_order(raw: dict[str, pd.DataFrame]) -> None:
    lines = raw["order_lines"]
    expected = lines.groupby("order_id").cumcount() + 1
    assert lines["line_number"].tolist() == expected.tolist()


def test_payments_add_up_to_order_totals(raw: dict[str, pd.DataFrame]) -> None:
    lines = raw["order_lines"]
    net_cents = np.rint((lines["quantity"] * lines["unit_price"] - lines["discount_amount"]) * 100)
    line_totals = net_cents.groupby(lines["order_id"]).sum()
    orders = raw["orders"].set_index("order_id")
    order_totals = line_totals + np.rint(orders["shipping_amount"] * 100)
    paid = np.rint(raw["payments"].groupby("order_id")["amount"].sum() * 100)
    assert (paid == order_totals).all()
    refunded_orders = raw["payments"].loc[raw["payments"]["payment_status"] == "refunded", "order_id"]
    assert set(refunded_orders) == set(orders.index[orders["status"] == "cancelled"])


def test_late_updates_change_exactly_the_requested_fraction(
    raw: dict[str, pd.DataFrame], batch_two: dict[str, pd.DataFrame]
) -> None:
    before = raw["orders"].set_index("order_id")
    after = batch_two["orders"].set_index("order_id")
    changed = after.loc[before.index, "updated_at"] != before["updated_at"]
    assert changed.sum() == 200
    assert (after.loc[before.index[changed], "_loaded_at"] == BATCH_TWO).all()
    assert (after.loc[before.index[~changed], "_loaded_at"] == pd.Timestamp(BATCH_ONE_LOADED_AT)).all()
    expected_status = before.loc[changed, "status"].map(NEXT_STATUS)
    assert after.loc[before.index[changed], "status"].tolist() == expected_status.tolist()
    assert (after.loc[before.index[changed], "updated_at"] > before.loc[changed, "updated_at"]).all()


def test_late_updates_add_one_unit_to_the_first_line(
    raw: dict[str, pd.DataFrame], batch_two: dict[str, pd.DataFrame]
) -> None:
    key = ["order_id", "line_number"]
    before = raw["order_lines"].set_index(key)
    after = batch_two["order_lines"].set_index(key).loc[before.index]
    grew = after["quantity"] - before["quantity"]
    assert sorted(grew.unique().tolist()) == [0, 1]
    assert grew.sum() == 200
    assert set(grew[grew == 1].index.get_level_values("line_number")) == {1}
    changed_orders = set(grew[grew == 1].index.get_level_values("order_id"))
    orders_after = batch_two["orders"].set_index("order_id")
    assert (orders_after.loc[sorted(changed_orders), "_loaded_at"] == BATCH_TWO).all()


def test_late_orders_arrive_with_old_order_dates(
    raw: dict[str, pd.DataFrame], batch_two: dict[str, pd.DataFrame]
) -> None:
    new_orders = batch_two["orders"][~batch_two["orders"]["order_id"].isin(raw["orders"]["order_id"])]
    assert new_orders["order_id"].tolist() == list(range(2_001, 2_101))
    assert (new_orders["ordered_at"] < pd.Timestamp(BATCH_ONE_LOADED_AT)).all()
    assert (new_orders["updated_at"] > pd.Timestamp(BATCH_ONE_LOADED_AT)).all()
    assert (new_orders["_loaded_at"] == BATCH_TWO).all()
    new_lines = batch_two["order_lines"][batch_two["order_lines"]["order_id"] >= 2_001]
    new_payments = batch_two["payments"][batch_two["payments"]["order_id"] >= 2_001]
    assert new_lines["order_line_id"].min() == raw["order_lines"]["order_line_id"].max() + 1
    assert new_payments["payment_id"].min() == raw["payments"]["payment_id"].max() + 1
    assert set(new_lines["order_id"]) == set(new_orders["order_id"]) == set(new_payments["order_id"])
    assert len(batch_two["order_lines"]) == len(raw["order_lines"]) + len(new_lines)


def test_customer_changes_move_segment_and_city(
    raw: dict[str, pd.DataFrame], batch_two: dict[str, pd.DataFrame]
) -> None:
    before = raw["customers"].set_index("customer_id")
    after = batch_two["customers"].set_index("customer_id")
    changed = after["updated_at"] != before["updated_at"]
    assert changed.sum() == 50
    assert (after.loc[changed, "segment"] != before.loc[changed, "segment"]).all()
    assert (after.loc[changed, "city"] != before.loc[changed, "city"]).all()
    assert (after.loc[changed, "_loaded_at"] == BATCH_TWO).all()
    assert after.loc[~changed].equals(before.loc[~changed])


def test_no_anomaly_leaves_tables_unchanged(raw: dict[str, pd.DataFrame]) -> None:
    same = apply_anomalies(raw, seed=7)
    for name in RAW_TABLES:
        pd.testing.assert_frame_equal(same[name], raw[name])


def test_fraction_outside_zero_to_one_is_refused(raw: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match=r"late_updates must be a fraction between 0 and 1, got 1\.5"):
        apply_anomalies(raw, late_updates=1.5)


@pytest.mark.parametrize("folder", ["raw", "raw_batch2"])
def test_committed_fixtures_match_the_generator(tmp_path: Path, folder: str) -> None:
    tables = generate_raw(300, seed=42)
    if folder == "raw_batch2":
        tables = apply_anomalies(tables, late_updates=0.1, customer_changes=0.2, seed=42)
    write_fixtures(tables, tmp_path)
    for name in RAW_TABLES:
        committed = (FIXTURES / folder / f"{name}.csv").read_text(encoding="utf-8")
        assert (tmp_path / f"{name}.csv").read_text(encoding="utf-8") == committed, f"{folder}/{name}.csv"


def test_chunked_load_assembles_the_same_tables_in_duckdb(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    try:
        counts = load_generated(engine, "raw", 25, seed=5, chunk_orders=10)
        expected = generate_raw(25, seed=5, chunk_orders=10)
        assert counts == {name: len(frame) for name, frame in expected.items()}
        assert sorted(name for name, _ in engine.list_relations("raw")) == sorted(RAW_TABLES)
        lines = engine.query("select order_line_id, order_id, quantity from raw.order_lines order by 1")
        assert lines == list(
            expected["order_lines"][["order_line_id", "order_id", "quantity"]].itertuples(index=False, name=None)
        )
    finally:
        engine.close()
