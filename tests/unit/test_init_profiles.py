"""`quality init` and profiles.yml: found where dbt finds it, never edited outside the project, git-ignored
files and missing packages named, and one closing line when something needs a hand edit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from dbt.cli.resolvers import default_profiles_dir

from quality.cli import main
from quality.dbt.project import load_project
from quality.onboarding import scaffold

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "fixtures" / "sample_project"
PYPROJECT = '[project]\nname = "shop"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n'
CLOSING_MANUAL = "some pieces need your edit (above)"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of the test's own (~/.dbt is looked for there), no DBT_PROFILES_DIR, cwd a fresh folder."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("DBT_PROJECT_DIR", raising=False)
    return folder


@pytest.fixture
def repo(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root (pyproject.toml, profiles.yml) with the dbt project in `dbt_project/`, cwd the root:
    the layout in which init used to write a second profiles.yml next to the project."""
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root / "dbt_project")
    (root / "dbt_project" / "profiles.yml").rename(root / "profiles.yml")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def project(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample dbt project at a repository root, cwd set to it."""
    root = tmp_path / "shop"
    shutil.copytree(SAMPLE, root)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def _flat(text: str) -> str:
    """The console output with its line wrapping undone (rich wraps at 80 columns when captured)."""
    return " ".join(text.split())


def _profile_change(project_dir: Path, root: Path) -> scaffold.Change:
    (change,) = [c for c in scaffold.plan(project_dir, root) if c.path.name == "profiles.yml"]
    return change


def _git(root: Path, *args: str) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not on PATH")
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


# --- where profiles.yml is found --------------------------------------------------------------------------


def test_profiles_yml_in_the_working_directory_is_the_one_changed_not_a_new_one_next_to_the_project(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--project-dir", "dbt_project"]) == 0
    assert not (repo / "dbt_project" / "profiles.yml").exists()
    outputs = yaml.safe_load((repo / "profiles.yml").read_text())["jaffle_sample"]["outputs"]
    assert list(outputs) == ["local", "dev"]
    assert "wrote 7 file(s)" in capsys.readouterr().out
    assert main(["init", "--project-dir", "dbt_project"]) == 0  # and a second run finds it there again
    assert "nothing to change" in capsys.readouterr().out


@pytest.mark.parametrize("cwd_has_profiles", [True, False])
def test_without_a_profiles_yml_in_the_project_folder_the_harness_reads_what_dbt_reads(
    repo: Path, home: Path, cwd_has_profiles: bool
) -> None:
    (home / ".dbt").mkdir()
    (home / ".dbt" / "profiles.yml").write_text("jaffle_sample: {}\n")
    if not cwd_has_profiles:
        (repo / "profiles.yml").unlink()
    ours = load_project(repo / "dbt_project").profiles_dir
    assert ours == default_profiles_dir()  # dbt-core's own resolver, in the same working directory
    assert ours == (repo if cwd_has_profiles else home / ".dbt")


def test_the_order_is_option_then_environment_then_working_directory_then_project_then_home(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir = repo / "dbt_project"
    (project_dir / "profiles.yml").write_text("jaffle_sample: {}\n")
    assert load_project(project_dir).profiles_dir == repo  # the working directory first, as dbt
    monkeypatch.chdir(tmp_path)
    assert load_project(project_dir).profiles_dir == project_dir  # our addition: the project's own folder
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path / "env"))
    assert load_project(project_dir).profiles_dir == tmp_path / "env"
    assert load_project(project_dir, tmp_path / "option").profiles_dir == tmp_path / "option"


# --- a profiles.yml outside the project -------------------------------------------------------------------


def test_a_profile_in_home_is_never_edited_the_output_to_add_is_printed_instead(
    project: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / ".dbt").mkdir()
    (project / "profiles.yml").rename(home / ".dbt" / "profiles.yml")
    before = (home / ".dbt" / "profiles.yml").read_bytes()

    assert main(["init"]) == 1
    out = capsys.readouterr().out
    flat = _flat(out)
    assert (home / ".dbt" / "profiles.yml").read_bytes() == before
    assert not (project / "profiles.yml").exists()
    assert "~/.dbt/profiles.yml: outside this project, so `quality init` does not edit it" in out  # not ../../home
    assert "add this output under `jaffle_sample:` `outputs:` there yourself:\n" + scaffold.LOCAL_OUTPUT in out
    assert "or copy the profile jaffle_sample into profiles.yml (secrets and hosts as env_var()" in flat
    # one closing line: the hand edit, not "wrote N file(s). Next: `uv run pytest`" before it
    assert CLOSING_MANUAL in flat
    assert "wrote" not in out
    assert "Next:" not in out
    assert (project / "macros" / "generate_schema_name.sql").is_file()  # the rest is written all the same

    after_first = _files(project)
    assert main(["init"]) == 1  # a second run: the same hand edit, nothing written
    assert _files(project) == after_first
    assert (home / ".dbt" / "profiles.yml").read_bytes() == before

    # the user adds the printed output there: init finds it and is done
    theirs = yaml.safe_load(before)
    theirs["jaffle_sample"]["outputs"]["local"] = yaml.safe_load(scaffold.LOCAL_OUTPUT)["local"]
    (home / ".dbt" / "profiles.yml").write_text(yaml.safe_dump(theirs))
    capsys.readouterr()
    assert main(["init"]) == 0
    assert "nothing to change" in capsys.readouterr().out


def test_a_home_profiles_yml_without_the_profile_gets_the_whole_profile_printed(project: Path, home: Path) -> None:
    (home / ".dbt").mkdir()
    (home / ".dbt" / "profiles.yml").write_text("other:\n  target: dev\n  outputs: {}\n")
    (project / "profiles.yml").unlink()
    change = _profile_change(project, project)
    assert change.action == "manual"
    assert "add this profile to it yourself" in change.note
    assert scaffold._new_profile("jaffle_sample") in change.note


def test_dbt_profiles_dir_outside_the_project_is_not_written_either(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("DBT_PROFILES_DIR", str(shared))
    change = _profile_change(project, project)
    assert (change.path, change.action) == (shared / "profiles.yml", "manual")
    assert change.note.startswith("outside this project, so `quality init` does not edit it. Either create it with:")
    assert scaffold._new_profile("jaffle_sample") in change.note
    scaffold.apply(scaffold.plan(project, project))
    assert list(shared.iterdir()) == []


# --- git-ignored profiles.yml -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ignore", "warned"),
    [("profiles.yml\n", True), ("*.duckdb\n", False), (None, False)],
    ids=["ignored", "not", "no-git"],
)
def test_a_git_ignored_profiles_yml_is_written_with_a_warning_in_its_row(
    project: Path, capsys: pytest.CaptureFixture[str], ignore: str | None, warned: bool
) -> None:
    if ignore is not None:  # None: no git repository at all
        _git(project, "init", "-q")
        (project / ".gitignore").write_text(ignore)
    change = _profile_change(project, project)
    assert change.action == "insert"
    assert ("the file is git-ignored: teammates will not get the `local` target" in change.what) is warned
    assert main(["init"]) == 0
    assert ("git-ignored" in capsys.readouterr().out) is warned
    assert main(["init"]) == 0  # idempotent: the second run finds the output and writes nothing
    assert "nothing to change" in capsys.readouterr().out


def test_a_git_ignored_profiles_yml_that_init_creates_is_named_too(project: Path) -> None:
    _git(project, "init", "-q")
    (project / ".gitignore").write_text("/profiles.yml\n")
    (project / "profiles.yml").unlink()
    change = _profile_change(project, project)
    assert change.action == "create"
    assert "git-ignored" in change.what


# --- the row's word -----------------------------------------------------------------------------------------


def test_the_row_says_insert_for_an_existing_profile_and_append_for_a_new_one(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change = _profile_change(project, project)
    assert change.action == "insert"
    assert change.what == "profile jaffle_sample: a `local` DuckDB output, first in its outputs"
    main(["init", "--dry-run"])
    assert "insert" in capsys.readouterr().out

    others = "other:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: o.db}\n"
    (project / "profiles.yml").write_text(others)
    change = _profile_change(project, project)
    assert change.action == "append"
    assert change.text.startswith(others)
    assert change.text == others + "\n" + scaffold._new_profile("jaffle_sample")


# --- packages --------------------------------------------------------------------------------------------------

HUB = 'packages:\n  - package: dbt-labs/dbt_utils\n    version: [">=1.0.0", "<2.0.0"]\n'


@pytest.mark.parametrize(
    ("name", "text", "folder", "noted"),
    [
        ("packages.yml", HUB, None, True),
        ("packages.yml", "packages:\n  - local: ../shared\n", None, True),
        ("dependencies.yml", HUB, None, True),
        ("packages.yml", HUB, "dbt_packages", False),
        ("dependencies.yml", "projects:\n  - name: upstream\n", None, False),
        (None, None, None, False),
    ],
    ids=["hub", "local", "dependencies.yml", "installed", "projects-only", "no-packages"],
)
def test_listed_packages_without_dbt_packages_get_a_note_to_run_dbt_deps_first(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    name: str | None,
    text: str | None,
    folder: str | None,
    noted: bool,
) -> None:
    if name and text:
        (project / name).write_text(text)
    if folder:
        (project / folder).mkdir()
    main(["init", "--dry-run"])
    flat = _flat(capsys.readouterr().out)
    assert ("run `uv run dbt deps --project-dir .` before `uv run pytest`" in flat) is noted
    if noted:
        assert f"note: {name} lists packages and dbt_packages/ is not there yet" in flat
        assert "packages from the dbt hub or git need network access; a `local:` package does not" in flat


def test_the_closing_line_names_dbt_deps_first(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "packages.yml").write_text(HUB)
    assert main(["init"]) == 0
    assert "Next: `uv run dbt deps` (see the note), `uv run pytest`, then" in _flat(capsys.readouterr().out)


def test_a_custom_packages_install_path_counts_as_installed(project: Path) -> None:
    (project / "packages.yml").write_text(HUB)
    config = (project / "dbt_project.yml").read_text()
    (project / "dbt_project.yml").write_text(config + "packages-install-path: vendor\n")
    assert scaffold.deps_note(project) is not None
    assert "vendor/ is not there yet" in (scaffold.deps_note(project) or "")
    (project / "vendor").mkdir()
    assert scaffold.deps_note(project) is None
