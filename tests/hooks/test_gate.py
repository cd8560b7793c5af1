"""The real gate: `pre-commit run` (and `git commit` / `git push`) in temporary repositories, offline.

Each hook is shown to fail on a seeded violation and to pass once it is fixed. The repositories are
copies of one warm template (see conftest.py), so only the first test of a session installs anything.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.hooks.conftest import PreCommit, output_of, run_hook, write
from tests.hooks.project_files import CRM_SOURCES_YML, FACTS_YML, FILES, MACROS_YML, SHOP_MODELS_YML

STG_CRM = "dbt/models/staging/crm/stg_crm__customers.sql"
STG_SHOP = "dbt/models/staging/shop/stg_shop__orders.sql"
FCT = "dbt/models/marts/facts/fct_orders.sql"
FACTS = "dbt/models/marts/facts/_facts.yml"


def _restore(repo: Path, *relatives: str) -> None:
    for relative in relatives:
        write(repo, relative, FILES[relative.removeprefix("dbt/")])


def _seed_and_run(
    pre_commit: PreCommit, repo: Path, hook: str, relative: str, text: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Write `text` to `relative` and run `hook` on that file alone."""
    write(repo, relative, text)
    return run_hook(pre_commit, repo, hook, [relative], *extra)


def _status(output: str, hook_name: str) -> str:
    """The status pre-commit printed for a hook: Passed, Failed or "(no files to check)Skipped"."""
    line = next(line for line in output.splitlines() if line.startswith(hook_name))
    return line.rstrip(".").rsplit(".", 1)[-1]


def test_a_clean_change_to_one_model_passes_every_hook(pre_commit: PreCommit, gate_repo: Path) -> None:
    write(
        gate_repo, FCT, FILES["models/marts/facts/fct_orders.sql"].replace("    amount\n", "    amount  -- in euros\n")
    )
    pre_commit.git(gate_repo, "add", "--all")
    result = pre_commit.run(gate_repo, "run", "--files", FCT)
    assert result.returncode == 0, output_of(result)
    for hook_name in ("sqlfluff lint", "dbt manifest", "dbt layering", "dbt-checkpoint checks"):
        assert _status(result.stdout, hook_name) == "Passed", hook_name


def test_an_sql_body_edit_starts_no_dbt_parse_in_the_background_or_in_the_hook(
    pre_commit: PreCommit, gate_repo: Path
) -> None:
    target = gate_repo / "dbt" / "target" / "pre-commit"
    state = [target / name for name in (".quality-prefetch.json", "prefetch.log", "manifest.json")]
    before = [path.stat().st_mtime_ns if path.exists() else None for path in state]
    write(
        gate_repo, FCT, FILES["models/marts/facts/fct_orders.sql"].replace("    amount\n", "    amount * 2 as amount\n")
    )
    pre_commit.git(gate_repo, "add", "--all")
    result = pre_commit.run(gate_repo, "run", "--verbose", "--files", FCT)
    assert result.returncode == 0, output_of(result)
    assert "parsed dbt" not in result.stdout
    assert [path.stat().st_mtime_ns if path.exists() else None for path in state] == before


