"""The gate on the real project: a full build, a second batch with late updates and customer changes, and
defects that must stop the publish with a readable message while prod stays exactly as it was."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.wap.gate import GateReport
from tests.integration.real_project import (
    BATCH2,
    RAW,
    DuckDBProd,
    prod,
    project_with_edit,
    project_with_revenue_bug,
    second_batch,
)

# With `--dist loadgroup` (pyproject addopts) every test reads the module's published prod (two gates): one worker builds it once.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("gate_prod")]

__all__ = ["prod", "second_batch"]  # the module's prod fixtures


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_first_publish_builds_every_mart_with_one_row_per_key(prod: DuckDBProd) -> None:
    orders = {row["order_id"] for row in read_csv(RAW / "orders.csv")}
    assert prod.query("select count(*), count(distinct order_id) from marts.fct_orders") == [(len(orders), len(orders))]
    lines = len(read_csv(RAW / "order_lines.csv"))
    assert prod.query("select count(*) from marts.fct_order_lines") == [(lines,)]
    customers = len(read_csv(RAW / "customers.csv"))
    assert prod.query("select count(*), count(*) filter (where is_current) from marts.dim_customers") == [
        (customers, customers)
    ]
    assert not [
        s for s in prod.query("select schema_name from information_schema.schemata") if str(s[0]).startswith("audit_")
    ]


def test_second_batch_closes_changed_customer_versions_without_overlap(
    prod: DuckDBProd, second_batch: GateReport
) -> None:
    before = {row["customer_id"]: row for row in read_csv(RAW / "customers.csv")}
    after = {row["customer_id"]: row for row in read_csv(BATCH2 / "customers.csv")}
    changed = sorted(
        int(key) for key in after if key in before and after[key]["updated_at"] != before[key]["updated_at"]
    )
    assert changed, "the second batch must change some customers"
    assert (second_batch.publish_mode, second_batch.status) == ("transaction", "published")
    versions = prod.query(
        "select customer_id, count(*), count(*) filter (where is_current), count(*) filter (where valid_to is not null) "
        "from marts.dim_customers group by customer_id having count(*) > 1 order by customer_id"
    )
    assert versions == [(customer, 2, 1, 1) for customer in changed]
    overlaps = prod.query(
        "select a.customer_id from marts.dim_customers a join marts.dim_customers b "
        "on a.customer_id = b.customer_id and a.customer_key <> b.customer_key "
        "and a.valid_from < coalesce(b.valid_to, timestamp '9999-12-31') "
        "and b.valid_from < coalesce(a.valid_to, timestamp '9999-12-31')"
    )
    assert overlaps == []
    for customer in changed:
        (current,) = prod.query(
            f"select segment, city from marts.dim_customers where customer_id = {customer} and is_current"
        )
        assert current == (after[str(customer)]["segment"], after[str(customer)]["city"])


def test_second_batch_merges_late_order_updates_without_duplicate_keys(
    prod: DuckDBProd, second_batch: GateReport
) -> None:
    raw_orders = {row["order_id"]: row for row in read_csv(BATCH2 / "orders.csv")}
    first_orders = {row["order_id"]: row for row in read_csv(RAW / "orders.csv")}
    assert prod.query("select count(*), count(distinct order_id) from marts.fct_orders") == [
        (len(raw_orders), len(raw_orders))
    ]
    updated = [
        oid
        for oid, row in raw_orders.items()
        if oid in first_orders and row["updated_at"] != first_orders[oid]["updated_at"]
    ]
    assert updated, "the second batch must update some orders late"
    statuses = dict(
        prod.query(
            f"select cast(order_id as varchar), order_status from marts.fct_orders where order_id in ({', '.join(updated)})"
        )
    )
    assert statuses == {oid: raw_orders[oid]["status"] for oid in updated}


def test_daily_totals_equal_the_sum_of_their_lines(prod: DuckDBProd, second_batch: GateReport) -> None:
    mismatches = prod.query(
        "select d.order_date, d.store_id from marts.fct_daily_sales d left join ("
        "  select order_date, store_id, sum(net_amount) as net_amount, sum(quantity) as units "
        "  from marts.fct_order_lines group by 1, 2) l using (order_date, store_id) "
        "where l.net_amount is null or d.net_amount <> l.net_amount or d.units_sold <> l.units"
    )
    assert mismatches == []
    assert prod.query("select sum(net_amount) from marts.fct_daily_sales") == prod.query(
        "select sum(net_amount) from marts.fct_order_lines"
    )


def _edit_csv(folder: Path, table: str, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
    rows = read_csv(folder / f"{table}.csv")
    fields = list(rows[0])
    with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(edit(rows))


def _duplicate_order(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [*rows, dict(rows[6])]


def _null_product(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    rows[0]["product_id"] = ""
    return rows


def _negative_price(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    rows[3]["unit_price"] = "-" + rows[3]["unit_price"]
    return rows


def _second_current_version(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    twin = dict(rows[2])
    twin["city"] = "Atlantis"
    return [*rows, twin]


DATA_DEFECTS = {
    "duplicate_key": (
        "orders",
        _duplicate_order,
        ["test unique_fct_order_lines_order_line_id on model fct_order_lines, column order_line_id [fail]"],
    ),
    "null_foreign_key": (
        "order_lines",
        _null_product,
        ["test not_null_fct_order_lines_product_id on model fct_order_lines, column product_id [fail]"],
    ),
    "negative_amount": (
        "order_lines",
        _negative_price,
        [
            "- [FAILED] fct_order_lines.unit_price expect_column_values_to_be_between",
            "- [FAILED] fct_order_lines.net_amount expect_column_values_to_be_between",
            "rule: lines never have a negative amount",
            "sample: [Decimal('-",
        ],
    ),
    "two_source_rows_for_one_customer": (
        "customers",
        _second_current_version,
        ["test unique_stg_customers_customer_id on model stg_customers, column customer_id [fail]"],
    ),
}


@pytest.mark.parametrize("defect", sorted(DATA_DEFECTS))
def test_a_data_defect_stops_the_publish_and_leaves_prod_identical(
    prod: DuckDBProd, second_batch: GateReport, tmp_path: Path, defect: str
) -> None:
    table, edit, phrases = DATA_DEFECTS[defect]
    fixtures = tmp_path / "raw"
    shutil.copytree(BATCH2, fixtures)
    _edit_csv(fixtures, table, edit)
    before = prod.fingerprint()
    report = prod.gate(fixtures)
    assert report.status == "failed", report.error
    for phrase in phrases:
        assert phrase in (report.error or ""), report.error
    assert "prod" in (report.error or "")
    assert prod.fingerprint() == before


def test_a_revenue_bug_in_the_code_is_caught_by_the_reconciliation(
    prod: DuckDBProd, second_batch: GateReport, tmp_path: Path
) -> None:
    project = project_with_revenue_bug(tmp_path / "dbt")
    before = prod.fingerprint()
    report = prod.gate(BATCH2, project)
    assert report.status == "failed", report.error
    assert "fct_orders" in (report.error or "")
    assert prod.fingerprint() == before


def _missing_lines_of_cancelled_orders() -> str:
    """The count check's missing keys when the cancelled orders' lines are gone: count, first and last."""
    status = {row["order_id"]: row["status"] for row in read_csv(BATCH2 / "orders.csv")}
    lines = [
        int(r["order_line_id"]) for r in read_csv(BATCH2 / "order_lines.csv") if status[r["order_id"]] == "cancelled"
    ]
    assert lines, "the second batch has cancelled orders"
    return (
        f"'missing_keys': {len(lines)}, 'first_missing_key': {min(lines)}, 'last_missing_key': {max(lines)}, "
        "'extra_keys': 0, 'first_extra_key': None, 'last_extra_key': None}]"
    )


# Seeded code defects (issue 12): each is caught by the check named, with a message naming model and column.
CODE_DEFECTS = {
    # order_date computed two hours late: nothing else changes, every table shifts alike.
    "order_date shifted by two hours upstream": (
        "models/staging/stg_orders.sql",
        "cast(ordered_at as date) as order_date",
        "cast({{ dbt.dateadd('hour', 2, 'ordered_at') }} as date) as order_date",
        ["fct_orders row_condition", "order_date is the day of ordered_at"],
    ),
    # the raw timestamp read two hours late: order_date and ordered_at still agree, but the days no longer
    # match the raw orders.
    "ordered_at shifted by two hours at the source": (
        "models/staging/stg_orders.sql",
        "        store_id,\n        ordered_at,\n",
        "        store_id,\n        {{ dbt.dateadd('hour', 2, 'ordered_at') }} as ordered_at,\n",
        ["fct_orders reconcile", "orders per day equal the raw orders per day", "count_expected"],
    ),
    # refunds stored negative in staging: unit tests mock staging, so only a bound on the mart sees it.
    "refund sign flipped in staging": (
        "models/staging/stg_payments.sql",
        "cast(amount as decimal(18, 2)) as amount,",
        "case when payment_status = 'refunded' then -1 else 1 end * cast(amount as decimal(18, 2)) as amount,",
        ["fct_orders.amount_refunded expect_column_values_to_be_between"],
    ),
    # a silent filter: cancelled orders dropped in staging. Nothing errors and fct_orders keeps the cancelled
    # orders already in prod (incremental), but their lines vanish from the marts and the order totals no
    # longer match their lines.
    "cancelled orders silently filtered out in staging": (
        "models/staging/stg_orders.sql",
        "    loaded_at\nfrom renamed\n",
        "    loaded_at\nfrom renamed\nwhere order_status <> 'cancelled'\n",
        [
            "test assert_order_totals_equal_sum_of_lines on several models [fail]",
            "[FAILED] fct_order_lines unexpected_rows\n    rule: one row for every raw order line",
            # the count check says how many rows there are, how many there should be, and which are missing
            "sample: [{'rows_in_model': ",
            ", 'rows_expected': ",
            _missing_lines_of_cancelled_orders(),
        ],
    ),
}


@pytest.mark.parametrize("defect", sorted(CODE_DEFECTS))
def test_a_code_defect_upstream_stops_the_publish_naming_the_check(
    prod: DuckDBProd, second_batch: GateReport, tmp_path: Path, defect: str
) -> None:
    path, before_text, after_text, phrases = CODE_DEFECTS[defect]
    project = project_with_edit(tmp_path / "dbt", path, before_text, after_text)
    before = prod.fingerprint()
    report = prod.gate(BATCH2, project)
    assert report.status == "failed", report.error
    for phrase in phrases:
        assert phrase in (report.error or ""), report.error
    assert prod.fingerprint() == before


def test_overlapping_scd2_versions_in_the_prod_history_stop_the_publish(
    prod: DuckDBProd, second_batch: GateReport
) -> None:
    """Corrupted history (a closed version stretched over its successor) never reaches dim_customers."""
    stretch = "update snapshots.snap_customers set dbt_valid_to = dbt_valid_to {} interval 1 day where dbt_scd_id = ?"
    engine = DuckDBEngine(prod.path)
    try:
        (scd_id,) = engine.query("select min(dbt_scd_id) from snapshots.snap_customers where dbt_valid_to is not null")[
            0
        ]
        assert scd_id is not None, "the second batch closes customer versions"
        engine.execute(stretch.format("+"), [scd_id])
    finally:
        engine.close()
    try:
        before = prod.fingerprint()
        report = prod.gate(BATCH2)
        assert report.status == "failed", report.error
        assert "test assert_customer_versions_never_overlap on model dim_customers [fail]" in (report.error or "")
        assert prod.fingerprint() == before
    finally:
        engine = DuckDBEngine(prod.path)
        try:
            engine.execute(stretch.format("-"), [scd_id])
        finally:
            engine.close()
