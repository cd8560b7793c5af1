"""The job's settings, the task entry script, and the Asset Bundle that must describe the same job."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from quality.deploy import job_entry
from quality.deploy.job_spec import (
    SECRET_ENV,
    GitRef,
    JobOptions,
    build_job_settings,
    runtime_requirements,
)
from quality.deploy.outputs import extract_report

ROOT = Path(__file__).resolve().parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"  # pragma: allowlist secret
GIT = GitRef(url="https://github.com/acme/retail", kind="commit", value=SHA)
SECRET_REFERENCE = re.compile(r"^\{\{secrets/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\}\}$")


def spec(**overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"git": GIT, **overrides}
    return build_job_settings(JobOptions(**options)).as_dict()


class TestJobSettings:
    def test_the_gate_task_runs_the_entry_script_from_git(self) -> None:
        gate = spec()["tasks"][0]

        assert gate["task_key"] == "gate"
        assert gate["spark_python_task"] == {
            "python_file": "quality/deploy/job_entry.py",
            "source": "GIT",
            "parameters": ["gate", "--target", "prod"],
        }
        assert (gate["job_cluster_key"], gate["max_retries"]) == ("quality", 0)

    def test_the_snapshot_task_runs_only_after_a_green_gate(self) -> None:
        snapshot = spec(target="staging")["tasks"][1]

        assert snapshot["depends_on"] == [{"task_key": "gate"}]
        assert snapshot["run_if"] == "ALL_SUCCESS"
        assert snapshot["dbt_task"] == {
            "project_directory": "dbt",
            "profiles_directory": ".",
            "commands": ["dbt deps", "dbt snapshot --target staging"],
            "source": "GIT",
        }

    def test_every_cluster_variable_is_a_secret_reference_in_the_chosen_scope(self) -> None:
        env = spec(secret_scope="quality-prod")["job_clusters"][0]["new_cluster"]["spark_env_vars"]

        assert all(SECRET_REFERENCE.match(value) for value in env.values())
        assert env["DATABRICKS_TOKEN"] == "{{secrets/quality-prod/databricks_token}}"
        assert tuple(env) == job_entry.REQUIRED_ENV == tuple(SECRET_ENV)

    def test_the_job_is_tagged_and_allows_one_unqueued_run(self) -> None:
        settings = spec()

        assert settings["tags"] == {"managed-by": "dbt-quality-harness"}
        assert (settings["max_concurrent_runs"], settings["queue"]) == (1, {"enabled": False})
        assert settings["name"] == "retail-quality-prod"

    @pytest.mark.parametrize(
        ("kind", "field"), [("commit", "git_commit"), ("tag", "git_tag"), ("branch", "git_branch")]
    )
    def test_the_git_source_pins_the_revision(self, kind: str, field: str) -> None:
        ref = GitRef(url="https://github.com/acme/retail", kind=kind, value="v1.4.0")  # type: ignore[arg-type]

        assert spec(git=ref)["git_source"] == {
            "git_url": "https://github.com/acme/retail",
            "git_provider": "gitHub",
            field: "v1.4.0",
        }

    def test_libraries_are_the_package_runtime_requirements(self) -> None:
        libraries = spec()["tasks"][0]["libraries"]

        assert [lib["pypi"]["package"] for lib in libraries] == list(runtime_requirements())
        assert "dbt-databricks==1.12.7" in runtime_requirements()


class TestJobEntry:
    def test_a_missing_variable_fails_the_task_at_start_naming_it(self, capsys: pytest.CaptureFixture[str]) -> None:
        environ = {name: "x" for name in job_entry.REQUIRED_ENV if name != "DATABRICKS_HTTP_PATH"}

        assert job_entry.main(["gate", "--target", "prod"], environ) == 2
        assert capsys.readouterr().err.startswith(
            "error: the job cluster lacks DATABRICKS_HTTP_PATH: each must come from the job's secret scope"
        )

    def test_with_its_environment_it_hands_over_to_the_cli_from_the_checkout_root(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "path", list(sys.path))
        environ = dict.fromkeys(job_entry.REQUIRED_ENV, "x")

        assert job_entry.main(["--help"], environ) == 0
        assert Path.cwd() == ROOT

    def test_the_gate_run_prints_its_own_report_into_the_task_logs(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        runs = tmp_path / "artifacts" / "runs"
        older, newer = runs / "20261127t000000_aaaaaa", runs / "20261128t000000_bbbbbb"
        for folder, status in ((older, "published"), (newer, "failed")):
            folder.mkdir(parents=True)
            (folder / "report.json").write_text(json.dumps({"run_id": folder.name, "status": status}))
        os.utime(older / "report.json", (900_000_000, 900_000_000))  # an earlier deploy's run
        started = 1_000_000_000.0

        job_entry._relay_report(runs, started=started)

        relayed = extract_report(capsys.readouterr().out)
        assert relayed is not None
        assert json.loads(relayed) == {"run_id": newer.name, "status": "failed"}
        (newer / "report.json").unlink()
        job_entry._relay_report(runs, started=started)
        assert capsys.readouterr().out == "", "a gate that wrote no report relays none, never an older one"


def render(value: Any, variables: dict[str, str]) -> Any:
    """Resolve `${bundle.target}` and `${var.X}` the way the bundle CLI does for one target."""
    if isinstance(value, dict):
        return {key: render(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if isinstance(value, str):
        return re.sub(r"\$\{([a-z_.]+)\}", lambda m: variables[m.group(1)], value)
    return value


def merge_override(base: Any, override: Any, key: str = "") -> Any:
    """A bundle target's `resources` override applied as the bundle CLI does: mappings merged key by key,
    `job_clusters` and `tasks` merged by their key, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            merged[name] = merge_override(base[name], value, name) if name in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list) and key in ("job_clusters", "tasks"):
        id_key = "job_cluster_key" if key == "job_clusters" else "task_key"
        by_id = {item[id_key]: item for item in override}
        merged_list = [
            merge_override(item, by_id.pop(item[id_key]), "") if item[id_key] in by_id else item for item in base
        ]
        return merged_list + list(by_id.values())
    return override


