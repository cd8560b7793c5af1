"""`quality pr`: the working tree and its base built on the same raw data and compared by key (DuckDB).

Seeded defects of kinds no hand-written check here targets must fail the review, naming model, column,
rows and examples; harmless changes (a comment, a renamed CTE, a reformatted file) must pass with no
declaration. Every review runs in a copy of a project in a temporary git repository; reviews of the same
base tree reuse its cached build, so each test pays for the working tree's build only.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quality.cli import main
from tests.hooks.conftest import GIT_IDENTITY, commit_all, git, init_repo
from tests.integration.real_project import SAMPLE, copy_repository_layout
from tests.integration.warehouse import fingerprint

# One repository per module, changed and restored by one test after another: one worker runs them all.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("pr_review")]


@dataclass(frozen=True)
class Repo:
    path: Path

    def edit(self, relative: str, change: Callable[[str], str]) -> None:
        file = self.path / relative
        before = file.read_text(encoding="utf-8")
        after = change(before)
        assert after != before, f"the edit of {relative} changed nothing"
        file.write_text(after, encoding="utf-8")

    def replace(self, relative: str, old: str, new: str) -> None:
        self.edit(relative, lambda text: _replace_once(text, old, new))

    def restore(self) -> None:
        git(self.path, "checkout", "--", ".")
        git(self.path, "clean", "-fdq", "--", "dbt")


def divide_amounts_by_100(repo: Repo) -> None:
    """The seeded unit defect: staging converts amounts that are already in currency units."""
    repo.replace(
        "dbt/models/staging/stg_payments.sql",
        "cast(amount as decimal(18, 2)) as amount",
        "cast(amount / 100 as decimal(18, 2)) as amount",
    )


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected one {old!r}"
    return text.replace(old, new)


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str
    report: dict[str, Any]

    def undeclared(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(f["model"], f["change"]): f for f in self.report["findings"] if not f["declared"]}


def review(repo: Repo, *args: str, capsys: pytest.CaptureFixture[str]) -> Outcome:
    capsys.readouterr()
    code = main(["pr", "--project-dir", "dbt", "--base", "HEAD", "--artifacts-dir", "artifacts/pr", *args])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    runs = sorted((repo.path / "artifacts" / "pr").glob("*/review.json"), key=lambda p: p.stat().st_mtime)
    report = json.loads(runs[-1].read_text(encoding="utf-8")) if runs and code in (0, 1) else {}
    return Outcome(code, output, report)


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    """This repository's dbt project and both raw batches, committed in a repository of its own."""
    path = tmp_path_factory.mktemp("pr_retail")
    copy_repository_layout(path)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GIT_IDENTITY.items():
            patch.setenv(name, value)
        patch.setenv("QUALITY_DUCKDB_PATH", str(path / ".quality" / "warehouse.duckdb"))
        init_repo(path)
        commit_all(path, "feat: the project")
        patch.chdir(path)
        yield Repo(path)


@pytest.fixture
def repo(retail: Repo) -> Iterator[Repo]:
    yield retail
    retail.restore()
    # Nothing is published and nothing is left: no prod file, no review database.
    assert not (retail.path / ".quality" / "warehouse.duckdb").exists()
    assert list((retail.path / ".quality" / "pr").glob("*.duckdb*")) == []


