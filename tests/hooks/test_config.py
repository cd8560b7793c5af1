"""The gate's configuration agrees with the lock file and with the hook code."""

from __future__ import annotations

import re
from importlib import metadata

import yaml

from tests.hooks.conftest import PROJECT_ROOT

CONFIG = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))


def _hooks() -> list[dict[str, object]]:
    return [hook for repo in CONFIG["repos"] for hook in repo["hooks"]]


def test_sqlfluff_in_its_hook_env_is_the_version_uv_lock_installs() -> None:
    pins = {
        dependency
        for hook in _hooks()
        if str(hook["id"]).startswith("sqlfluff")
        for dependency in hook.get("additional_dependencies", [])  # type: ignore[attr-defined]
    }
    assert pins == {f"sqlfluff=={metadata.version('sqlfluff')}"}


def test_the_exported_spark_functions_hook_renders_with_the_sqlfluff_uv_lock_installs() -> None:
    exported = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(hook for hook in exported if hook["id"] == "spark-functions")
    assert hook["additional_dependencies"] == [f"sqlfluff=={metadata.version('sqlfluff')}"]


def test_dbt_checkpoint_is_pinned_at_its_real_url() -> None:
    checkpoint = [repo for repo in CONFIG["repos"] if "dbt-checkpoint" in repo["repo"]]
    assert [(repo["repo"], repo["rev"]) for repo in checkpoint] == [
        ("https://github.com/dbt-checkpoint/dbt-checkpoint", "v2.0.10")
    ]


def test_the_manifest_hook_runs_before_every_hook_that_reads_the_manifest() -> None:
    order = [str(hook.get("alias") or hook["id"]) for hook in _hooks()]
    assert order.index("dbt-manifest") < order.index("dbt-layering") < order.index("dbt-checkpoint")
    assert order[0] == "dbt-manifest-prefetch", "the background parse must start before every other hook"


def test_the_databricks_token_hook_reads_every_text_file_of_the_repository() -> None:
    exported = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hooks = [hook for hook in (*_hooks(), *exported) if hook["id"] == "databricks-token"]
    assert [(hook["entry"], hook["types"], hook.get("files"), hook.get("exclude")) for hook in hooks] == [
        ("python -m hooks.databricks_token", ["text"], None, None),
        ("quality-databricks-token", ["text"], None, None),
    ]


def test_install_types_and_stages() -> None:
    assert CONFIG["default_install_hook_types"] == ["pre-commit", "commit-msg", "pre-push"]
    stages = {str(hook.get("alias") or hook["id"]): hook.get("stages") for hook in _hooks()}
    assert stages["conventional-commit"] == ["commit-msg"]
    assert stages["branch-name"] == ["pre-push"]
    assert stages["sqlfluff-fix"] == ["manual"]


def test_every_exported_hook_maps_to_a_hooks_module_with_main() -> None:
    exported = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    modules = {
        "quality-profiles-safety": "profiles_safety",
        "quality-databricks-token": "databricks_token",
        "quality-dbt-manifest": "manifest",
        "quality-dbt-manifest-prefetch": "manifest_prefetch",
        "quality-dbt-layering": "layering",
        "quality-contract-guard": "contract_guard",
        "quality-weakening-guard": "weakening_guard",
        "quality-spark-functions": "spark_functions",
        "quality-commit-msg": "commit_msg",
        "quality-branch-name": "branch_name",
    }
    assert sorted(hook["entry"] for hook in exported) == sorted(modules)
    for module in modules.values():
        source = (PROJECT_ROOT / "hooks" / f"{module}.py").read_text(encoding="utf-8")
        assert re.search(r"^def main\(argv: Sequence\[str\] \| None = None\) -> int:", source, re.MULTILINE)
        assert source.rstrip().endswith('if __name__ == "__main__":\n    raise SystemExit(main())')


def test_hook_modules_never_import_dbt_or_great_expectations_at_module_level() -> None:
    for path in sorted((PROJECT_ROOT / "hooks").rglob("*.py")):
        top_level = [
            line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith(("import ", "from "))
        ]
        heavy = [line for line in top_level if re.match(r"(from|import) (dbt|great_expectations)\b", line)]
        assert heavy == [], path
