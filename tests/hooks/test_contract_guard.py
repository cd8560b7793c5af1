"""contract_guard: a breaking change to an enforced contract fails unless versioned or approved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hooks import contract_guard
from tests.hooks.conftest import commit_all
from tests.hooks.project_files import FACTS_YML

FACTS = "dbt/models/marts/facts/_facts.yml"
BREAKING = " - a breaking change to its enforced contract (vs HEAD)"
FIX = (
    "    fix: keep the contract; or publish the change as a new version (add it under `versions:` and raise "
    "`latest_version`); or approve it in model 'fct_orders' YAML: "
    'config: meta: contract_change_approved: "<why this break is safe>"'
)
AMOUNT_COLUMN = """\
      - name: amount
        description: Order amount.
        data_type: double
"""


def _guard(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = contract_guard.main([FACTS, *extra])
    return code, capsys.readouterr().out.splitlines()


def _write_facts(text: str) -> None:
    Path(FACTS).write_text(text, encoding="utf-8")


def test_unchanged_contract_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _guard(capsys) == (0, [])


def test_removed_column_fails_naming_model_column_and_approval_key(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_facts(FACTS_YML.replace(AMOUNT_COLUMN, ""))
    assert _guard(capsys) == (
        1,
        [
            f"{FACTS}:3: model 'fct_orders': column 'amount' removed or renamed{BREAKING}",
            FIX,
        ],
    )


def test_changed_type_and_dropped_constraint_fail_at_the_column_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = FACTS_YML.replace("data_type: double", "data_type: decimal(18, 2)")
    text = text.replace("        constraints:\n          - type: not_null\n", "")
    _write_facts(text)
    code, out = _guard(capsys)
    assert code == 1
    assert [line for line in out if not line.startswith("    fix:")] == [
        f"{FACTS}:11: model 'fct_orders': column 'order_id' constraint 'not_null' removed or loosened{BREAKING}",
        f"{FACTS}:18: model 'fct_orders': column 'amount' data_type changed from 'double' to 'decimal(18, 2)'{BREAKING}",
    ]


def test_added_column_is_not_breaking(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_facts(FACTS_YML + "      - name: currency\n        description: ISO code.\n        data_type: varchar\n")
    assert _guard(capsys) == (0, [])


def test_switching_the_contract_off_fails(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_facts(FACTS_YML.replace("enforced: true", "enforced: false"))
    code, out = _guard(capsys)
    assert code == 1
    assert out[0] == f"{FACTS}:3: model 'fct_orders': contract no longer enforced{BREAKING}"


def _approved(reason: str) -> str:
    return FACTS_YML.replace(
        "        domain: shop\n", f'        domain: shop\n        contract_change_approved: "{reason}"\n'
    )


def test_an_approval_passes_once_and_a_stale_one_does_not(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_facts(_approved("amount moved to fct_order_lines; finance signed off").replace(AMOUNT_COLUMN, ""))
    assert _guard(capsys) == (0, [])
    commit_all(repo, "feat!: drop amount from fct_orders")
    stale = _approved("amount moved to fct_order_lines; finance signed off").replace(AMOUNT_COLUMN, "")
    _write_facts(stale.replace("data_type: integer\n        constraints", "data_type: bigint\n        constraints"))
    code, out = _guard(capsys)
    assert code == 1
    assert out[0] == (
        f"{FACTS}:12: model 'fct_orders': column 'order_id' data_type changed from 'integer' to 'bigint'{BREAKING}"
    )


VERSIONED = (
    FACTS_YML.replace("  - name: fct_orders\n", "  - name: fct_orders\n    latest_version: 1\n")
    + "    versions:\n      - v: 1\n"
)


def test_a_new_version_may_break_but_the_old_version_may_not(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_facts(VERSIONED)
    commit_all(repo, "feat: version fct_orders")
    bumped = VERSIONED.replace("latest_version: 1", "latest_version: 2") + (
        "      - v: 2\n        columns:\n          - include: all\n            exclude: [amount]\n"
    )
    _write_facts(bumped)
    assert _guard(capsys) == (0, [])
    broken_v1 = bumped.replace(
        "      - v: 1\n",
        "      - v: 1\n        columns:\n          - include: all\n            exclude: [customer_id]\n",
    )
    _write_facts(broken_v1)
    code, out = _guard(capsys)
    assert code == 1
    assert out[0] == f"{FACTS}:25: model 'fct_orders' v1: column 'customer_id' removed or renamed{BREAKING}"


def test_contract_enforced_by_the_folder_in_dbt_project_yml_is_guarded(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = Path("dbt/dbt_project.yml")
    project.write_text(
        project.read_text(encoding="utf-8").replace(
            "    marts:\n", "    marts:\n      +contract:\n        enforced: true\n"
        ),
        encoding="utf-8",
    )
    _write_facts(FACTS_YML.replace("      contract:\n        enforced: true\n", ""))
    commit_all(repo, "chore: enforce contracts for all marts")
    _write_facts(FACTS_YML.replace("      contract:\n        enforced: true\n", "").replace(AMOUNT_COLUMN, ""))
    code, out = _guard(capsys)
    assert code == 1
    assert out[0].startswith(f"{FACTS}:3: model 'fct_orders': column 'amount' removed or renamed")


def _prod_manifest(path: Path) -> Path:
    column: dict[str, object] = {"data_type": "integer", "constraints": []}
    node: dict[str, object] = {
        "resource_type": "model",
        "name": "fct_orders",
        "version": None,
        "latest_version": None,
        "config": {"contract": {"enforced": True}, "meta": {}},
        "columns": {
            "order_id": {"data_type": "integer", "constraints": [{"type": "not_null"}]},
            "customer_id": column,
            "amount": {"data_type": "double", "constraints": []},
            "legacy_order_number": {"data_type": "varchar", "constraints": []},
        },
        "constraints": [],
    }
    path.write_text(json.dumps({"nodes": {"model.shop_test.fct_orders": node}}), encoding="utf-8")
    return path


def test_prod_manifest_catches_a_break_committed_earlier(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = _prod_manifest(tmp_path_factory.mktemp("prod") / "manifest.json")
    code, out = _guard(capsys, "--prod-manifest", str(prod))
    assert code == 1
    assert out[0] == (
        f"{FACTS}:3: model 'fct_orders': column 'legacy_order_number' removed or renamed - "
        "a breaking change to its enforced contract (vs the prod manifest)"
    )
    _write_facts(_approved("legacy_order_number retired, see ADR-12"))
    assert _guard(capsys, "--prod-manifest", str(prod)) == (0, [])


def test_invalid_yaml_is_reported_with_file_and_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_facts(FACTS_YML.replace("    description: One row per order.\n", "    description: [One row\n"))
    code, out = _guard(capsys)
    assert code == 1
    assert out[0].startswith(f"{FACTS}:5: invalid YAML: ")


FCT_SQL = "dbt/models/marts/facts/fct_orders.sql"


def test_switching_the_contract_off_in_the_model_sql_fails_until_approved(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = Path(FCT_SQL).read_text(encoding="utf-8")
    Path(FCT_SQL).write_text("{{ config(contract={'enforced': false}) }}\n" + source, encoding="utf-8")

    code, out = (contract_guard.main([FCT_SQL]), capsys.readouterr().out)

    assert code == 1
    assert "model 'fct_orders': contract" in out
    assert "a breaking change to its enforced contract (vs HEAD)" in out
    _write_facts(
        FACTS_YML.replace(
            "      meta:\n        domain: shop\n",
            '      meta:\n        domain: shop\n        contract_change_approved: "dropped for the backfill"\n',
        )
    )
    assert contract_guard.main([FCT_SQL, FACTS]) == 0


def test_an_edit_of_dbt_project_yml_puts_every_contract_up_for_comparison(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_facts(FACTS_YML.replace("      contract:\n        enforced: true\n", ""))
    project_yml = Path("dbt/dbt_project.yml")
    marts = "    marts:\n      +materialized: table\n"
    text = project_yml.read_text(encoding="utf-8")
    assert marts in text
    project_yml.write_text(text.replace(marts, marts + "      +contract:\n        enforced: true\n"), encoding="utf-8")
    commit_all(repo, "feat: contracts enforced by folder")
    assert contract_guard.main([str(project_yml)]) == 0
    capsys.readouterr()
    project_yml.write_text(project_yml.read_text(encoding="utf-8").replace("enforced: true", "enforced: false"))

    code, out = (contract_guard.main([str(project_yml)]), capsys.readouterr().out)

    assert code == 1
    assert "model 'fct_orders': contract" in out
    assert "(vs HEAD)" in out
