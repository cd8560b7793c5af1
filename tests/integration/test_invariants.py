"""Invariants implied by the project (quality/invariants), in the gate on the embedded DuckDB engine.

The real project passes every invariant it implies on both batches (no false positive); seeded code defects
that dbt tests and GX let through each stop the publish, naming the invariant, the model and the column.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quality.wap.gate import GateReport
from tests.integration.real_project import (
    BATCH2,
    RAW,
    SAMPLE,
    DuckDBProd,
    copy_project,
    prod,
    project_with_edit,
    second_batch,
)
from tests.integration.warehouse import fingerprint

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("invariants_prod")]

__all__ = ["prod", "second_batch"]  # the module's prod fixtures


def _checked(report: GateReport) -> list[str]:
    return [entry["check"] for entry in report.invariants]


def test_the_project_passes_every_invariant_it_implies_on_both_batches(second_batch: GateReport) -> None:
    failed = [entry for entry in second_batch.invariants if not entry["success"]]
    assert failed == []
    checked = _checked(second_batch)
    for expected in (
        "scd2_one_current_version on snap_customers (customer_id, dbt_valid_to)",
        "scd2_no_identical_versions on snap_customers (first_name, last_name, email, segment, city, created_at)",
        "scd2_current_matches_source on snap_customers",
        "scd2_no_overlap on dim_customers (valid_from, valid_to)",
        "scd2_no_gaps on dim_customers (valid_from, valid_to)",
        "date_spine_contiguous on dim_date (date_day)",
        "date_spine_bounds on dim_date (date_day)",
        "date_spine_weekday on dim_date (date_day, day_of_week_iso)",
        "date_spine_weekday on dim_date (date_day, is_weekend)",
        "derived_columns_agree on fct_orders (is_recognized, is_recognized)",
        "measures_reconcile on fct_daily_sales (net_amount)",
        "measures_reconcile on stg_payments (amount)",
    ):
        assert any(check.startswith(expected) for check in checked), (expected, checked)
    assert "invariants" in second_batch.timings


def _with_new_load_time(fixtures: Path) -> None:
    """The replica reloads every customer (a new _loaded_at) without any change at the source."""
    path = fixtures / "customers.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["_loaded_at"] = "2026-02-01 06:00:00"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# defect: (file, text before, text after, change of the raw batch, phrases the gate's message must hold)
CODE_DEFECTS: dict[str, tuple[str, str, str, Callable[[Path], None] | None, list[str]]] = {
    "snapshot switched to track a load-time column": (
        "snapshots/snap_customers.yml",
        "updated_at: updated_at",
        "updated_at: loaded_at",
        _with_new_load_time,
        [
            "[FAILED] scd2_no_identical_versions on model snap_customers, column(s) first_name, last_name, email",
            "30 row(s)/key(s) break it",
            "[FAILED] scd2_no_identical_versions on model dim_customers",
        ],
    ),
    # Sunday=1 ... Saturday=7 keeps the values 1-7 (accepted_values passes) but is not ISO: Friday is weekend.
    "weekday macro switched to Sunday-first numbering": (
        "macros/calendar.sql",
        "isodow({{ date_expression }})",
        "(dayofweek({{ date_expression }}) + 1)",
        None,
        [
            "[FAILED] date_spine_weekday on model dim_date, column(s) date_day, day_of_week_iso",
            "[FAILED] date_spine_weekday on model dim_date, column(s) date_day, is_weekend",
            "{date_day=2020-01-03, is_a='Friday', is_weekend=True}",
        ],
    ),
    # the unit tests of fct_orders cover delivered and cancelled orders only: returned ones change unseen
    "category mapping changed in one of the two models computing it": (
        "models/marts/facts/fct_orders.sql",
        "cast(order_status not in ('cancelled', 'returned') as boolean) as is_recognized",
        "cast(order_status not in ('cancelled') as boolean) as is_recognized",
        None,
        [
            "[FAILED] derived_columns_agree on model fct_orders, column(s) is_recognized, is_recognized",
            "fct_orders.is_recognized and int_order_lines_priced.is_recognized are computed from the same "
            "source column(s) (raw.orders.status)",
        ],
    ),
    # a conversion applied again between two models (its unit test does not expect gross_amount)
    "line amounts converted again in the fact": (
        "models/marts/facts/fct_order_lines.sql",
        "cast(gross_amount as decimal(18, 2)) as gross_amount,",
        "cast(gross_amount / 100 as decimal(18, 2)) as gross_amount,",
        None,
        ["[FAILED] measures_reconcile on model fct_order_lines, column(s) gross_amount"],
    ),
}


@pytest.mark.parametrize("defect", sorted(CODE_DEFECTS))
def test_a_seeded_defect_fails_the_invariant_that_names_model_and_column(
    prod: DuckDBProd, second_batch: GateReport, tmp_path: Path, defect: str
) -> None:
    path, before_text, after_text, change_batch, phrases = CODE_DEFECTS[defect]
    project = project_with_edit(tmp_path / "dbt", path, before_text, after_text)
    fixtures = tmp_path / "raw"
    shutil.copytree(BATCH2, fixtures)
    if change_batch is not None:
        change_batch(fixtures)
    before = fingerprint(prod.path)
    report = prod.gate(fixtures, project)
    assert report.status == "failed", report.error
    message = report.error or ""
    assert "Invariants implied by the project failed" in message, message
    for phrase in phrases:
        assert phrase in message, message
    assert fingerprint(prod.path) == before


def _cli_gate(project: Path, tmp_path: Path) -> tuple[int, str, dict[str, Any]]:
    """The gate as its users run it (a process of its own, on a prod file of its own): exit, output, report."""
    command = [sys.executable, "-m", "quality.cli", "gate", "--project-dir", str(project), "--fixtures", str(RAW)]
    runs = tmp_path / f"runs_{len(list(tmp_path.glob('runs_*')))}"
    command += ["--artifacts-dir", str(runs)]
    env = {**os.environ, "QUALITY_DUCKDB_PATH": str(tmp_path / "prod.duckdb")}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=240)
    (report,) = runs.glob("*/report.json")
    return done.returncode, " ".join((done.stdout + done.stderr).split()), json.loads(report.read_text())


def test_a_switch_off_with_a_reason_skips_the_invariant_and_one_without_is_an_error(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "dbt")
    model = project / "models" / "marts" / "facts" / "fct_order_lines.sql"
    scaled = model.read_text().replace("cast(gross_amount as decimal", "cast(gross_amount / 100 as decimal")
    # the copy differs from its source too, so both invariants are switched off
    switch = (
        "{{{{ config(meta={{'quality': {{'invariants': {{'off': ['measures_reconcile', 'derived_columns_agree']{}"
        "}}}}}}) }}}}\n"
    )
    model.write_text(switch.format("") + scaled)
    code, output, report = _cli_gate(project, tmp_path)
    assert (code, report["status"]) == (1, "error"), output
    expected = (
        "model fct_order_lines: config.meta.quality.invariants.off switches off derived_columns_agree, "
        "measures_reconcile without a reason"
    )
    assert expected in report["error"]

    model.write_text(switch.format(", 'reason': 'the lines hold cents'") + scaled)
    code, output, report = _cli_gate(project, tmp_path)
    checks = [entry["check"] for entry in report["invariants"]]
    assert checks, output
    assert not any(
        check.startswith(("measures_reconcile on fct_order_lines", "derived_columns_agree on fct_order_lines"))
        for check in checks
    )
    assert (code, report["status"]) == (0, "published"), output


def test_the_seeds_only_sample_project_passes_its_invariants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quality.cli import main

    root = tmp_path / "jaffle"
    shutil.copytree(SAMPLE, root)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAFFLE_DUCKDB_PATH", str(tmp_path / "prod.duckdb"))
    assert main(["init", "--project-dir", str(root)]) == 0
    report = DuckDBProd(tmp_path / "prod.duckdb", tmp_path / "runs").gate(None, root)
    assert report.status == "published", report.error
    assert [entry for entry in report.invariants if not entry["success"]] == []
    assert any(check.startswith("measures_reconcile on stg_orders (amount)") for check in _checked(report))


PLUGIN_TEST = """
def test_the_project_holds_its_invariants(invariants):
    assert any(check.startswith("measures_reconcile on fct_sales (amount)") for check in invariants.checked)
    assert invariants.ok, invariants.describe()
"""


@pytest.mark.parametrize("scaled", [False, True])
def test_the_plugin_fixture_checks_the_sessions_build(pytester: pytest.Pytester, scaled: bool) -> None:
    from tests.integration.mini_project import write_mini_project

    project = write_mini_project(pytester.path)
    if scaled:  # keeps its name, loses its meaning: the mart's total no longer equals the staging total
        mart = project / "models" / "marts" / "fct_sales.sql"
        mart.write_text(mart.read_text().replace("cast(amount as", "cast(amount * 100 as"))
    pytester.makeini("[pytest]\ndbt_project_dir = dbt\nraw_fixtures_dir = fixtures\n")
    pytester.makepyfile(test_shop=PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--schema-prefix", "dev")
    result.assert_outcomes(passed=0 if scaled else 1, failed=1 if scaled else 0)
    if scaled:
        result.stdout.fnmatch_lines(["*[[]FAILED[]] measures_reconcile on model fct_sales, column(s) amount*"])
