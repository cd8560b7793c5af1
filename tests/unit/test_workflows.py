"""The GitHub workflows: schema-valid, zizmor-clean, secrets only where they cannot leak, and the PR template
naming checks that exist."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
SECRET_USE = re.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
SECRET_LITERALS = (
    re.compile(r"dapi[0-9a-f]{32}"),  # Databricks personal access token
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),  # GitHub tokens
    re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"hooks\.slack\.com/services/\w+"),  # Slack webhook URLs
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access keys
)
SECRET_NAMED_KEY = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|WEBHOOK)", re.I)


def load(path: Path) -> dict[Any, Any]:
    return dict(yaml.safe_load(path.read_text()))


def triggers(document: dict[Any, Any]) -> dict[str, Any]:
    """`on:` (PyYAML reads the bare key `on` as the boolean True)."""
    return dict(document["on"] if "on" in document else document[True])


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every scalar of a YAML document with the path of keys (and list indexes) leading to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))
    else:
        yield path, node


def test_there_are_the_three_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["cleanup.yml", "deploy.yml", "pr.yml"]


def test_every_workflow_matches_the_github_schema() -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok -- validation done"


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_zizmor_finds_nothing(persona: str) -> None:
    result = subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--no-progress",
            f"--persona={persona}",
            str(ROOT / ".github" / "workflows"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
class TestSecretsAndExpressions:
    def test_secrets_are_used_only_as_env_or_with_values(self, workflow: Path) -> None:
        for path, value in walk(load(workflow)):
            if isinstance(value, str) and any(SECRET_USE.search(e) for e in EXPRESSION.findall(value)):
                assert path[-2:-1] in (("env",), ("with",)), f"{workflow.name}: secret at {path}"

    def test_run_scripts_hold_no_expression_at_all(self, workflow: Path) -> None:
        """Values reach scripts through env, so nothing from an event can be spliced into shell code."""
        for path, value in walk(load(workflow)):
            if path and path[-1] == "run":
                assert "${{" not in str(value), f"{workflow.name}: expression in {path}"

    def test_no_secret_literal_anywhere(self, workflow: Path) -> None:
        text = workflow.read_text()
        for pattern in SECRET_LITERALS:
            assert not pattern.search(text), f"{workflow.name} holds a literal matching {pattern.pattern}"
        for path, value in walk(load(workflow)):
            if path and isinstance(path[-1], str) and SECRET_NAMED_KEY.search(path[-1]) and value:
                assert EXPRESSION.fullmatch(str(value).strip()), f"{workflow.name}: literal value for {path}"

    def test_actions_are_pinned_to_a_full_commit_sha(self, workflow: Path) -> None:
        uses = [value for path, value in walk(load(workflow)) if path and path[-1] == "uses"]
        assert uses
        assert all(PINNED.match(str(ref)) for ref in uses), uses

    def test_permissions_are_empty_at_the_top_and_granted_per_job(self, workflow: Path) -> None:
        document = load(workflow)
        assert document["permissions"] == {}
        for name, job in document["jobs"].items():
            granted = job["permissions"]
            assert set(granted) <= {"contents", "actions"}, (name, granted)
            assert set(granted.values()) == {"read"}, (name, granted)


class TestDeployWorkflow:
    def test_runs_on_main_and_semver_tags_one_at_a_time_never_cancelled(self) -> None:
        document = load(ROOT / ".github" / "workflows" / "deploy.yml")
        assert triggers(document) == {"push": {"branches": ["main"], "tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}
        assert document["concurrency"] == {"group": "deploy-prod", "cancel-in-progress": False}

    def test_steps_run_in_the_deploy_order(self) -> None:
        steps = load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]["deploy"]["steps"]
        runs = [" ".join(str(step.get("run", "")).split()) for step in steps]

        def index(fragment: str) -> int:
            return next(i for i, run in enumerate(runs) if fragment in run)

        order = [
            "uv sync --frozen",
            "dbt parse --project-dir dbt --profiles-dir dbt --target prod",
            "quality gate --target prod",
            "dbt snapshot",
            "quality deploy --wait",
            "pytest tests/smoke -m prod_smoke",
            "fetch-artifacts.sh gate-run",
            ".github/scripts/metrics.sh",
        ]
        assert [index(fragment) for fragment in order] == sorted(index(fragment) for fragment in order)

    def test_metrics_run_even_when_the_gate_failed(self) -> None:
        steps = load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]["deploy"]["steps"]
        metrics = next(step for step in steps if step.get("run") == ".github/scripts/metrics.sh")

        assert metrics["if"] == "${{ !cancelled() }}"

    def test_the_smoke_step_runs_as_the_read_only_principal(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]["deploy"]
        smoke = next(step for step in job["steps"] if "pytest tests/smoke -m prod_smoke" in str(step.get("run")))

        assert job["env"]["DATABRICKS_TOKEN"] == "${{ secrets.DATABRICKS_TOKEN }}"
        assert smoke["env"] == {
            "DATABRICKS_TOKEN": "${{ secrets.DATABRICKS_SMOKE_TOKEN }}",
            "DATABRICKS_CLIENT_ID": "${{ secrets.DATABRICKS_SMOKE_CLIENT_ID }}",
            "DATABRICKS_CLIENT_SECRET": "${{ secrets.DATABRICKS_SMOKE_CLIENT_SECRET }}",
        }
        # No credential of the deploy (token or OAuth client) reaches the smoke step.
        credentials = {
            name
            for name in job["env"]
            if name in ("DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET")
        }
        assert credentials == set(smoke["env"])


class TestPullRequestWorkflow:
    def test_the_offline_compile_renders_prod_against_the_fetched_state_with_no_secret(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["offline-compile"]
        runs = [" ".join(str(step.get("run", "")).split()) for step in job["steps"]]

        fetch = next(i for i, run in enumerate(runs) if "fetch-artifacts.sh prod-state state 1" in run)
        compile_ = next(i for i, run in enumerate(runs) if "uv run quality compile --target prod" in run)
        check = next(i for i, run in enumerate(runs) if "hooks.spark_functions" in run)
        assert fetch < compile_ < check
        assert "--target-path artifacts/compile-prod" in runs[compile_]
        assert "--state state/databricks" in runs[compile_]
        assert "--compiled-dir artifacts/compile-prod/compiled" in runs[check]
        assert not any(SECRET_USE.search(str(value)) for _, value in walk(job))

    def test_the_weakening_and_contract_guards_compare_the_pr_with_its_merge_base(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["weakening-guard"]
        runs = [" ".join(str(step.get("run", "")).split()) for step in job["steps"]]

        assert job["steps"][0]["with"] == {"persist-credentials": False, "fetch-depth": 0}
        assert (
            "uv run python -m hooks.weakening_guard --project-dir dbt --base origin/main "
            '--summary "$GITHUB_STEP_SUMMARY"'
        ) in runs
        contract = next(run for run in runs if "hooks.contract_guard" in run)
        assert contract.startswith('base="$(git merge-base origin/main HEAD)"')
        assert '--base "$base" dbt/dbt_project.yml' in contract
        assert not any(SECRET_USE.search(str(value)) for _, value in walk(job))

    def test_the_data_change_review_runs_quality_pr_against_the_merge_base_with_no_secret(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["data-change-review"]
        runs = [" ".join(str(step.get("run", "")).split()) for step in job["steps"]]

        assert job["steps"][0]["with"] == {"persist-credentials": False, "fetch-depth": 0}
        assert 'uv run quality pr --project-dir dbt --base origin/main --summary "$GITHUB_STEP_SUMMARY"' in runs
        assert job["permissions"] == {"contents": "read"}
        assert not any(SECRET_USE.search(str(value)) for _, value in walk(job))

    def test_the_fidelity_job_compares_both_engines_on_the_fixtures_with_no_secret(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["fidelity"]
        runs = [" ".join(str(step.get("run", "")).split()) for step in job["steps"]]

        assert not any("sysctl" in run or "sudo" in run for run in runs), "the endpoint needs no root: its tunnel"
        assert runs[-1] == "uv run quality fidelity --fixtures tests/fixtures/raw"
        assert not any(SECRET_USE.search(str(value)) for _, value in walk(job))

    def test_the_tox_job_runs_the_endpoint_tests_and_fails_when_one_of_them_skipped(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["tox"]
        runs = [str(step.get("run", "")).split("\n") for step in job["steps"]]
        lines = [" ".join(line.split()) for run in runs for line in run if line.strip()]

        assert "uv run tox -e lint,unit" in lines
        integration = lines.index('uv run tox -e integration -- -n 2 --junitxml "$RUNNER_TEMP/integration.xml"')
        assert lines[integration + 1] == 'python3 .ci/junit_verdict.py "$RUNNER_TEMP/integration.xml" 0'
        assert not any("sysctl" in line or "sudo" in line for line in lines)

    def test_the_ci_lane_builds_only_the_tag_ci_subset_through_the_plugin_with_no_secret(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["ci-lane"]
        lane = (ROOT / "tests" / "integration" / "test_ci_lane.py").read_text(encoding="utf-8")

        assert "needs" not in job, "the fast lane starts at once, next to tox"
        assert job["env"] == {"CI": "true"}
        assert job["steps"][-1] == {
            "name": "Build and test the tag:ci subset",
            "run": "uv run pytest tests/integration/test_ci_lane.py",
        }
        assert 'dbt.run(["build", "--select", "tag:ci"], expect_pass=False)' in lane
        assert not any(SECRET_USE.search(str(value)) for _, value in walk(job))

    def test_gx_data_docs_are_uploaded_after_quality_docs_and_none_fails_the_step(self) -> None:
        steps = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["slim-ci"]["steps"]
        names = [step.get("name") for step in steps]
        docs = steps[names.index("dbt docs and GX Data Docs of the PR's project (embedded engine)")]
        dbt_docs = steps[names.index("Upload the dbt docs")]
        data_docs = steps[names.index("Upload the GX Data Docs (none is an error)")]

        assert docs["run"] == "uv run quality docs --target local --fixtures tests/fixtures/raw --out artifacts/docs"
        assert names.index(docs["name"]) < names.index(dbt_docs["name"]) < names.index(data_docs["name"])
        assert dbt_docs["with"]["path"] == "artifacts/docs/\n!artifacts/docs/data_docs/\n"
        assert data_docs["if"] == "${{ !cancelled() }}"
        assert data_docs["uses"] == dbt_docs["uses"]
        assert data_docs["with"] == {
            "name": "gx-data-docs-pr${{ github.event.pull_request.number }}",
            "path": "artifacts/docs/data_docs/",  # `quality docs` writes <out>/data_docs/index.html
            "if-no-files-found": "error",
            "retention-days": 14,
        }

    def test_commit_messages_and_the_branch_name_are_checked_over_the_whole_pr(self) -> None:
        job = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["conventions"]
        runs = [" ".join(str(step.get("run", "")).split()) for step in job["steps"]]

        assert job["steps"][0]["with"] == {"persist-credentials": False, "fetch-depth": 0}
        assert job["env"] == {
            "BASE_SHA": "${{ github.event.pull_request.base.sha }}",
            "HEAD_SHA": "${{ github.event.pull_request.head.sha }}",
            "HEAD_REF": "${{ github.head_ref }}",
        }
        assert 'uv run python -m hooks.commit_msg "$RUNNER_TEMP/commit-$sha.txt" || status=1' in runs[-2]
        assert job["steps"][-1] == {
            "name": "The PR's branch name follows the naming rule",
            "if": "${{ !cancelled() }}",
            "run": 'uv run python -m hooks.branch_name --branch "$HEAD_REF"',
        }
        assert not any(SECRET_USE.search(str(value)) for _, value in walk(job))

    def test_the_commit_message_step_reports_every_bad_commit_of_the_range_and_fails(self, tmp_path: Path) -> None:
        steps = load(ROOT / ".github" / "workflows" / "pr.yml")["jobs"]["conventions"]["steps"]
        script = next(
            step["run"]
            for step in steps
            if step.get("name") == "Every commit message of the PR is a Conventional Commit"
        )
        repo, fake_bin, temp = tmp_path / "repo", tmp_path / "bin", tmp_path / "runner_temp"
        for folder in (repo, fake_bin, temp):
            folder.mkdir()
        uv = fake_bin / "uv"  # `uv run python -m ...` -> this interpreter, with our hooks importable
        uv.write_text('#!/bin/sh\nshift 2\nexec "$TEST_PYTHON" "$@"\n')
        uv.chmod(0o755)
        env = {
            "PATH": f"{fake_bin}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "TEST_PYTHON": sys.executable,
            "PYTHONPATH": str(ROOT),
            "RUNNER_TEMP": str(temp),
        }

        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout

        git("init", "-q", "-b", "main")
        shas = []
        for message in ("chore: base", "feat(marts): add fct_refunds", "added stuff", "fix: ok\nno blank line"):
            git("commit", "-q", "--allow-empty", "-m", message)
            shas.append(git("rev-parse", "HEAD").strip())
        env |= {"BASE_SHA": shas[0], "HEAD_SHA": shas[-1]}

        result = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True)

        assert result.returncode == 1, result.stdout + result.stderr
        assert sorted(path.name for path in temp.iterdir()) == sorted(f"commit-{sha}.txt" for sha in shas[1:])
        assert result.stdout.splitlines() == [
            f"{temp}/commit-{shas[2]}.txt:1: header 'added stuff' is not a Conventional Commit",
            "    fix: write '<type>(<scope>): <description>' with type one of feat, fix, chore, docs, style, "
            "refactor, perf, test, build, ci, revert, e.g. 'feat(marts): add fct_orders'",
            f"{temp}/commit-{shas[3]}.txt:2: the body starts right after the header",
            "    fix: leave line 2 empty",
        ], result.stdout


class TestCleanupWorkflow:
    def test_reaps_on_a_schedule(self) -> None:
        document = load(ROOT / ".github" / "workflows" / "cleanup.yml")
        steps = document["jobs"]["reap"]["steps"]

        assert triggers(document)["schedule"] == [{"cron": "17 */6 * * *"}]
        assert steps[-1]["run"] == "uv run quality reap --target ci --older-than 6h"


def slim_ci() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slim_ci", ROOT / ".github" / "scripts" / "slim_ci.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestSlimCi:
    def test_databricks_ci_target_only_with_host_and_a_credential(self) -> None:
        choose = slim_ci().choose_target

        assert choose({}) == "local"
        assert choose({"DATABRICKS_HOST": "https://adb-1.2.azuredatabricks.net", "DATABRICKS_TOKEN": ""}) == "local"
        assert choose({"DATABRICKS_HOST": "https://adb-1.2.azuredatabricks.net", "DATABRICKS_TOKEN": "t"}) == "ci"

    def test_selection_defers_on_databricks_and_builds_the_parents_of_children_on_duckdb(self, tmp_path: Path) -> None:
        module = slim_ci()
        for engine in ("databricks", "local"):
            (tmp_path / engine).mkdir()
            (tmp_path / engine / "manifest.json").write_text("{}")

        assert module.selection(tmp_path, "databricks") == [
            "--select",
            "state:new+",
            "state:modified.body+",
            "state:modified.configs+",
            "state:modified.persisted_descriptions+",
            "state:modified.macros+",
            "state:modified.contract+",
            "--defer",
            "--state",
            str((tmp_path / "databricks").resolve()),
        ]
        assert module.selection(tmp_path, "duckdb") == [
            "--select",
            "@state:new",
            "@state:modified.body",
            "@state:modified.configs",
            "@state:modified.persisted_descriptions",
            "@state:modified.macros",
            "@state:modified.contract",
            "--indirect-selection",
            "cautious",
            "--state",
            str((tmp_path / "local").resolve()),
        ]

    def test_no_manifest_for_the_engine_means_a_full_build(self, tmp_path: Path) -> None:
        (tmp_path / "local").mkdir()
        (tmp_path / "local" / "manifest.json").write_text("{}")

        assert slim_ci().selection(tmp_path, "databricks") == []


class TestPullRequestTemplate:
    TEMPLATE = ROOT / ".github" / "pull_request_template.md"

    def checklist(self) -> list[str]:
        items, current = [], ""
        for line in self.TEMPLATE.read_text().splitlines():
            if line.startswith("- [ ] "):
                current = line
                items.append(current)
            elif current and line.startswith("      "):
                items[-1] += " " + line.strip()
            else:
                current = ""
        return items

    def test_the_five_merge_checks_are_there_each_naming_its_proof(self) -> None:
        items = self.checklist()

        assert [re.search(r"\*\*(.+?)\*\*", item).group(1) for item in items] == [  # type: ignore[union-attr]
            "Tests pass",
            "Contract changes reviewed",
            "Docs updated",
            "Heavy models' performance checked",
            "No secret leaked",
        ]
        assert all("`" in item for item in items)

    def test_the_named_tox_envs_hooks_and_benchmark_exist(self) -> None:
        text = " ".join(self.checklist())
        tox_ini = (ROOT / "tox.ini").read_text()
        hooks = (ROOT / ".pre-commit-config.yaml").read_text()

        envs = [name for group in re.findall(r"`tox -e ([\w,]+)`", text) for name in group.split(",")]
        named_hooks = [n for pair in re.findall(r"hooks? `([\w-]+)`(?: and `([\w-]+)`)?", text) for n in pair if n]

        assert envs == ["lint", "unit", "integration", "docs"]
        assert named_hooks == ["dbt-contract-guard", "dbt-checkpoint", "detect-secrets", "profiles-safety"]
        for name in envs:
            assert f"[testenv:{name}]" in tox_ini, name
        for name in named_hooks:
            assert re.search(rf"(id|alias): {re.escape(name)}\n", hooks), name
        for check in ("check-model-has-contract", "check-model-has-description", "check-model-columns-have-desc"):
            assert f"id: {check}\n" in hooks
        assert (ROOT / "bench" / "bench_gx.py").is_file()