def test_harmless_changes_pass_with_no_declaration(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.replace(
        "dbt/models/staging/stg_payments.sql",
        "with source as (",
        "-- payments as the replica has them\nwith source as (",
    )
    repo.edit("dbt/models/staging/stg_orders.sql", lambda text: text.replace("renamed", "typed"))
    repo.edit("dbt/models/marts/facts/fct_orders.sql", lambda text: re.sub(r"\n(\s*)select\n", r"\n\1SELECT\n", text))
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 0, outcome.output
    assert outcome.report["findings"] == []
    assert "PASSED" in outcome.output
    compared = {r["relation"] for r in outcome.report["relations"]}
    assert {"fct_orders", "stg_payments", "snap_customers", "dim_date"} <= compared


def test_a_unit_conversion_in_staging_fails_naming_model_column_and_values(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    divide_amounts_by_100(repo)
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 1
    amount = outcome.undeclared()[("stg_payments", "column amount")]
    assert amount["rows"] == 345
    assert amount["examples"][0] == "payment_id=1: 90.29 -> 0.90"
    assert ("fct_orders", "column amount_paid") in outcome.undeclared()
    assert "undeclared: stg_payments, column amount: 345 row(s); e.g. payment_id=1: 90.29 -> 0.90" in outcome.output


def test_a_status_mapped_into_the_wrong_category_fails_on_the_fact(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.replace(
        "dbt/models/intermediate/int_order_lines_priced.sql",
        "order_status not in ('cancelled', 'returned') as is_recognized",
        "order_status not in ('cancelled') as is_recognized",
    )
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 1
    undeclared = outcome.undeclared()
    assert ("fct_order_lines", "column is_recognized") in undeclared
    assert undeclared[("fct_order_lines", "column is_recognized")]["examples"][0].endswith(": False -> True")
    # fct_orders computes its own flag, so only the lines (and what they are built from) change
    assert {model for model, _ in undeclared} == {"int_order_lines_priced", "fct_order_lines"}


def test_a_calculation_changed_with_its_unit_test_expectation_still_fails(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.replace(
        "dbt/models/intermediate/int_order_lines_priced.sql",
        "order_lines.quantity * products.unit_cost",
        "order_lines.quantity * products.unit_cost * 1.1",
    )
    repo.edit(
        "dbt/models/intermediate/_unit_tests.yml",
        lambda text: text.replace("cost_amount: 21.75", "cost_amount: 23.925").replace(
            "margin_amount: 35.22", "margin_amount: 33.045"
        ),
    )
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 1
    undeclared = outcome.undeclared()
    assert undeclared[("int_order_lines_priced", "column cost_amount")]["rows"] == 939
    assert undeclared[("fct_order_lines", "column margin_amount")]["rows"] == 939
    assert ("fct_daily_sales", "column recognized_margin_amount") in undeclared


def test_a_weekday_convention_changed_in_a_macro_fails_on_the_date_dimension(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.replace("dbt/macros/calendar.sql", "isodow({{ date_expression }})", "dayofweek({{ date_expression }})")
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 1
    undeclared = outcome.undeclared()
    weekend = undeclared[("dim_date", "column is_weekend")]
    assert weekend["rows"] > 0
    assert ("dim_date", "column day_of_week_iso") in undeclared


def test_a_snapshot_tracking_the_load_time_gains_versions_and_fails(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.replace("dbt/snapshots/snap_customers.yml", "updated_at: updated_at", "updated_at: loaded_at")
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 1
    undeclared = outcome.undeclared()
    assert ("snap_customers", "column dbt_valid_from") in undeclared
    relation = next(r for r in outcome.report["relations"] if r["relation"] == "snap_customers")
    assert relation["key"] == ["customer_id", "quality_version"]


SPARK_WEEKDAY = "extract(dayofweek_iso from {{ date_expression }})"


def test_a_change_to_a_macro_only_databricks_runs_fails_though_duckdb_data_is_equal(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.replace("dbt/macros/calendar.sql", SPARK_WEEKDAY, "extract(dayofweek from {{ date_expression }})")
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 1
    what = (
        "macro default__day_of_week_iso changed: Databricks runs it, the review's engine (duckdb, which runs "
        "duckdb__day_of_week_iso) does not"
    )
    assert set(outcome.undeclared()) == {("dim_date", what)}
    assert "uv run quality pr --target local_databricks" in outcome.output
    assert all(r["changed"] == 0 for r in outcome.report["relations"] if r["changed"] is not None)


def test_a_reformatted_databricks_macro_passes_and_a_declared_change_to_it_too(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.replace("dbt/macros/calendar.sql", SPARK_WEEKDAY, "extract( dayofweek_iso  from {{ date_expression }} )")
    assert review(repo, capsys=capsys).code == 0
    repo.restore()
    repo.replace("dbt/macros/calendar.sql", SPARK_WEEKDAY, "extract(dayofweek from {{ date_expression }})")
    _declare(repo, {"dim_date": [{"macros": ["default__day_of_week_iso"], "reason": "Sunday first, as reports use"}]})
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 0, outcome.output
    assert [f["reason"] for f in outcome.report["findings"]] == ["Sunday first, as reports use"]


def test_a_declared_change_passes_and_a_declaration_matching_nothing_is_reported(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    divide_amounts_by_100(repo)
    reason = "amounts are now in units of 100"
    declarations = {
        "stg_payments": [{"columns": ["amount"], "reason": reason}],
        "int_order_payments": [{"columns": ["amount_paid", "amount_refunded", "card_amount_paid"], "reason": reason}],
        "fct_orders": [{"columns": ["*"], "reason": reason}],
        "dim_stores": [{"columns": ["store_name"], "reason": "nothing changes here"}],
    }
    _declare(repo, declarations)
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 0, outcome.output
    declared = [f for f in outcome.report["findings"] if f["declared"]]
    assert {f["model"] for f in declared} == {"stg_payments", "int_order_payments", "fct_orders"}
    assert all(f["reason"] == reason for f in declared)
    assert outcome.report["unmatched_declarations"] == ["dim_stores (columns store_name): nothing changes here"]


def test_a_declaration_naming_an_unknown_column_is_a_usage_error(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    _declare(repo, {"stg_payments": [{"columns": ["amount_cents"], "reason": "renamed"}]})
    outcome = review(repo, capsys=capsys)
    assert outcome.code == 2
    message = " ".join(outcome.output.split())
    assert "stg_payments names column(s) amount_cents, which stg_payments does not have" in message


def test_an_unknown_base_is_a_usage_error_and_builds_nothing(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["pr", "--project-dir", "dbt", "--base", "no-such-branch"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--base no-such-branch is not a commit of this repository" in " ".join(err.split())


def test_a_working_tree_that_does_not_build_is_one_message(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.replace(
        "dbt/models/staging/stg_payments.sql", "payment_status,\n        amount,", "payment_status,\n        amount_x,"
    )
    code = main(["pr", "--project-dir", "dbt", "--base", "HEAD"])
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "the working tree does not build on raw data batch 1" in err
    assert "stg_payments" in err


def test_where_the_target_holds_prod_the_changed_models_are_compared_with_it_and_prod_is_untouched(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = repo.path / ".quality" / "warehouse.duckdb"
    assert main(["gate", "--project-dir", "dbt", "--fixtures", "tests/fixtures/raw"]) == 0
    before = fingerprint(warehouse)
    try:
        divide_amounts_by_100(repo)
        outcome = review(repo, capsys=capsys)
        assert outcome.code == 1
        against = outcome.report["against_prod"]
        assert against["compared"] is True
        orders = next(r for r in against["relations"] if r["relation"] == "fct_orders")
        assert orders["changed"] > 0
        assert set(orders["columns_changed"]) == {"amount_paid", "amount_refunded", "card_amount_paid"}
        payments = next(r for r in against["relations"] if r["relation"] == "stg_payments")
        assert payments["key"] == ["payment_id"]  # no key declared: inferred, unique in both
        assert set(payments["columns_changed"]) == {"amount"}
        assert fingerprint(warehouse) == before
    finally:
        for leftover in warehouse.parent.glob("warehouse.duckdb*"):
            leftover.unlink()


def _declare(repo: Repo, declarations: dict[str, list[dict[str, Any]]]) -> None:
    """Write `meta.quality.changes` for each model, in a YAML file of its own beside the models."""
    import yaml

    # dbt refuses two patches of one model: the declarations go into the models' own YAML files.
    for model, changes in declarations.items():
        for path in (repo.path / "dbt" / "models").rglob("*.yml"):
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for entry in document.get("models", []):
                if entry.get("name") == model:
                    config = entry.setdefault("config", {})
                    quality = config.setdefault("meta", {}).setdefault("quality", {})
                    quality["changes"] = changes
                    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


# --- the seeds-only sample project, made ready with `quality init` ----------------------------------------------

VOLATILE_MODEL = "select customer_id, current_timestamp as built_at from {{ ref('stg_customers') }}\n"
# A check-strategy snapshot stamps its versions with the time it ran.
CHECK_SNAPSHOT = """
snapshots:
  - name: customers_snapshot
    relation: ref('stg_customers')
    config:
      schema: snapshots
      unique_key: customer_id
      strategy: check
      check_cols: all
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    from quality.onboarding import scaffold

    path = tmp_path_factory.mktemp("pr_sample")
    shutil.copytree(SAMPLE, path / "dbt")
    (path / "pyproject.toml").write_text('[project]\nname = "jaffle"\nversion = "0.1.0"\n', encoding="utf-8")
    (path / "dbt" / "models" / "marts" / "customer_builds.sql").write_text(VOLATILE_MODEL, encoding="utf-8")
    (path / "dbt" / "snapshots").mkdir()
    (path / "dbt" / "snapshots" / "customers_snapshot.yml").write_text(CHECK_SNAPSHOT, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GIT_IDENTITY.items():
            patch.setenv(name, value)
        patch.setenv("JAFFLE_DUCKDB_PATH", str(path / "jaffle.duckdb"))
        patch.chdir(path)
        scaffold.apply(scaffold.plan(path / "dbt", path))
        init_repo(path)
        commit_all(path, "feat: the sample project")
        yield Repo(path)


@pytest.fixture
def sample_repo(sample: Repo) -> Iterator[Repo]:
    yield sample
    sample.restore()


def test_sample_project_harmless_change_passes_and_run_timestamps_are_found_and_ignored(
    sample_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_repo.edit(  # a comment, a renamed CTE and a reformatted file
        "dbt/models/marts/customers.sql",
        lambda text: (
            "-- one row per customer\n"
            + text.replace("with orders as", "with order_totals as")
            .replace("join orders as", "join order_totals as")
            .replace("    ", "  ")
        ),
    )
    outcome = review(sample_repo, capsys=capsys)
    assert outcome.code == 0, outcome.output
    volatile = {uid.split(".")[-1]: v["columns"] for uid, v in outcome.report["volatile"].items()}
    assert volatile == {
        "customer_builds": ["built_at"],
        "customers_snapshot": ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from"],
    }
    assert "ignored (differs between two builds of the same code): customer_builds built_at" in outcome.output
    assert outcome.report["batches"] == []  # the seeds are the raw data


def test_sample_project_defect_in_an_aggregate_fails_naming_the_column(
    sample_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_repo.replace(
        "dbt/models/marts/customers.sql", "count(*) as number_of_orders", "count(*) - 1 as number_of_orders"
    )
    outcome = review(sample_repo, capsys=capsys)
    assert outcome.code == 1
    finding = outcome.undeclared()[("customers", "column number_of_orders")]
    assert finding["rows"] > 0
    assert re.match(r"customer_id=\d+: \d+ -> \d+", finding["examples"][0])


def test_a_base_that_does_not_build_is_one_message_naming_it(
    sample_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = sample_repo.path / "dbt" / "models" / "marts" / "broken.sql"
    broken.write_text("select no_such_column from {{ ref('stg_customers') }}\n", encoding="utf-8")
    commit_all(sample_repo.path, "feat: a broken model")
    try:
        broken.unlink()  # the working tree fixes it; the base (HEAD) still has it
        code = main(["pr", "--project-dir", "dbt", "--base", "HEAD"])
        message = " ".join(capsys.readouterr().err.split())
        assert code == 1
        assert "the base revision" in message
        assert "does not build" in message
        assert "broken" in message
    finally:
        git(sample_repo.path, "reset", "--quiet", "--hard", "HEAD~1")


def test_a_shallow_clone_without_the_base_says_how_to_fetch_it(
    sample: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--depth", "1", sample.path.as_uri(), str(clone))
    monkeypatch.chdir(clone)
    code = main(["pr", "--project-dir", "dbt", "--base", "HEAD~1"])
    message = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "--base HEAD~1 is not a commit of this repository (this is a shallow clone" in message
    assert "fetch-depth: 0" in message