def bundle_job(target: str) -> dict[str, Any]:
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text())
    variables = {f"var.{name}": str(spec_["default"]) for name, spec_ in bundle["variables"].items()}
    variables["bundle.target"] = target
    resources = yaml.safe_load((ROOT / "resources" / "quality_job.yml").read_text())
    job = resources["resources"]["jobs"]["quality_job"]
    override = bundle["targets"][target].get("resources", {}).get("jobs", {}).get("quality_job", {})
    return dict(render(merge_override(job, override), variables))


def from_resources_dir(path: str) -> str:
    """Bundle paths are relative to the file declaring them (resources/); the job's are relative to the repo."""
    return (ROOT / "resources" / path).resolve().relative_to(ROOT).as_posix()


def normalized_requirements(libraries: list[dict[str, Any]]) -> set[str]:
    return {str(Requirement(lib["pypi"]["package"])) for lib in libraries}


class TestAssetBundle:
    def test_the_bundle_declares_dev_in_development_and_prod_in_production_mode(self) -> None:
        targets = yaml.safe_load((ROOT / "databricks.yml").read_text())["targets"]

        assert {name: target["mode"] for name, target in targets.items()} == {
            "dev": "development",
            "prod": "production",
            "prod_oauth": "production",
        }
        assert targets["dev"]["default"] is True

    def test_the_bundle_job_equals_the_api_job_spec(self) -> None:
        assert_bundle_job_equals_api_spec("prod", spec(requirements=runtime_requirements()))

    def test_the_bundle_passes_its_target_to_the_gate_and_the_snapshot(self) -> None:
        gate, snapshot = bundle_job("dev")["tasks"]

        assert gate["spark_python_task"]["parameters"] == ["gate", "--target", "dev"]
        assert snapshot["dbt_task"]["commands"] == ["dbt deps", "dbt snapshot --target dev"]

    def test_the_bundle_holds_no_literal_secret(self) -> None:
        env = bundle_job("prod")["job_clusters"][0]["new_cluster"]["spark_env_vars"]

        assert all(SECRET_REFERENCE.match(value) for value in env.values())
        assert set(env) == set(SECRET_ENV)


def assert_bundle_job_equals_api_spec(bundle_target: str, api: dict[str, Any]) -> None:
    """The bundle's job for a target is the API job spec, once the fields only one of them has are set aside."""
    bundle = bundle_job(bundle_target)
    api.pop("git_source")
    for task in api["tasks"]:
        for kind in ("spark_python_task", "dbt_task"):
            task.get(kind, {}).pop("source", None)
    gate, snapshot = bundle["tasks"]
    gate["spark_python_task"]["python_file"] = from_resources_dir(gate["spark_python_task"]["python_file"])
    snapshot["dbt_task"]["project_directory"] = from_resources_dir(snapshot["dbt_task"]["project_directory"])
    for bundle_task, api_task in zip(bundle["tasks"], api["tasks"], strict=True):
        assert normalized_requirements(bundle_task.pop("libraries")) == normalized_requirements(
            api_task.pop("libraries")
        )
    assert bundle == api