def test_a_graph_change_is_parsed_once_in_the_background_while_the_other_hooks_run(
    pre_commit: PreCommit, gate_repo: Path
) -> None:
    source = FILES["models/marts/facts/fct_orders.sql"]
    write(gate_repo, FCT, "{{ config(tags=['finance']) }}\n" + source)
    pre_commit.git(gate_repo, "add", "--all")
    result = pre_commit.run(gate_repo, "run", "--verbose", "--files", FCT)
    assert result.returncode == 0, output_of(result)
    # The dbt-manifest hook either waited for the background parse or found it already done; it never
    # parsed in the foreground (that prints "parsed dbt in <n> s ->").
    assert re.search(r"^parsed dbt in [0-9.]+ s ->", result.stdout, re.MULTILINE) is None, result.stdout
    prefetch_log = gate_repo / "dbt" / "target" / "pre-commit" / "prefetch.log"
    assert prefetch_log.read_text(encoding="utf-8").startswith("parsed dbt in ")
    manifest = json.loads((gate_repo / "dbt" / "target" / "pre-commit" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["nodes"]["model.shop_test.fct_orders"]["tags"] == ["finance"]


def test_sqlfluff_reports_style_and_non_databricks_sql_with_file_and_line(
    pre_commit: PreCommit, gate_repo: Path
) -> None:
    write(gate_repo, STG_CRM, "SELECT\n    id AS customer_id\nFROM {{ source('crm', 'customers') }}\n")
    result = run_hook(pre_commit, gate_repo, "sqlfluff-lint", [STG_CRM])
    assert result.returncode == 1
    assert f"== [{STG_CRM}] FAIL" in result.stdout
    assert "L:   1 | P:   1 | CP01 | Keywords must be lower case." in result.stdout
    tsql = "-- customers\n-- (T-SQL, not Databricks)\nselect top 5\n    id as customer_id\nfrom {{ source('crm', 'customers') }}\n"
    result = _seed_and_run(pre_commit, gate_repo, "sqlfluff-lint", STG_CRM, tsql)
    assert result.returncode == 1
    assert "L:   3 | P:  12 |  PRS | Line 3, Position 12: Found unparsable section:" in result.stdout
    assert "WARNING: Parsing errors found and dialect is set to 'databricks'." in result.stdout
    assert (gate_repo / STG_CRM).read_text(encoding="utf-8") == tsql, "lint never rewrites"
    _restore(gate_repo, STG_CRM)
    assert run_hook(pre_commit, gate_repo, "sqlfluff-lint", [STG_CRM]).returncode == 0


def test_dbt_manifest_names_file_and_line_of_a_model_that_does_not_compile(
    pre_commit: PreCommit, gate_repo: Path
) -> None:
    result = _seed_and_run(
        pre_commit, gate_repo, "dbt-manifest", FCT, "select order_id\nfrom {{ ref('int_orders_enriched') }\n"
    )
    assert result.returncode == 1
    assert f"{FCT}:2: dbt parse failed: unexpected '}}'" in result.stdout
    _restore(gate_repo, FCT)
    assert run_hook(pre_commit, gate_repo, "dbt-manifest", [FCT]).returncode == 0


CHECKPOINT_FAILURES = {
    "check-script-semicolon": "models/staging/crm/stg_crm__customers.sql: contains a semicolon at the end.",
    "check-script-has-no-table-name": "models/marts/facts/orders_summary.sql: does not use source() or ref()",
    "check-model-has-properties-file": "models/marts/facts/orders_summary.sql: does not have model properties",
    "check-model-has-description": "models/marts/facts/orders_summary.sql: does not have defined description",
    "check-model-columns-have-desc": "models/staging/shop/stg_shop__orders.sql: following columns are missing",
    "check-model-has-tests": "orders_summary: has only 0 tests, but 1 are required.",
    "check-model-has-contract": "orders_summary: doesn't have contract defined.",
    "check-model-name-contract": "orders_summary: model does not match regex pattern ^fct_.",
    "check-source-has-freshness": "crm.customers: is missing `loaded_at_field` which is required for freshness.",
    "check-source-table-has-description": "crm.customers: does not have defined description.",
    "check-macro-has-description": "macros/cents_to_dollars.sql: does not have defined description",
    "check-source-columns-have-desc": "crm.customers: following columns are missing description:",
    "check-macro-arguments-have-desc": "macros/cents_to_dollars.sql: following arguments are missing description:",
}


def test_each_dbt_checkpoint_check_catches_its_violation(pre_commit: PreCommit, gate_repo: Path) -> None:
    summary = "dbt/models/marts/facts/orders_summary.sql"
    write(
        gate_repo,
        summary,
        "select order_id\nfrom {{ ref('fct_orders') }}\nunion all\nselect order_id\nfrom analytics.orders_backfill\n",
    )
    write(gate_repo, STG_CRM, FILES["models/staging/crm/stg_crm__customers.sql"] + ";\n")
    crm_sources = CRM_SOURCES_YML.replace("        description: One row per customer.\n", "")
    write(
        gate_repo,
        "dbt/models/staging/crm/_crm__sources.yml",
        crm_sources.split("    config:\n")[0]
        + "    tables:\n      - name: customers\n        columns:\n          - name: id\n",
    )
    write(
        gate_repo,
        "dbt/models/staging/shop/_shop__models.yml",
        SHOP_MODELS_YML.replace("        description: Customer key.\n", ""),
    )
    write(
        gate_repo,
        "dbt/macros/_macros.yml",
        MACROS_YML.replace("    description: Converts an amount in cents to dollars.\n", "").replace(
            "        description: Column or expression holding cents.\n", ""
        ),
    )
    changed = [
        summary,
        STG_CRM,
        "dbt/models/staging/crm/_crm__sources.yml",
        "dbt/models/staging/shop/_shop__models.yml",
        "dbt/macros/_macros.yml",
        "dbt/macros/cents_to_dollars.sql",
        STG_SHOP,
    ]
    assert run_hook(pre_commit, gate_repo, "dbt-manifest", changed).returncode == 0
    result = run_hook(pre_commit, gate_repo, "dbt-checkpoint", changed)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    header = re.compile(
        r"dbt-checkpoint checks failed: (.+) \(each finding starts with its check's id; paths relative to dbt/\)"
    )
    (failed,) = [match.group(1).split(", ") for line in lines if (match := header.fullmatch(line))]
    assert sorted(failed) == sorted(CHECKPOINT_FAILURES)
    for check, message in CHECKPOINT_FAILURES.items():
        assert any(line.startswith(f"{check}: {message}") for line in lines), check
    (gate_repo / summary).unlink()
    _restore(
        gate_repo,
        STG_CRM,
        "dbt/models/staging/crm/_crm__sources.yml",
        "dbt/models/staging/shop/_shop__models.yml",
        "dbt/macros/_macros.yml",
    )
    changed.remove(summary)
    assert run_hook(pre_commit, gate_repo, "dbt-manifest", changed).returncode == 0
    result = run_hook(pre_commit, gate_repo, "dbt-checkpoint", changed)
    assert result.returncode == 0, output_of(result)


def _checkpoint_findings(output: str) -> list[str]:
    """The lines the batch printed under pre-commit's header of the dbt-checkpoint hook."""
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("dbt-checkpoint checks failed: "))
    return [line for line in lines[start + 1 :] if line.strip()]


def test_a_missing_description_is_headed_by_its_own_check_id(pre_commit: PreCommit, gate_repo: Path) -> None:
    """pre-commit heads the batch with its hook id, `check-script-semicolon`; each finding names its check."""
    write(gate_repo, FACTS, FACTS_YML.replace("    description: One row per order.\n", ""))
    assert run_hook(pre_commit, gate_repo, "dbt-manifest", [FACTS]).returncode == 0
    result = run_hook(pre_commit, gate_repo, "dbt-checkpoint", [FACTS])
    assert result.returncode == 1
    assert "- hook id: check-script-semicolon\n" in result.stdout  # pre-commit's, not ours to change
    assert _checkpoint_findings(result.stdout) == [
        "check-model-has-description: models/marts/facts/fct_orders.sql: does not have defined description "
        "or properties file is missing."
    ]


def test_a_trailing_semicolon_is_a_semicolon_finding_and_no_table_name(pre_commit: PreCommit, gate_repo: Path) -> None:
    cte = "with final as (\n    select order_id, customer_id, amount\n    from {{ ref('int_orders_enriched') }}\n)\n\n"
    result = _seed_and_run(pre_commit, gate_repo, "dbt-checkpoint", FCT, cte + "select * from final;\n")
    assert result.returncode == 1
    assert _checkpoint_findings(result.stdout) == [
        "check-script-semicolon: models/marts/facts/fct_orders.sql: contains a semicolon at the end. "
        "dbt does not support that."
    ]
    write(gate_repo, FCT, cte + "select * from final\nunion all\nselect * from analytics.orders_backfill;\n")
    result = run_hook(pre_commit, gate_repo, "dbt-checkpoint", [FCT])
    assert _checkpoint_findings(result.stdout) == [
        "check-script-semicolon: models/marts/facts/fct_orders.sql: contains a semicolon at the end. "
        "dbt does not support that.",
        "check-script-has-no-table-name: models/marts/facts/fct_orders.sql: does not use source() or ref() "
        "macros for tables:",
        "    - analytics.orders_backfill",
    ]


def test_a_check_stays_runnable_alone_in_the_manual_stage(pre_commit: PreCommit, gate_repo: Path) -> None:
    write(gate_repo, STG_CRM, FILES["models/staging/crm/stg_crm__customers.sql"] + ";\n")
    result = run_hook(pre_commit, gate_repo, "check-script-semicolon", [STG_CRM], "--hook-stage", "manual")
    assert result.returncode == 1
    assert f"{STG_CRM}: contains a semicolon at the end." in output_of(result).replace("\x1b[91m", "").replace(
        "\x1b[0m", ""
    )


def test_layering_fails_a_staging_model_that_reads_a_ref(pre_commit: PreCommit, gate_repo: Path) -> None:
    write(
        gate_repo,
        STG_SHOP,
        "select o.*\nfrom {{ source('shop', 'orders') }} as o\n"
        "inner join {{ ref('stg_crm__customers') }} as c on o.customer_id = c.customer_id\n",
    )
    result = run_hook(pre_commit, gate_repo, "dbt-layering", [STG_SHOP])
    assert result.returncode == 1
    assert (
        f"{STG_SHOP}:3: staging model 'stg_shop__orders' reads ref('stg_crm__customers'): "
        "staging models read only sources"
    ) in result.stdout
    _restore(gate_repo, STG_SHOP)
    assert run_hook(pre_commit, gate_repo, "dbt-layering", [STG_SHOP]).returncode == 0


def test_contract_guard_fails_a_removed_column_until_approved(pre_commit: PreCommit, gate_repo: Path) -> None:
    amount = "      - name: amount\n        description: Order amount.\n        data_type: double\n"
    result = _seed_and_run(pre_commit, gate_repo, "dbt-contract-guard", FACTS, FACTS_YML.replace(amount, ""))
    assert result.returncode == 1
    assert f"{FACTS}:3: model 'fct_orders': column 'amount' removed or renamed" in result.stdout
    assert "contract_change_approved" in result.stdout
    approved = FACTS_YML.replace(amount, "").replace(
        "        domain: shop\n", '        domain: shop\n        contract_change_approved: "amount moved to lines"\n'
    )
    assert _seed_and_run(pre_commit, gate_repo, "dbt-contract-guard", FACTS, approved).returncode == 0


def test_profiles_safety_and_detect_secrets_fail_a_literal_token(pre_commit: PreCommit, gate_repo: Path) -> None:
    token = "dapi" + "5e6f" * 8
    profiles = FILES["profiles.yml"].replace("\"{{ env_var('DATABRICKS_TOKEN') }}\"", token)
    result = _seed_and_run(pre_commit, gate_repo, "profiles-safety", "dbt/profiles.yml", profiles)
    assert result.returncode == 1
    assert "dbt/profiles.yml:12: `token` of output 'dev' of profile 'shop_test' is a literal value" in result.stdout
    assert token not in result.stdout
    aws = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    result = _seed_and_run(pre_commit, gate_repo, "detect-secrets", "notes.txt", f"aws_access_key_id = {aws}\n")
    assert result.returncode == 1
    assert "Secret Type: AWS Access Key" in result.stdout
    (gate_repo / "notes.txt").unlink()
    _restore(gate_repo, "dbt/profiles.yml")
    assert run_hook(pre_commit, gate_repo, "profiles-safety", ["dbt/profiles.yml"]).returncode == 0
    assert run_hook(pre_commit, gate_repo, "detect-secrets", ["dbt/profiles.yml"]).returncode == 0


def test_ruff_checks_and_never_rewrites(pre_commit: PreCommit, gate_repo: Path) -> None:
    unformatted = "import os\ndef f( x ):\n    return x\n"
    lint = _seed_and_run(pre_commit, gate_repo, "ruff-check", "tools/helper.py", unformatted)
    assert lint.returncode == 1
    assert "F401" in lint.stdout
    fmt = run_hook(pre_commit, gate_repo, "ruff-format", ["tools/helper.py"])
    assert fmt.returncode == 1
    assert "1 file would be reformatted" in fmt.stdout
    assert (gate_repo / "tools/helper.py").read_text(encoding="utf-8") == unformatted
    write(gate_repo, "tools/helper.py", "def f(x: int) -> int:\n    return x\n")
    assert run_hook(pre_commit, gate_repo, "ruff-check", ["tools/helper.py"]).returncode == 0
    assert run_hook(pre_commit, gate_repo, "ruff-format", ["tools/helper.py"]).returncode == 0


def test_hygiene_hooks_fail_conflict_markers_invalid_yaml_and_trailing_space(
    pre_commit: PreCommit, gate_repo: Path
) -> None:
    write(gate_repo, "docs/notes.md", "title\n<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> branch\n")
    # The hook looks only while a merge is open (MERGE_MSG and MERGE_HEAD), as git leaves it on a conflict.
    write(gate_repo, ".git/MERGE_MSG", "Merge branch 'feat/x'\n")
    write(gate_repo, ".git/MERGE_HEAD", pre_commit.git(gate_repo, "rev-parse", "HEAD").stdout)
    conflict = run_hook(pre_commit, gate_repo, "check-merge-conflict", ["docs/notes.md"])
    assert conflict.returncode == 1
    assert "docs/notes.md:2: Merge conflict string '<<<<<<<' found" in conflict.stdout
    result = _seed_and_run(pre_commit, gate_repo, "check-yaml", "config/settings.yml", "a: 1\nb: [2\n")
    assert result.returncode == 1
    assert 'in "config/settings.yml", line 2' in result.stdout
    result = _seed_and_run(pre_commit, gate_repo, "trailing-whitespace", "docs/notes.md", "title   \n")
    assert (result.returncode, "Fixing docs/notes.md" in result.stdout) == (1, True), "a fix is reported, never silent"
    write(gate_repo, "config/settings.yml", "a: 1\nb: [2]\n")
    assert run_hook(pre_commit, gate_repo, "check-merge-conflict", ["docs/notes.md"]).returncode == 0
    assert run_hook(pre_commit, gate_repo, "check-yaml", ["config/settings.yml"]).returncode == 0


def test_hygiene_hooks_fail_a_missing_newline_broken_toml_and_json_and_a_large_file(
    pre_commit: PreCommit, gate_repo: Path
) -> None:
    fixed = _seed_and_run(pre_commit, gate_repo, "end-of-file-fixer", "docs/notes.md", "no newline at the end")
    assert (fixed.returncode, "Fixing docs/notes.md" in fixed.stdout) == (1, True), "a fix is reported, never silent"
    toml = _seed_and_run(pre_commit, gate_repo, "check-toml", "config/tool.toml", '[tool]\nname = "x\nother = 1\n')
    assert toml.returncode == 1
    assert "config/tool.toml: " in toml.stdout
    json_check = _seed_and_run(pre_commit, gate_repo, "check-json", "config/data.json", '{"a": 1,}\n')
    assert json_check.returncode == 1
    assert "config/data.json: Failed to json decode (" in json_check.stdout
    write(
        gate_repo,
        "data/big.csv",
        "id,payload\n" + "1,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" * 12_000,
    )
    large = run_hook(pre_commit, gate_repo, "check-added-large-files", ["data/big.csv"])
    assert large.returncode == 1
    assert "data/big.csv (" in large.stdout
    assert "KB) exceeds 600 KB." in large.stdout

    write(gate_repo, "config/tool.toml", '[tool]\nname = "x"\n')
    write(gate_repo, "config/data.json", '{"a": 1}\n')
    (gate_repo / "data" / "big.csv").write_text("id\n1\n", encoding="utf-8")
    for hook, files in (
        ("end-of-file-fixer", ["docs/notes.md"]),
        ("check-toml", ["config/tool.toml"]),
        ("check-json", ["config/data.json"]),
        ("check-added-large-files", ["data/big.csv"]),
    ):
        assert run_hook(pre_commit, gate_repo, hook, files).returncode == 0, hook


def test_model_names_follow_their_folder_staging_intermediate_and_dims(pre_commit: PreCommit, gate_repo: Path) -> None:
    misnamed = {
        "dbt/models/staging/shop/shop_orders_copy.sql": ("stg_shop__orders.sql", "^stg_"),
        "dbt/models/intermediate/orders_enriched_copy.sql": ("int_orders_enriched.sql", "^int_"),
        "dbt/models/marts/dims/customers_copy.sql": ("dim_customers.sql", "^dim_"),
    }
    folders = {"stg_shop__orders.sql": "models/staging/shop/", "int_orders_enriched.sql": "models/intermediate/"}
    for path, (original, _pattern) in misnamed.items():
        write(gate_repo, path, FILES[folders.get(original, "models/marts/dims/") + original])
    changed = list(misnamed)
    assert run_hook(pre_commit, gate_repo, "dbt-manifest", changed).returncode == 0
    result = run_hook(pre_commit, gate_repo, "dbt-checkpoint", changed)
    assert result.returncode == 1
    for path, (_original, pattern) in misnamed.items():
        name = Path(path).stem
        assert f"{name}: model does not match regex pattern {pattern}." in result.stdout, name


INJECTABLE_WORKFLOW = """\
name: greet
on:
  issues:
    types: [opened]
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }}"
"""


def test_workflows_are_checked_by_schema_and_by_zizmor(pre_commit: PreCommit, gate_repo: Path) -> None:
    workflow = ".github/workflows/greet.yml"
    write(gate_repo, workflow, INJECTABLE_WORKFLOW.replace("    runs-on: ubuntu-latest\n", ""))
    schema = run_hook(pre_commit, gate_repo, "check-github-workflows", [workflow])
    assert schema.returncode == 1
    assert "Schema validation errors were encountered." in schema.stdout
    assert _seed_and_run(pre_commit, gate_repo, "check-github-workflows", workflow, INJECTABLE_WORKFLOW).returncode == 0
    audit = run_hook(pre_commit, gate_repo, "zizmor", [workflow])
    assert audit.returncode != 0
    assert "template-injection" in audit.stdout
    safe = INJECTABLE_WORKFLOW.replace(
        '      - run: echo "${{ github.event.issue.title }}"\n',
        '      - run: echo "$TITLE"\n        env:\n          TITLE: ${{ github.event.issue.title }}\n',
    )
    result = _seed_and_run(pre_commit, gate_repo, "zizmor", workflow, safe)
    assert result.returncode == 0, output_of(result)


def test_commit_msg_and_pre_push_hooks_guard_real_git_commands(
    pre_commit: PreCommit, gate_repo: Path, tmp_path: Path
) -> None:
    installed = pre_commit.run(gate_repo, "install")
    assert installed.returncode == 0, output_of(installed)
    assert "pre-commit installed at .git/hooks/commit-msg" in installed.stdout
    assert "pre-commit installed at .git/hooks/pre-push" in installed.stdout
    write(gate_repo, "docs/notes.md", "notes\n")
    pre_commit.git(gate_repo, "add", "--all")
    rejected = pre_commit.git(gate_repo, "commit", "-m", "Added notes")
    assert rejected.returncode == 1
    assert "header 'Added notes' is not a Conventional Commit" in output_of(rejected)
    accepted = pre_commit.git(gate_repo, "commit", "-m", "docs: add notes")
    assert accepted.returncode == 0, output_of(accepted)

    remote = tmp_path / "remote.git"
    assert pre_commit.git(tmp_path, "init", "--quiet", "--bare", str(remote)).returncode == 0
    assert pre_commit.git(gate_repo, "remote", "add", "origin", str(remote)).returncode == 0
    assert pre_commit.git(gate_repo, "checkout", "--quiet", "-b", "wip").returncode == 0
    refused = pre_commit.git(gate_repo, "push", "origin", "wip")
    assert refused.returncode == 1
    assert "branch 'wip' does not follow the naming rule" in output_of(refused)
    assert pre_commit.git(gate_repo, "branch", "-m", "wip", "feat/notes").returncode == 0
    pushed = pre_commit.git(gate_repo, "push", "origin", "feat/notes")
    assert pushed.returncode == 0, output_of(pushed)


def test_sqlfluff_fix_runs_only_when_asked(pre_commit: PreCommit, gate_repo: Path) -> None:
    write(gate_repo, STG_CRM, "SELECT\n    id AS customer_id,\n    full_name\nFROM {{ source('crm', 'customers') }}\n")
    assert run_hook(pre_commit, gate_repo, "sqlfluff-lint", [STG_CRM]).returncode == 1
    fixed = run_hook(pre_commit, gate_repo, "sqlfluff-fix", [STG_CRM], "--hook-stage", "manual")
    assert fixed.returncode == 1, "pre-commit reports the rewrite as a failure to review"
    assert (gate_repo / STG_CRM).read_text(encoding="utf-8") == FILES["models/staging/crm/stg_crm__customers.sql"]
    assert run_hook(pre_commit, gate_repo, "sqlfluff-lint", [STG_CRM]).returncode == 0
