"""Messages that name the defect (issue 16, item 5), through `quality gate` on a small project with real dbt
runs: a broken unit test shows its expected and actual rows; a count that does not reconcile shows the
model's value, the expected one and the missing and extra keys; a failing relationships test its orphans."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.mini_project import FCT_SALES, gate, only_report

pytestmark = pytest.mark.integration

# raw sales: sale_id 1, 2, 3 with amounts 10.50, 20.00, 5.25 (mini_project.SALES_CSV)
BROKEN_UNIT_TEST = """
unit_tests:
  - name: fct_sales_casts_amount
    model: fct_sales
    given:
      - input: ref('stg_sales')
        rows:
          - {sale_id: 1, amount: 10.5}
          - {sale_id: 2, amount: 3}
    expect:
      rows:
        - {sale_id: 1, amount: 10.5}
        - {sale_id: 2, amount: 4}
"""
# A value the column's type refuses: dbt errors before it can compare the rows (no diff in its message).
MISTYPED_UNIT_TEST = """
unit_tests:
  - name: fct_sales_keeps_every_sale
    model: fct_sales
    given:
      - input: ref('stg_sales')
        rows:
          - {sale_id: 1, amount: 10.5}
    expect:
      rows:
        - {sale_id: 1, amount: ten}
"""
RECONCILE = """
            - expectation: reconcile
              description: one row for every raw sale
              against: "{source:raw.sales}"
              measures: ["count(*)"]
              key: sale_id"""
ORPHANS = "data_tests: [unique, {relationships: {arguments: {to: ref('stg_sales'), field: sale_id}}}]"


def gate_error(root: Path) -> str:
    assert gate(root, "--fixtures", "fixtures") == 1
    report = only_report(root / "runs")
    assert report["published"] == []
    return str(report["error"])


def test_a_broken_unit_test_shows_the_expected_and_the_actual_rows(shop: Path) -> None:
    (shop / "dbt" / "models" / "unit.yml").write_text(BROKEN_UNIT_TEST, encoding="utf-8")

    error = gate_error(shop)

    assert (
        "  - unit_test fct_sales_casts_amount on model fct_sales [fail]: 1 row(s) differ from the expected rows:\n"
        "        expected: sale_id=2, amount=4.00\n"
        "        actual:   sale_id=2, amount=3.00   (differs in amount)\n"
    ) in error
    assert "→" not in error, "dbt's arrows are read into rows"


def test_a_unit_test_dbt_could_not_compare_shows_the_rows_queried(shop: Path) -> None:
    (shop / "dbt" / "models" / "unit.yml").write_text(MISTYPED_UNIT_TEST, encoding="utf-8")

    error = gate_error(shop)

    assert "  - unit_test fct_sales_keeps_every_sale on model fct_sales [error]: Conversion Error:" in error
    assert (
        "      expected (as the test writes it): sale_id=1, amount=ten\n"
        "      actual (the model on the given rows): sale_id=1, amount=10.50\n"
    ) in error
    assert "check the data types" not in error


def test_a_count_that_does_not_reconcile_names_missing_and_extra_keys(shop: Path) -> None:
    project = shop / "dbt"
    (project / "models" / "marts" / "fct_sales.sql").write_text(
        f"select * from ({FCT_SALES}) as s where sale_id <> 2 "
        "union all select 8, cast(1 as decimal(18, 2)) union all select 9, cast(1 as decimal(18, 2))",
        encoding="utf-8",
    )
    schema = project / "models" / "schema.yml"
    text = schema.read_text(encoding="utf-8")
    count = "            - expectation: expect_table_row_count_to_be_between\n              kwargs: {min_value: 1}"
    assert count in text
    assert "data_tests: [unique]" in text
    schema.write_text(text.replace(count, count + RECONCILE).replace("data_tests: [unique]", ORPHANS), encoding="utf-8")

    error = gate_error(shop)

    assert "- [FAILED] fct_sales reconcile\n    rule: one row for every raw sale\n" in error
    assert (
        "sample: [{'group_key': 1, 'count': 4, 'count_expected': 3, 'missing_keys': 1, 'missing_key_examples': '2', "
        "'extra_keys': 2, 'extra_key_examples': '8, 9'}]"
    ) in error
    # the relationships test names the keys with no parent, not only "Got 2 results"
    assert (
        "test relationships_fct_sales_sale_id__sale_id__ref_stg_sales_ on model fct_sales, column sale_id [fail]"
        in error
    )
    assert "      failing row: from_field=8\n      failing row: from_field=9\n" in error
