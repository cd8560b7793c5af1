"""`quality init`: what it adds to a dbt project, that it shows it first, runs twice safely and keeps user edits."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from quality.cli import main
from quality.commands.common import find_project_dir
from quality.onboarding import scaffold
from quality.python_support import unsupported_python

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "fixtures" / "sample_project"
PYPROJECT = '[project]\nname = "shop"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample dbt project as a user's repository root (dbt_project.yml at the top), cwd set to it."""
    root = tmp_path / "shop"
    shutil.copytree(SAMPLE, root)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("DBT_PROJECT_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a profiles.yml is never looked for in the real one
    return root


def _actions(root: Path) -> dict[str, str]:
    return {change.path.relative_to(root).as_posix(): change.action for change in scaffold.plan(root, root)}


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_a_fresh_project_gets_every_piece_listed_before_it_is_written(project: Path) -> None:
    assert _actions(project) == {
        "macros/generate_schema_name.sql": "create",
        "profiles.yml": "insert",  # the `local` output goes first in the profile's outputs, not at the end
        "pyproject.toml": "append",
        "tests/test_dbt_quality.py": "create",
        ".pre-commit-config.yaml": "create",
        ".github/workflows/quality-pr.yml": "create",
        ".gitignore": "create",
    }


def test_dry_run_shows_the_plan_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(project)
    assert main(["init", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write 7 file(s)" in out
    assert "macros/generate_schema_name.sql" in out
    assert _files(project) == before


def test_a_second_run_changes_nothing_and_says_so(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    after_first = _files(project)
    capsys.readouterr()
    assert main(["init"]) == 0
    assert "nothing to change: the project already has what the harness needs." in capsys.readouterr().out
    assert _files(project) == after_first
    assert set(_actions(project).values()) == {"present"}


def test_the_written_pieces_are_what_pytest_and_dbt_read(project: Path) -> None:
    scaffold.apply(scaffold.plan(project, project))
    assert (project / "macros" / "generate_schema_name.sql").read_text() == scaffold.packaged_macro()
    pytest_options = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    # dbt_project.yml at the root: tests/ is dbt's test path, so raw fixtures go outside it
    assert pytest_options == {"testpaths": ["tests"], "dbt_project_dir": ".", "raw_fixtures_dir": "fixtures/raw"}
    dev = tomllib.loads((project / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert dev == ["pre-commit>=4"]  # what the hook config's `uv run pre-commit install` runs
    local = yaml.safe_load((project / "profiles.yml").read_text())["jaffle_sample"]["outputs"]["local"]
    assert local == {
        "type": "duckdb",
        "path": "{{ env_var('QUALITY_DUCKDB_PATH', '.quality/warehouse.duckdb') }}",
        "schema": "main",
        "threads": 4,
    }
    assert (project / ".gitignore").read_text() == "# dbt-quality-harness\n.quality/\nartifacts/\n"
    # no raw fixture folder: the plugin builds from the project's seeds, so the example needs no override
    example = (project / "tests" / "test_dbt_quality.py").read_text()
    assert example == scaffold.example_test()
    assert "def seed_fixtures" not in example


def test_the_local_output_is_inserted_and_every_other_line_of_profiles_yml_is_kept(project: Path) -> None:
    original = (project / "profiles.yml").read_text()
    (change,) = [c for c in scaffold.plan(project, project) if c.path.name == "profiles.yml"]
    inserted = scaffold.textwrap.indent(scaffold.LOCAL_OUTPUT, "    ")
    assert change.text.replace(inserted, "", 1) == original


def test_a_profile_that_has_a_local_output_is_left_alone(project: Path) -> None:
    profiles = yaml.safe_load((project / "profiles.yml").read_text())
    profiles["jaffle_sample"]["outputs"]["local"] = {"type": "duckdb", "path": "mine.duckdb"}
    (project / "profiles.yml").write_text(yaml.safe_dump(profiles))
    assert _actions(project)["profiles.yml"] == "present"


def test_a_missing_profiles_yml_is_created_next_to_the_project_never_in_home(project: Path) -> None:
    (project / "profiles.yml").unlink()
    scaffold.apply(scaffold.plan(project, project))
    profiles = yaml.safe_load((project / "profiles.yml").read_text())
    assert profiles["jaffle_sample"]["target"] == "local"
    assert list(profiles["jaffle_sample"]["outputs"]) == ["local"]
    assert not (project.parent / "home").exists()


def test_a_profile_in_flow_style_is_left_for_a_hand_edit(project: Path) -> None:
    (project / "profiles.yml").write_text("jaffle_sample: {target: dev, outputs: {dev: {type: duckdb, path: x.db}}}\n")
    (change,) = [c for c in scaffold.plan(project, project) if c.path.name == "profiles.yml"]
    assert change.action == "manual"
    assert "add to the outputs of profile jaffle_sample" in change.note


def test_an_own_generate_schema_name_is_reported_not_overwritten(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = "{% macro generate_schema_name(custom_schema_name, node) -%}{{ custom_schema_name }}{%- endmacro %}\n"
    (project / "macros").mkdir()
    (project / "macros" / "schemas.sql").write_text(own)
    assert main(["init"]) == 1
    out = capsys.readouterr().out
    assert "skip: needs your edit" in out
    assert "schemas.sql defines its own generate_schema_name" in out
    assert "wrote" not in out  # the other files are written, but the closing line is only the hand edit
    assert (project / "macros" / "schemas.sql").read_text() == own
    assert not (project / "macros" / "generate_schema_name.sql").exists()


def test_an_own_macro_that_routes_under_the_base_counts_as_present(project: Path) -> None:
    (project / "macros").mkdir()
    (project / "macros" / "routing.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) -%}{{ var('quality_schema_base') }}_x{%- endmacro %}"
    )
    assert _actions(project)["macros/routing.sql"] == "present"


def test_an_edited_example_test_is_kept(project: Path) -> None:
    (project / "tests").mkdir()
    (project / "tests" / "test_dbt_quality.py").write_text("def test_mine(dbt_build): ...\n")
    assert _actions(project)["tests/test_dbt_quality.py"] == "kept"


def test_with_raw_fixtures_the_example_is_the_same(project: Path) -> None:
    (project / "tests" / "fixtures" / "raw").mkdir(parents=True)
    (change,) = [c for c in scaffold.plan(project, project) if c.path.name == "test_dbt_quality.py"]
    assert change.text == scaffold.example_test()


def test_an_example_with_the_former_seeds_override_counts_as_present(project: Path) -> None:
    (project / "tests").mkdir()
    former = scaffold.EXAMPLE_HEADER + scaffold._LEGACY_SEEDS_OVERRIDE + scaffold.EXAMPLE_TESTS
    (project / "tests" / "test_dbt_quality.py").write_text(former)
    assert _actions(project)["tests/test_dbt_quality.py"] == "present"


def test_an_existing_pytest_table_gets_only_the_settings_and_pre_commit(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + '\n[tool.pytest.ini_options]\naddopts = "-ra"  # mine\n')
    scaffold.apply(scaffold.plan(project, project))
    assert (project / "pyproject.toml").read_text() == (
        PYPROJECT + '\n[tool.pytest.ini_options]\ndbt_project_dir = "."\nraw_fixtures_dir = "fixtures/raw"\n'
        'addopts = "-ra"  # mine\n\n[dependency-groups]\ndev = ["pre-commit>=4"]\n'
    )


def test_a_pytest_ini_is_where_the_setting_goes_when_there_is_one(project: Path) -> None:
    (project / "pytest.ini").write_text("[pytest]\naddopts = -ra\n")
    scaffold.apply(scaffold.plan(project, project))
    expected = "[pytest]\ndbt_project_dir = .\nraw_fixtures_dir = fixtures/raw\naddopts = -ra\n"
    assert (project / "pytest.ini").read_text() == expected
    assert "tool" not in tomllib.loads((project / "pyproject.toml").read_text())


def test_an_existing_dev_group_gets_pre_commit_first_and_keeps_every_other_line(project: Path) -> None:
    theirs = PYPROJECT + '\n[dependency-groups]\n# mine\ndev = [\n    "ruff>=0.8",  # linter\n]\nlint = []\n'
    (project / "pyproject.toml").write_text(theirs)
    scaffold.apply(scaffold.plan(project, project))
    text = (project / "pyproject.toml").read_text()
    assert text.startswith(theirs.replace("dev = [\n", 'dev = ["pre-commit>=4", \n'))
    assert tomllib.loads(text)["dependency-groups"] == {"dev": ["pre-commit>=4", "ruff>=0.8"], "lint": []}
    assert _actions(project)["pyproject.toml"] == "present"


@pytest.mark.parametrize(
    "listed",
    ['[dependency-groups]\ndev = ["pre_commit==4.0.1"]\n', '[tool.uv]\ndev-dependencies = ["pre-commit"]\n'],
)
def test_pre_commit_listed_already_is_present(project: Path, listed: str) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + "\n" + listed)
    change = scaffold.dev_dependency_change(scaffold.Layout(project, project))
    assert change.action == "present"


def test_without_a_pyproject_the_dev_dependency_is_a_command_to_run(project: Path) -> None:
    (project / "pyproject.toml").unlink()
    change = scaffold.dev_dependency_change(scaffold.Layout(project, project))
    assert (change.action, change.note) == (
        "kept",
        "no pyproject.toml: run `uv add --dev pre-commit` once there is one",
    )


def test_the_hook_config_names_the_dev_dependency_init_added(project: Path) -> None:
    scaffold.apply(scaffold.plan(project, project))
    header = (project / ".pre-commit-config.yaml").read_text().splitlines()[:2]
    assert "`uv run pre-commit install`" in header[0]
    assert "pyproject.toml's dev group" in header[1]


def test_raw_fixtures_of_a_root_project_go_outside_dbts_test_path_and_init_says_why(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "raw fixtures: fixtures/raw/<table>.csv (raw_fixtures_dir), because tests/fixtures/raw lies inside tests/, "
        "a test or seed path of dbt, which parses every CSV there"
    ) in out


def test_raw_fixtures_already_inside_dbts_test_path_are_left_and_init_says_how_to_move_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = project / "tests" / "fixtures" / "raw"
    raw.mkdir(parents=True)
    (raw / "orders.csv").write_text("id\n" + "1\n" * 500_000)
    (raw / "customers.csv").write_text("id\n1\n")
    assert main(["init"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "its 2 CSV file(s) (1.0 MB) are parsed on every change" in out
    assert "`git mv tests/fixtures/raw fixtures/raw`, then run `quality init` again" in out
    options = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "raw_fixtures_dir" not in options  # pytest keeps finding them where they are until they move

    shutil.move(raw, project / "fixtures" / "raw")
    assert main(["init"]) == 0
    options = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["raw_fixtures_dir"] == "fixtures/raw"


def test_raw_fixtures_avoid_a_seed_path_and_custom_test_paths(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root)
    config = (
        (root / "dbt_project.yml").read_text().replace('seed-paths: ["seeds"]', 'seed-paths: ["seeds", "fixtures"]')
    )
    (root / "dbt_project.yml").write_text(config.replace('test-paths: ["tests"]', 'test-paths: ["checks"]'))
    found = scaffold.raw_fixtures(scaffold.Layout(root, root))
    assert (found.folder, found.dbt_folder) == ("tests/fixtures/raw", None)  # tests/ is not dbt's any more
    (root / "dbt_project.yml").write_text(config)
    assert scaffold.raw_fixtures(scaffold.Layout(root, root)).folder == "data/raw_fixtures"


def test_raw_fixtures_avoid_a_seed_path_under_its_pre_1_0_name_data_paths(tmp_path: Path) -> None:
    """An older project names its seed paths `data-paths` (dbt still reads it): a raw fixtures folder there
    would be parsed, and built, as seeds."""
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root)
    config = (root / "dbt_project.yml").read_text().replace('seed-paths: ["seeds"]', 'data-paths: ["tests"]')
    (root / "dbt_project.yml").write_text(config.replace('test-paths: ["tests"]', 'test-paths: ["checks"]'))
    found = scaffold.raw_fixtures(scaffold.Layout(root, root))
    assert (found.folder, found.dbt_folder) == ("fixtures/raw", "tests")
    (root / "dbt_project.yml").write_text(config.replace('data-paths: ["tests"]', 'data-paths: ["data", "tests"]'))
    assert scaffold.raw_fixtures(scaffold.Layout(root, root)).folder == "fixtures/raw"  # not data/raw_fixtures


def test_init_names_each_snapshot_configured_with_target_schema_with_its_file_and_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scaffold.snapshot_schema_note(project) is None  # the sample has no snapshot
    (project / "snapshots").mkdir()
    (project / "snapshots" / "orders.sql").write_text(
        "{% snapshot orders_snapshot %}\n{{ config(\n    target_schema='snapshots',\n    unique_key='id',\n"
        "    strategy='check', check_cols='all') }}\nselect 1 as id\n{% endsnapshot %}\n"
    )
    (project / "snapshots" / "customers.yml").write_text(
        "snapshots:\n  - name: customers_snapshot\n    relation: ref('stg_customers')\n    config:\n"
        "      schema: snapshots  # not target_schema\n      unique_key: customer_id\n"
    )
    with (project / "dbt_project.yml").open("a") as config:
        config.write("snapshots:\n  jaffle_sample:\n    +target_schema: history\n")

    assert main(["init"]) == 0  # a note, not an edit init could make: it never rewrites a file
    out = " ".join(capsys.readouterr().out.split())

    assert (
        "note: snapshots configured with target_schema (snapshots/orders.sql:3, dbt_project.yml:26): dbt uses it "
        "as written, bypassing generate_schema_name, so `uv run pytest` and `uv run quality gate` refuse to build "
        "them, naming the fix: remove target_schema where it names the target's own schema (the snapshot stays "
        "there), else write `schema:` instead (dbt >= 1.9)."
    ) in out


def test_a_dbt_project_in_a_subfolder_keeps_the_default_raw_fixtures(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root / "transform")
    layout = scaffold.Layout(root / "transform", root)
    assert scaffold.pytest_settings(layout) == {"dbt_project_dir": "transform"}
    assert scaffold.raw_fixtures_note(layout).startswith("raw fixtures: tests/fixtures/raw/<table>.csv (the default")


def test_init_names_the_target_pytest_and_the_gate_use(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET", raising=False)
    default = yaml.safe_load((project / "profiles.yml").read_text())["jaffle_sample"]["target"]
    assert main(["init"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"target: `uv run pytest` and `uv run quality gate` use `{default}` (duckdb; the default target of " in out
    monkeypatch.setenv("DBT_TARGET", "local")
    assert scaffold.target_note(project).startswith(
        f"target: `uv run pytest` and `uv run quality gate` use `local` (duckdb; DBT_TARGET; the profile's default is "
        f"`{default}`)."
    )


def test_a_dbt_project_in_a_subfolder_is_named_relative_to_the_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root / "transform")
    layout = scaffold.Layout(root / "transform", root)
    assert scaffold.pytest_change(layout).text == "[pytest]\ntestpaths = tests\ndbt_project_dir = transform\n"
    repo = yaml.safe_load(scaffold.pre_commit_change(layout, scaffold.HOOKS).text)["repos"][0]
    guard = next(hook for hook in repo["hooks"] if hook["id"] == "dbt-contract-guard")
    assert guard["args"] == ["--project-dir", "transform"]


def test_an_existing_pre_commit_config_gets_our_hooks_first_and_keeps_the_rest(project: Path) -> None:
    theirs = (
        "# my hooks\nrepos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit  # linter\n"
        "    rev: v0.8.0\n    hooks:\n      - id: ruff\nci:\n  autofix_prs: false\n"
    )
    (project / ".pre-commit-config.yaml").write_text(theirs)
    change = scaffold.pre_commit_change(scaffold.Layout(project, project), scaffold.HOOKS)
    assert change.action == "insert"  # our repo goes first in `repos:`
    config = yaml.safe_load(change.text)
    assert [repo["repo"] for repo in config["repos"]] == ["local", "https://github.com/astral-sh/ruff-pre-commit"]
    assert config["ci"] == {"autofix_prs": False}
    assert change.text.startswith("# my hooks\nrepos:\n  - repo: local\n")
    assert change.text.endswith(theirs.split("repos:\n", 1)[1])


def test_our_hooks_are_declared_as_the_package_exports_them() -> None:
    exported = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    for hook in scaffold.HOOKS:
        mine = hook.config("dbt")
        assert mine["entry"] == exported[hook.id]["entry"]
        assert mine.get("files") == exported[hook.id].get("files")
        assert mine.get("types") == exported[hook.id].get("types")
        assert mine.get("require_serial", False) == exported[hook.id].get("require_serial", False)


def test_only_hooks_whose_script_is_installed_are_configured() -> None:
    hooks = scaffold.installed_hooks(lambda: {"quality-profiles-safety", "quality"})
    assert [hook.id for hook in hooks] == ["profiles-safety"]


def test_the_written_pre_commit_config_is_valid_for_pre_commit(project: Path) -> None:
    scaffold.apply([scaffold.pre_commit_change(scaffold.Layout(project, project), scaffold.HOOKS)])
    pre_commit = Path(sys.executable).with_name("pre-commit")
    result = subprocess.run(
        [str(pre_commit), "validate-config", ".pre-commit-config.yaml"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_packaged_macro_routes_under_the_base_as_the_demo_project_does() -> None:
    branch = "{{ base | trim }}_{{ (custom_schema_name or 'main') | trim }}"
    assert branch in scaffold.packaged_macro()
    assert branch in (REPO / "dbt" / "macros" / "generate_schema_name.sql").read_text()
    assert "default__generate_schema_name(custom_schema_name, node)" in scaffold.packaged_macro()


def test_commands_find_a_dbt_project_at_the_root_when_there_is_no_dbt_folder(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_project_dir(Path("dbt")) == Path(".")
    assert find_project_dir(Path("elsewhere")) == Path("elsewhere")
    monkeypatch.chdir(tmp_path)
    assert find_project_dir(Path("dbt")) == Path("dbt")


@pytest.mark.parametrize(("version", "refused"), [((3, 11), False), ((3, 13), False), ((3, 14), True), ((3, 10), True)])
def test_the_harness_names_the_python_versions_it_runs_on(version: tuple[int, int], refused: bool) -> None:
    message = unsupported_python(version)
    assert (message is not None) == refused
    if message:
        assert f"runs on Python 3.11 to 3.13, not {version[0]}.{version[1]}" in message
        assert 'requires-python = ">=3.11,<3.14"' in message


def test_the_review_workflow_runs_quality_pr_on_the_project_and_is_schema_valid_and_zizmor_clean(
    project: Path,
) -> None:
    import subprocess
    import sys

    scaffold.apply(scaffold.plan(project, project))
    workflow = project / ".github" / "workflows" / "quality-pr.yml"
    text = workflow.read_text(encoding="utf-8")
    assert 'uv run quality pr --project-dir . --base "origin/$BASE_REF" --summary "$GITHUB_STEP_SUMMARY"' in text
    assert "fetch-depth: 0" in text
    bin_dir = Path(sys.executable).parent
    schema = subprocess.run(
        [str(bin_dir / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = subprocess.run(
        [str(bin_dir / "zizmor"), "--offline", "--no-progress", str(workflow.parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_init_says_when_serial_is_the_better_choice_with_the_numbers(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "parallel: run `uv run pytest` serially while the tests are mostly the one build" in out
    assert "5.2 s serial, 8.0 s with -n 2" in out
