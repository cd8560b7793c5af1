"""checkpoint_batch: the manual-stage dbt-checkpoint hooks of the config, with pre-commit's file filters."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from hooks import checkpoint_batch
from tests.hooks.conftest import MIRROR, PROJECT_ROOT

STG = "dbt/models/staging/shop/stg_shop__orders.sql"
STG_YML = "dbt/models/staging/shop/_shop__sources.yml"
FCT = "dbt/models/marts/facts/fct_orders.sql"
DIM = "dbt/models/marts/dims/dim_customers.sql"
MACRO = "dbt/macros/cents_to_dollars.sql"


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, checkpoint_batch.Check]:
    """The project's batched checks, with defaults from the pinned dbt-checkpoint's hook manifest."""
    repo_dir = tmp_path_factory.mktemp("dbt-checkpoint")
    manifest = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "show", "v2.0.10:.pre-commit-hooks.yaml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (repo_dir / ".pre-commit-hooks.yaml").write_text(manifest, encoding="utf-8")
    config = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    configured = checkpoint_batch.configured_checks(config, checkpoint_batch.manifest_hooks(repo_dir))
    by_name: dict[str, checkpoint_batch.Check] = {}
    for check in configured:
        name = check.hook_id if check.hook_id != "check-model-name-contract" else f"{check.hook_id} {check.args[1]}"
        by_name[name] = check
    return by_name


def _selected(check: checkpoint_batch.Check, *files: str) -> list[str]:
    return [name for name in files if check.selects(name)]


def test_the_batch_runs_the_manual_stage_checks_in_config_order(checks: dict[str, checkpoint_batch.Check]) -> None:
    assert list(checks) == [
        "check-script-semicolon",
        "check-script-has-no-table-name",
        "check-script-ref-and-source",
        "check-model-has-properties-file",
        "check-model-has-description",
        "check-model-columns-have-desc",
        "check-model-has-tests",
        "check-model-has-contract",
        "check-model-name-contract ^stg_",
        "check-model-name-contract ^int_",
        "check-model-name-contract ^dim_",
        "check-model-name-contract ^fct_",
        "check-source-has-freshness",
        "check-source-table-has-description",
        "check-source-columns-have-desc",
        "check-macro-has-description",
        "check-macro-arguments-have-desc",
    ]
    assert checks["check-model-has-tests"].args == ("--test-cnt", "1")


def test_files_regex_and_types_from_the_hook_manifest_apply(checks: dict[str, checkpoint_batch.Check]) -> None:
    files = (STG, STG_YML, FCT, DIM, MACRO, "dbt/dbt_project.yml", "README.md")
    assert _selected(checks["check-model-has-contract"], *files) == [FCT, DIM]
    assert _selected(checks["check-model-name-contract ^fct_"], *files) == [FCT]
    assert _selected(checks["check-source-has-freshness"], *files) == [STG_YML]
    assert _selected(checks["check-macro-has-description"], *files) == [MACRO]
    assert _selected(checks["check-model-has-description"], *files) == [STG, STG_YML, FCT, DIM]


def test_an_unknown_file_type_is_a_config_error() -> None:
    config = {
        "repos": [
            {
                "repo": "https://github.com/dbt-checkpoint/dbt-checkpoint",
                "hooks": [{"id": "check-model-has-tests", "stages": ["manual"], "types": ["jupyter"]}],
            }
        ]
    }
    with pytest.raises(
        checkpoint_batch.BatchConfigError, match=r"hook 'check-model-has-tests' filters on file types \['jupyter'\]"
    ):
        checkpoint_batch.configured_checks(config, {})


def test_main_reports_a_check_it_cannot_find_as_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "repos:\n  - repo: https://github.com/dbt-checkpoint/dbt-checkpoint\n    rev: v2.0.10\n    hooks:\n"
        "      - id: check-that-does-not-exist\n        stages: [manual]\n",
        encoding="utf-8",
    )
    argv = ["--config", str(config), "--repo-dir", str(tmp_path), "--checkpoint-config", str(tmp_path / "none")]
    assert checkpoint_batch.main([*argv, "a.sql"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "dbt-checkpoint checks failed: check-that-does-not-exist (each finding starts with its check's id)\n"
        "check-that-does-not-exist: BatchConfigError: no console script 'check-that-does-not-exist'"
    )


def test_each_finding_is_headed_by_its_check_id_and_its_items_are_indented() -> None:
    printed = (
        "models/a.sql: following columns are missing description:\n- id\n- name\n\n"
        "models/b.sql: does not use source() or ref() macros for tables:\n\n - raw.orders\n"
    )
    assert checkpoint_batch.headed("check-model-columns-have-desc", printed) == [
        "check-model-columns-have-desc: models/a.sql: following columns are missing description:",
        "    - id",
        "    - name",
        "check-model-columns-have-desc: models/b.sql: does not use source() or ref() macros for tables:",
        "    - raw.orders",
    ]
    assert checkpoint_batch.headed("check-model-has-tests", "\n") == ["check-model-has-tests: failed without a message"]


def test_the_table_name_check_reads_no_table_name_out_of_a_semicolon(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def has_table_name(sql: str, filename: str, dotless: bool | None = False) -> tuple[int, set[str]]:
        seen.append(sql)
        return 0, set()

    package = types.ModuleType("dbt_checkpoint")
    check = types.ModuleType("dbt_checkpoint.check_script_has_no_table_name")
    check.has_table_name = has_table_name  # type: ignore[attr-defined]
    package.check_script_has_no_table_name = check  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dbt_checkpoint", package)
    monkeypatch.setitem(sys.modules, "dbt_checkpoint.check_script_has_no_table_name", check)
    checkpoint_batch.semicolon_ends_a_table_name()
    assert check.has_table_name("select * from final;\n", "a.sql", False) == (0, set())  # type: ignore[attr-defined]
    assert seen == ["select * from final \n"]


def test_checks_see_paths_relative_to_the_dbt_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / ".dbt-checkpoint.yaml"
    config.write_text("version: 1\ndbt-project-dir: dbt\ndisable-tracking: true\n", encoding="utf-8")
    place = checkpoint_batch.Place.from_config(config)
    assert place.rebase([FCT, "README.md", "dbtx/a.sql"]) == ["models/marts/facts/fct_orders.sql"]
    manifest = tmp_path.resolve() / "dbt" / "target" / "pre-commit" / "manifest.json"
    assert place.options() == ["--config", str(config.resolve()), "--manifest", str(manifest)]
