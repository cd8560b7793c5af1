"""`quality init`: what an existing dbt project needs for the harness, planned first, then written.

Every piece is one `Change` to one file: `create` (the file is new), `append` (lines added at the end of
a file that lacks them), `insert` (lines added inside it, e.g. a first output in a profile's `outputs:`;
either way the rest of the file is untouched, byte for byte), `present` (already there), `kept` (the file
exists with other content and is left alone; the harness works without it) or `manual` (left alone, and
the harness needs a hand edit, which the note spells out). Nothing is ever rewritten: an insertion is
made as text and accepted only if the file, parsed again, equals the old one plus exactly the new piece;
otherwise the change becomes `manual`. A profiles.yml outside the project (~/.dbt) is never edited: that
change is `manual`. Running the plan twice changes nothing.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import textwrap
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal

import yaml

from quality.dbt.project import resource_paths
from quality.engines.kinds import find_kind
from quality.errors import QualityError

Action = Literal["create", "append", "insert", "present", "kept", "manual"]
WRITES: frozenset[Action] = frozenset({"create", "append", "insert"})
DISTRIBUTION = "dbt-quality-harness"
MACRO_NAME = "generate_schema_name"
EXAMPLE_TEST = Path("tests/test_dbt_quality.py")
IGNORED = (".quality/", "artifacts/")
_MACRO_DEFINITION = re.compile(rf"{{%-?\s*macro\s+{MACRO_NAME}\s*\(")


@dataclass(frozen=True)
class Change:
    path: Path
    action: Action
    what: str
    text: str = ""  # the whole new file, for create, append and insert
    note: str = ""  # for kept and manual: why, and what to do


@dataclass(frozen=True)
class Layout:
    """Where things go: the dbt project (macros, profiles) and the Python project around it (pytest, hooks)."""

    project_dir: Path
    root: Path

    @property
    def project_ref(self) -> str:
        """The dbt project as pytest and the hooks are told: relative to the root, POSIX separators."""
        return Path(os.path.relpath(self.project_dir, self.root)).as_posix()


def plan(project_dir: Path, root: Path) -> list[Change]:
    """Every change `quality init` would make, in the order it makes them; writes nothing."""
    from quality.dbt.project import load_project

    project = load_project(project_dir)
    layout = Layout(project.root, root.resolve())
    settings = pytest_change(layout)
    return [
        macro_change(layout),
        profile_change(project.profile, _profiles_path(project.profiles_path, layout), layout),
        settings,
        example_test_change(layout),
        pre_commit_change(layout),
        dev_dependency_change(layout, settings),
        review_workflow_change(layout),
        gitignore_change(layout),
    ]


def written_files(changes: Sequence[Change]) -> int:
    """How many files the changes write (two changes of one file, e.g. pyproject.toml, write it once)."""
    return len({change.path for change in changes if change.action in WRITES})


def apply(changes: Sequence[Change]) -> list[Change]:
    """Write the create, append and insert changes; returns them."""
    written = [change for change in changes if change.action in WRITES]
    for change in written:  # a later change of the same file carries the earlier one's text
        change.path.parent.mkdir(parents=True, exist_ok=True)
        change.path.write_text(change.text, encoding="utf-8")
    return written


def _profiles_path(resolved: Path, layout: Layout) -> Path:
    """The profiles.yml dbt reads; a new one goes next to the project (never into ~/.dbt), unless
    DBT_PROFILES_DIR names the folder dbt reads it from."""
    if resolved.is_file() or os.environ.get("DBT_PROFILES_DIR"):
        return resolved
    return layout.project_dir / "profiles.yml"


def _edit(text: str, new_text: str) -> Action:
    """`append` when the old text is kept as the new one's start, else `insert`."""
    return "append" if new_text.startswith(text.rstrip("\n")) else "insert"


# --- the schema macro -------------------------------------------------------------------------------


def packaged_macro() -> str:
    return resources.files("quality.dbt.macros").joinpath(f"{MACRO_NAME}.sql").read_text(encoding="utf-8")


def macro_change(layout: Layout) -> Change:
    what = f"dbt macro {MACRO_NAME} (every schema under the ephemeral base)"
    folders = _macro_folders(layout.project_dir)
    target = folders[0] / f"{MACRO_NAME}.sql"
    defined = [path for folder in folders if folder.is_dir() for path in _defining_files(folder)]
    if not defined:
        if target.exists():
            return Change(target, "manual", what, note=f"{target.name} exists without the macro; rename it and rerun")
        return Change(target, "create", what, text=packaged_macro())
    routed = [path for path in defined if "quality_schema_base" in path.read_text(encoding="utf-8")]
    if routed:
        return Change(routed[0], "present", what)
    return Change(defined[0], "manual", what, note=_merge_macro_note(defined[0]))


def _macro_folders(project_dir: Path) -> list[Path]:
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    paths = config.get("macro-paths") or ["macros"]
    return [project_dir / str(path) for path in paths]


def _defining_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.sql") if _MACRO_DEFINITION.search(path.read_text(encoding="utf-8")))


def _merge_macro_note(path: Path) -> str:
    return (
        f"{path.name} defines its own {MACRO_NAME}, which does not route schemas under the var "
        "quality_schema_base, so the harness would refuse to build. Make this its first branch: "
        "{%- set base = var('quality_schema_base', none) -%}{%- if base -%}"
        "{{ base | trim }}_{{ (custom_schema_name or 'main') | trim }}{%- else -%} <your macro's body> "
        "{%- endif -%}"
    )


# --- the profile's local DuckDB target ----------------------------------------------------------------

LOCAL_OUTPUT = """\
local:
  # The harness's embedded engine (DuckDB); the file lives under .quality/ (git-ignored).
  type: duckdb
  path: "{{ env_var('QUALITY_DUCKDB_PATH', '.quality/warehouse.duckdb') }}"
  schema: main
  threads: 4
"""


def profile_change(profile: str, path: Path, layout: Layout) -> Change:
    what = f"profile {profile}: a `local` DuckDB output"
    if not path.is_file():
        return _shared_profile(Change(path, "create", what, text=_new_profile(profile)), profile, layout)
    text = path.read_text(encoding="utf-8")
    document = _load_yaml(text, path)
    outputs = (document.get(profile) or {}).get("outputs") if isinstance(document.get(profile), dict) else None
    if isinstance(outputs, dict) and "local" in outputs:
        return Change(path, "present", what)
    new_text = _insert_output(text, profile) if profile in document else _joined(text, _new_profile(profile))
    expected = _with_local_output(document, profile)
    if new_text is not None and _parses_to(new_text, expected):
        action = _edit(text, new_text)
        what = f"{what}, first in its outputs" if action == "insert" else f"{what} (a new profile {profile})"
        return _shared_profile(Change(path, action, what, text=new_text), profile, layout)
    return Change(path, "manual", what, note=f"add to the outputs of profile {profile}:\n{LOCAL_OUTPUT}")


def _shared_profile(change: Change, profile: str, layout: Layout) -> Change:
    """A profiles.yml outside the project (~/.dbt/profiles.yml, say) becomes a hand edit: `quality init` edits
    only files of this project. One the project's git repository ignores is written, with a warning."""
    if _outside(change.path, layout):
        return Change(change.path, "manual", change.what, note=_outside_note(change, profile, layout))
    if _git_ignored(change.path):
        return Change(
            change.path,
            change.action,
            f"{change.what}; the file is git-ignored: teammates will not get the `local` target",
            text=change.text,
        )
    return change


def _outside(path: Path, layout: Layout) -> bool:
    resolved = path.resolve()
    return not any(resolved.is_relative_to(folder.resolve()) for folder in (layout.root, layout.project_dir))


def _outside_note(change: Change, profile: str, layout: Layout) -> str:
    if change.action == "create":
        edit = f"create it with:\n{_new_profile(profile)}"
    elif change.action == "append":
        edit = f"add this profile to it yourself:\n{_new_profile(profile)}"
    else:
        edit = f"add this output under `{profile}:` `outputs:` there yourself:\n{LOCAL_OUTPUT}"
    return (
        f"outside this project, so `quality init` does not edit it. Either {edit}"
        f"or copy the profile {profile} into {_posix(layout.project_dir / 'profiles.yml')} (secrets and hosts as "
        "env_var(), so it can be committed; the harness reads it before ~/.dbt, dbt does when run from that "
        "folder) and run `quality init` again."
    )


def _git_ignored(path: Path) -> bool:
    """Whether git ignores `path` (`git check-ignore`); False outside a git repository or without git."""
    folder = next((parent for parent in path.parents if parent.is_dir()), None)
    if folder is None:
        return False
    try:
        result = subprocess.run(
            ["git", "check-ignore", "-q", str(path)], cwd=folder, capture_output=True, check=False, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _new_profile(profile: str) -> str:
    return f"{profile}:\n  target: local\n  outputs:\n{textwrap.indent(LOCAL_OUTPUT, '    ')}"


def _insert_output(text: str, profile: str) -> str | None:
    """`local:` inserted as the first output of the profile's block mapping `outputs`, at its indentation."""
    root = yaml.compose(text)
    profile_node = _mapping_value(root, profile)
    outputs = _mapping_value(profile_node, "outputs")
    if not isinstance(outputs, yaml.MappingNode) or outputs.flow_style or not outputs.value:
        return None
    first_key = outputs.value[0][0]
    return _insert_lines(
        text, first_key.start_mark.line, textwrap.indent(LOCAL_OUTPUT, " " * first_key.start_mark.column)
    )


def _with_local_output(document: dict[str, Any], profile: str) -> dict[str, Any]:
    entry = dict(document.get(profile) or {"target": "local"})
    entry["outputs"] = {**(entry.get("outputs") or {}), "local": yaml.safe_load(LOCAL_OUTPUT)["local"]}
    return {**document, profile: entry}


# --- pytest settings ------------------------------------------------------------------------------------

PYTEST_KEY = "dbt_project_dir"
RAW_FIXTURES_KEY = "raw_fixtures_dir"


def pytest_settings(layout: Layout) -> dict[str, str]:
    """The pytest ini settings the project needs: the dbt project, and a raw fixtures folder when the
    default one would sit inside a folder dbt reads (see `raw_fixtures`)."""
    settings = {PYTEST_KEY: layout.project_ref}
    chosen = raw_fixtures(layout).setting
    if chosen is not None:
        settings[RAW_FIXTURES_KEY] = chosen
    return settings


def pytest_change(layout: Layout) -> Change:
    settings = pytest_settings(layout)
    what = "pytest settings: " + ", ".join(f"{key} = {value}" for key, value in settings.items())
    root = layout.root
    for name in ("pytest.ini", ".pytest.ini"):
        if (root / name).is_file():
            return _ini_change(root / name, "pytest", settings, what)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "pytest" in _toml(pyproject).get("tool", {}):
        return _pyproject_change(pyproject, settings, what)
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        if (root / name).is_file() and _ini_has_section(root / name, section):
            return _ini_change(root / name, section, settings, what)
    if pyproject.is_file():
        return _pyproject_change(pyproject, settings, what)
    text = "[pytest]\ntestpaths = tests\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())
    return Change(root / "pytest.ini", "create", what, text=text)


def _pyproject_change(path: Path, settings: dict[str, str], what: str) -> Change:
    text = path.read_text(encoding="utf-8")
    document = _toml(path)
    pytest_table = document.get("tool", {}).get("pytest", {})
    options = pytest_table.get("ini_options")
    missing = {key: value for key, value in settings.items() if not (isinstance(options, dict) and key in options)}
    if not missing:
        return Change(path, "present", what)
    lines = "".join(f'{key} = "{value}"\n' for key, value in missing.items())
    if options is None and not (set(pytest_table) - {"ini_options"}):
        new_text = _joined(text, f'[tool.pytest.ini_options]\ntestpaths = ["tests"]\n{lines}')
    else:
        header = re.search(r"^\[tool\.pytest\.ini_options\][ \t]*(#.*)?\n", text, flags=re.MULTILINE)
        new_text = text[: header.end()] + lines + text[header.end() :] if header else ""
    if new_text and _toml_parses_to(new_text, _with_pytest_keys(document, missing, options is None)):
        return Change(path, _edit(text, new_text), what, text=new_text)
    return Change(path, "manual", what, note=f"add under [tool.pytest.ini_options]:\n{lines}")


def _with_pytest_keys(document: dict[str, Any], missing: dict[str, str], new_table: bool) -> dict[str, Any]:
    tool = dict(document.get("tool", {}))
    pytest_table = dict(tool.get("pytest", {}))
    added: dict[str, Any] = {"testpaths": ["tests"], **missing} if new_table else dict(missing)
    pytest_table["ini_options"] = {**pytest_table.get("ini_options", {}), **added}
    return {**document, "tool": {**tool, "pytest": pytest_table}}


def _toml_parses_to(text: str, expected: dict[str, Any]) -> bool:
    try:
        return tomllib.loads(text) == expected
    except tomllib.TOMLDecodeError:
        return False


def _ini_change(path: Path, section: str, settings: dict[str, str], what: str) -> Change:
    parser = _ini(path)
    missing = {key: value for key, value in settings.items() if not parser.has_option(section, key)}
    if not missing:
        return Change(path, "present", what)
    text = path.read_text(encoding="utf-8")
    lines = "".join(f"{key} = {value}\n" for key, value in missing.items())
    header = re.search(rf"^\[{re.escape(section)}\][ \t]*([#;].*)?\n", text, flags=re.MULTILINE)
    if header is None:
        return Change(path, "manual", what, note=f"add under [{section}]:\n{lines}")
    new_text = text[: header.end()] + lines + text[header.end() :]
    return Change(path, _edit(text, new_text), what, text=new_text)


def _ini_has_section(path: Path, section: str) -> bool:
    return _ini(path).has_section(section)


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as error:
        raise QualityError(f"{path}: not a valid INI file ({error}); fix it and rerun `quality init`.") from None
    return parser


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise QualityError(f"{path}: not valid TOML ({error}); fix it and rerun `quality init`.") from None


# --- raw fixtures: outside every folder dbt reads ------------------------------------------------------

DEFAULT_RAW_FIXTURES = "tests/fixtures/raw"  # the plugin's default (ini raw_fixtures_dir)
RAW_FIXTURES_CHOICES = (DEFAULT_RAW_FIXTURES, "fixtures/raw", "data/raw_fixtures")


@dataclass(frozen=True)
class RawFixtures:
    """Where the raw fixture CSVs go. dbt parses every CSV under `<test-path>/fixtures` as a unit-test fixture
    (and every one under a seed path as a seed) into its parse state, so with dbt_project.yml at the
    repository root the default `tests/fixtures/raw` is inside dbt's default test path `tests/`."""

    folder: str  # relative to the root, POSIX
    dbt_folder: str | None  # the dbt test or seed path the default lies in; None when it lies outside
    csv_files: int = 0  # CSVs already in the default folder there: left where they are, the note says move them
    csv_bytes: int = 0

    @property
    def setting(self) -> str | None:
        """The ini value to write; None when the default stands."""
        return None if self.folder == DEFAULT_RAW_FIXTURES else self.folder


def raw_fixtures(layout: Layout) -> RawFixtures:
    read = _dbt_csv_folders(layout.project_dir)
    default = layout.root / DEFAULT_RAW_FIXTURES
    inside = _inside(default, read)
    if inside is None:
        return RawFixtures(DEFAULT_RAW_FIXTURES, None)
    shown = _relative_posix(inside, layout.root)
    csvs = sorted(default.rglob("*.csv")) if default.is_dir() else []
    if csvs:
        return RawFixtures(DEFAULT_RAW_FIXTURES, shown, len(csvs), sum(path.stat().st_size for path in csvs))
    free = [name for name in RAW_FIXTURES_CHOICES[1:] if _inside(layout.root / name, read) is None]
    return RawFixtures(free[0] if free else RAW_FIXTURES_CHOICES[-1], shown)


def raw_fixtures_note(layout: Layout) -> str:
    """One line for `quality init`: which raw fixtures folder pytest and the gate read, and why there."""
    found = raw_fixtures(layout)
    if found.dbt_folder is None:
        return f"raw fixtures: {found.folder}/<table>.csv (the default; outside the dbt project's test and seed paths)."
    why = (
        f"{DEFAULT_RAW_FIXTURES} lies inside {found.dbt_folder}/, a test or seed path of dbt, which parses every CSV "
        "there (as a unit-test fixture or a seed) into its parse state and manifest"
    )
    if found.csv_files:
        moved = RawFixtures(RAW_FIXTURES_CHOICES[1], None).folder
        return (
            f"raw fixtures: {why}; its {found.csv_files} CSV file(s) ({found.csv_bytes / 1e6:.1f} MB) are parsed on "
            f"every change. Move them out: `git mv {DEFAULT_RAW_FIXTURES} {moved}`, then run `quality init` again "
            f"(it sets {RAW_FIXTURES_KEY} = {moved})."
        )
    return f"raw fixtures: {found.folder}/<table>.csv ({RAW_FIXTURES_KEY}), because {why}."


def _dbt_csv_folders(project_dir: Path) -> list[Path]:
    """The folders whose CSV files dbt reads: its test paths (fixtures under them) and its seed paths."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    tests = resource_paths(config, "test-paths", ["tests"])
    seeds = resource_paths(config, "seed-paths", ["seeds"])  # `data-paths` in an older project
    return [(project_dir / str(path)).resolve() for path in [*tests, *seeds]]


def _inside(path: Path, folders: Sequence[Path]) -> Path | None:
    resolved = path.resolve()
    return next((folder for folder in folders if resolved.is_relative_to(folder)), None)


def _relative_posix(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


# --- serial or -n 2 ----------------------------------------------------------------------------------------

# Measured with bench/bench_shared_build.py (4 rounds, 2-core machine shared with other work, load ~4): the
# sample project's four tests all read the one shared build, so -n 2 only adds xdist's start and stop of two
# workers (about 0.9 s each way) and the second worker's imports running beside the build.
PARALLEL_NOTE = (
    "parallel: run `uv run pytest` serially while the tests are mostly the one build: `-n 2` shares that build "
    "but adds xdist's start and stop of two workers (measured on a 5-model project: 5.2 s serial, 8.0 s with -n 2); "
    "use `-n 2` once the tests besides the build take longer than that."
)


# --- the target pytest and the gate use -----------------------------------------------------------------


def target_note(project_dir: Path) -> str:
    """Which target `pytest` and `quality gate` use: DBT_TARGET, else the profile's default."""
    from quality.dbt.project import load_project
    from quality.dbt.targets import default_target_name

    try:
        project = load_project(project_dir)
        profiles = _load_yaml(project.profiles_path.read_text(encoding="utf-8"), project.profiles_path)
        name = default_target_name(project)
    except (OSError, QualityError):
        return ""
    profile = profiles.get(project.profile) or {}
    default = str(profile.get("target") or "local")
    kind = str(((profile.get("outputs") or {}).get(name) or {}).get("type") or "unknown")
    source = (
        f"DBT_TARGET; the profile's default is `{default}`"
        if os.environ.get("DBT_TARGET")
        else f"the default target of profile {project.profile} in {_posix(project.profiles_path)}"
    )
    engine = find_kind(kind)
    embedded = engine is not None and engine.embedded
    other = "" if embedded else "; `DBT_TARGET=local uv run pytest` builds on the embedded DuckDB instead"
    return (
        f"target: `uv run pytest` and `uv run quality gate` use `{name}` ({kind}; {source}){other}. "
        "`--dbt-target` (pytest) and `--target` (gate) choose another."
    )


# --- the example test -----------------------------------------------------------------------------------

EXAMPLE_HEADER = '''\
"""The dbt project, built in a throwaway schema and checked. Written by `quality init`: yours to edit.

`pytest` builds the whole project once per session (with `-n 2` too: the workers share that one build,
read-only), runs its dbt tests, validates the Great Expectations suites declared in the models' YAML
(`config: meta: quality: expectations:`) and drops the schemas at the end (`--keep-schema` keeps them).
A test that changes data uses the per-worker fixtures (`worker_build`, `worker_dbt`, `worker_gx`).
"""

from __future__ import annotations

'''

# What `quality init` wrote while every xdist worker built for itself: recognised as ours, not as an edit.
_LEGACY_HEADER = '''\
"""The dbt project, built in a throwaway schema and checked. Written by `quality init`: yours to edit.

`pytest` builds the whole project once per session (with `-n 2`, once per worker, each in its own schema
base), runs its dbt tests, validates the Great Expectations suites declared in the models' YAML
(`config: meta: quality: expectations:`) and drops the schemas at the end (`--keep-schema` keeps them).
"""

from __future__ import annotations

'''

# What `quality init` wrote before the plugin built from seeds by itself: recognised as ours, not as an edit.
_LEGACY_SEEDS_OVERRIDE = """\
import pytest


# This project's raw data are its dbt seeds (`dbt build` loads them), so there are no raw fixture files to
# load first. Delete this fixture once tests/fixtures/raw holds one <table>.csv per source table.
@pytest.fixture(scope="session")
def seed_fixtures() -> dict[str, int]:
    return {}

"""

EXAMPLE_TESTS = """
def test_the_project_builds_and_its_dbt_tests_pass(dbt_build):
    assert dbt_build.success  # a failing model or dbt test fails the fixture, naming each with its message


def test_the_models_hold_their_expectations(dbt_build, gx):
    gx.assert_valid()  # every model with a suite; fails listing model, column, observed value, sample rows
"""


def example_test() -> str:
    """The example test: with raw fixture files the plugin loads them, without it builds from the seeds."""
    return EXAMPLE_HEADER + EXAMPLE_TESTS


def example_test_change(layout: Layout) -> Change:
    path = layout.root / EXAMPLE_TEST
    what = "an example test (fixtures dbt_build and gx)"
    if path.exists():
        return Change(path, "present" if _is_ours(path) else "kept", what, note="your file is left as it is")
    return Change(path, "create", what, text=example_test())


def _is_ours(path: Path) -> bool:
    legacy = {
        header + seeds + EXAMPLE_TESTS
        for header in (EXAMPLE_HEADER, _LEGACY_HEADER)
        for seeds in ("", _LEGACY_SEEDS_OVERRIDE)
    }
    return path.read_text(encoding="utf-8") in legacy


# --- pre-commit hooks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hook:
    """One of our hooks (see .pre-commit-hooks.yaml), run from the project venv (`language: system`)."""

    id: str
    name: str
    entry: str
    files: str = ""
    types: tuple[str, ...] = ()
    takes_project_dir: bool = False
    require_serial: bool = False

    def config(self, project_ref: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.id, "name": self.name, "entry": self.entry, "language": "system"}
        if self.takes_project_dir:
            entry["args"] = ["--project-dir", project_ref]
        if self.files:
            entry["files"] = self.files
        if self.types:
            entry["types"] = list(self.types)
        if self.require_serial:
            entry["require_serial"] = True
        return entry


HOOKS = (
    Hook(
        "profiles-safety",
        "profiles.yml reads secrets and hosts from env_var()",
        "quality-profiles-safety",
        files=r"(^|/)profiles\.ya?ml$",
    ),
    Hook(
        "databricks-token",
        "no Databricks token (dapi...) in any text file, workflows included",
        "quality-databricks-token",
        types=("text",),
    ),
    Hook(
        "dbt-contract-guard",
        "dbt contract guard (no silent breaking change to an enforced contract)",
        "quality-contract-guard",
        files=r"(^|/)(dbt_project\.yml|models/.*\.(sql|ya?ml))$",
        takes_project_dir=True,
        require_serial=True,
    ),
)
PRE_COMMIT_HEADER = """\
# pre-commit: `uv run pre-commit install`, then every commit runs these (seconds, no warehouse). pre-commit
# is a dev dependency of this project (`quality init` added it to pyproject.toml's dev group; `uv run` installs it).
# The dbt-quality-harness hooks run from this project's venv (`language: system`, the version `uv add`
# installed): commit through `uv run git commit` or from the activated venv. More of them (dbt-layering,
# spark-functions, conventional-commit, branch-name) are listed in the package's .pre-commit-hooks.yaml.
"""


def installed_hooks(scripts: Callable[[], set[str]] | None = None) -> list[Hook]:
    """Our hooks whose console script the installed package provides."""
    available = (scripts or _console_scripts)()
    return [hook for hook in HOOKS if hook.entry in available]


def _console_scripts() -> set[str]:
    try:
        entry_points = metadata.distribution(DISTRIBUTION).entry_points
    except metadata.PackageNotFoundError:
        return set()
    return {entry.name for entry in entry_points if entry.group == "console_scripts"}


def pre_commit_repo(project_ref: str, hooks: Sequence[Hook]) -> dict[str, Any]:
    return {"repo": "local", "hooks": [hook.config(project_ref) for hook in hooks]}


def pre_commit_change(layout: Layout, hooks: Sequence[Hook] | None = None) -> Change:
    path = layout.root / ".pre-commit-config.yaml"
    chosen = installed_hooks() if hooks is None else list(hooks)
    what = f"pre-commit hooks: {', '.join(hook.id for hook in chosen) or 'none installed'}"
    repo = pre_commit_repo(layout.project_ref, chosen)
    snippet = _dump_yaml([repo])
    if not chosen:
        return Change(path, "kept", what, note=f"{DISTRIBUTION} provides no hook scripts here")
    if not path.is_file():
        return Change(path, "create", what, text=PRE_COMMIT_HEADER + "repos:\n" + snippet)
    text = path.read_text(encoding="utf-8")
    document = _load_yaml(text, path)
    if _references_our_hooks(document, chosen):
        return Change(path, "present", what)
    new_text = _insert_repo(text, snippet)
    expected = {**document, "repos": [repo, *(document.get("repos") or [])]}
    if new_text and _parses_to(new_text, expected):
        return Change(path, _edit(text, new_text), what, text=new_text)
    return Change(path, "manual", what, note=f"add to `repos:`\n{snippet}")


def _references_our_hooks(document: dict[str, Any], hooks: Sequence[Hook]) -> bool:
    ids = {hook.id for hook in hooks}
    repos = document.get("repos") or []
    found = {hook.get("id") for repo in repos if isinstance(repo, dict) for hook in repo.get("hooks") or []}
    return bool(ids & found)


def _insert_repo(text: str, snippet: str) -> str | None:
    """Our repo inserted as the first item of the block sequence `repos`, at that sequence's indentation."""
    repos = _mapping_value(yaml.compose(text), "repos")
    if not isinstance(repos, yaml.SequenceNode) or repos.flow_style or not repos.value:
        return None
    line = repos.value[0].start_mark.line
    dash = text.splitlines()[line].index("-")
    return _insert_lines(text, line, textwrap.indent(snippet, " " * dash))


# --- pre-commit itself, as a dev dependency ------------------------------------------------------------

PRE_COMMIT_REQUIREMENT = "pre-commit>=4"
_DEV_ARRAY = re.compile(r"^dev[ \t]*=[ \t]*\[", flags=re.MULTILINE)


def dev_dependency_change(layout: Layout, earlier: Change | None = None) -> Change:
    """pre-commit in pyproject.toml's `[dependency-groups]` dev group, so `uv run pre-commit install` (which
    the hook config says) finds it. `earlier`: a change of the same pyproject.toml made first (pytest
    settings), whose text this one builds on."""
    path = layout.root / "pyproject.toml"
    what = f"dev dependency {PRE_COMMIT_REQUIREMENT} (the hooks' runner; `uv run` installs it)"
    if not path.is_file():
        return Change(path, "kept", what, note="no pyproject.toml: run `uv add --dev pre-commit` once there is one")
    on_disk = path.read_text(encoding="utf-8")
    text = earlier.text if earlier is not None and earlier.path == path and earlier.action in WRITES else on_disk
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise QualityError(f"{path}: not valid TOML ({error}); fix it and rerun `quality init`.") from None
    if _has_pre_commit(document):
        return Change(path, "present", what)
    new_text = _with_dev_requirement(text, document)
    if new_text is not None and _toml_parses_to(new_text, _expected_groups(document)):
        return Change(path, _edit(on_disk, new_text), what, text=new_text)
    return Change(path, "manual", what, note="run `uv add --dev pre-commit` (the hook config runs it through uv)")


def _has_pre_commit(document: dict[str, Any]) -> bool:
    groups = document.get("dependency-groups") or {}
    listed = [*((document.get("project") or {}).get("dependencies") or []), *(groups.get("dev") or [])]
    listed += (document.get("tool") or {}).get("uv", {}).get("dev-dependencies") or []
    return any(re.match(r"pre[-_.]?commit(\W|$)", str(item), flags=re.IGNORECASE) for item in listed)


def _with_dev_requirement(text: str, document: dict[str, Any]) -> str | None:
    item = f'"{PRE_COMMIT_REQUIREMENT}"'
    groups = document.get("dependency-groups")
    if groups is None:
        return _joined(text, f"[dependency-groups]\ndev = [{item}]\n")
    header = re.search(r"^\[dependency-groups\][ \t]*(#.*)?\n", text, flags=re.MULTILINE)
    if header is None:
        return None
    if "dev" not in groups:
        return text[: header.end()] + f"dev = [{item}]\n" + text[header.end() :]
    array = _DEV_ARRAY.search(text, header.end())
    return text[: array.end()] + f"{item}, " + text[array.end() :] if array else None


def _expected_groups(document: dict[str, Any]) -> dict[str, Any]:
    groups = dict(document.get("dependency-groups") or {})
    groups["dev"] = [PRE_COMMIT_REQUIREMENT, *groups.get("dev", [])]
    return {**document, "dependency-groups": groups}


# --- .gitignore -----------------------------------------------------------------------------------------


REVIEW_WORKFLOW = Path(".github/workflows/quality-pr.yml")
_REVIEW_WORKFLOW_TEXT = """\
# dbt-quality-harness: the data change review of every pull request (`quality pr`). The PR's working tree and
# its merge base are built on the same raw data and every relation is compared by key; a change of data that
# the PR does not declare under the model's meta.quality.changes fails this job.
name: data change review

on:
  pull_request:

permissions: {{}}

jobs:
  data-change-review:
    runs-on: ubuntu-24.04
    timeout-minutes: 30
    permissions:
      contents: read
    env:
      BASE_REF: ${{{{ github.base_ref }}}}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
          fetch-depth: 0 # the base branch's history, for git merge-base
      - uses: actions/setup-python@0b93645e9fea7318ecaed2b359559ac225c90a2b # v5.3.0
        with:
          python-version: "3.11"
      - name: Install the locked environment
        run: |
          python -m pip install uv
          uv sync --frozen
      - name: Every data change is declared
        run: uv run quality pr --project-dir {project} --base "origin/$BASE_REF" --summary "$GITHUB_STEP_SUMMARY"
"""


def review_workflow_change(layout: Layout) -> Change:
    """The PR job running `quality pr` (a workflow file of its own; an existing one is left alone)."""
    path = layout.root / REVIEW_WORKFLOW
    what = "a pull-request workflow running the data change review (`quality pr`)"
    text = _REVIEW_WORKFLOW_TEXT.format(project=layout.project_ref)
    if path.exists():
        same = path.read_text(encoding="utf-8") == text
        return Change(path, "present" if same else "kept", what, note="" if same else "your file is left as it is")
    return Change(path, "create", what, text=text)


def gitignore_change(layout: Layout) -> Change:
    path = layout.root / ".gitignore"
    what = f".gitignore: {', '.join(IGNORED)} (DuckDB files, run artifacts)"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    present = {line.strip().rstrip("/") for line in text.splitlines()}
    missing = [entry for entry in IGNORED if entry.rstrip("/") not in present]
    if not missing:
        return Change(path, "present", what)
    added = "# dbt-quality-harness\n" + "".join(f"{entry}\n" for entry in missing)
    return Change(path, "append" if text else "create", what, text=_joined(text, added))


# --- dbt packages ----------------------------------------------------------------------------------------


def deps_note(project_dir: Path) -> str | None:
    """What to run first when the project lists packages (packages.yml, dependencies.yml) none of which is
    installed yet: `dbt build` and `dbt parse` fail on a missing package. None when nothing is missing."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    installed = project_dir / str(config.get("packages-install-path") or "dbt_packages")
    if installed.is_dir():
        return None
    for name in ("packages.yml", "dependencies.yml"):
        path = project_dir / name
        try:
            listed = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}
        except yaml.YAMLError:
            listed = {"packages": ["?"]}  # dbt deps names the error
        if isinstance(listed, dict) and listed.get("packages"):
            return (
                f"{name} lists packages and {installed.name}/ is not there yet: run `uv run dbt deps --project-dir "
                f"{_posix(project_dir)}` before `uv run pytest` (packages from the dbt hub or git need network "
                "access; a `local:` package does not)."
            )
    return None


# --- snapshots configured with target_schema ---------------------------------------------------------------

_TARGET_SCHEMA = re.compile(r"\btarget_schema\b")


def snapshot_schema_note(project_dir: Path) -> str | None:
    """Where the project configures snapshots with `target_schema` (a `{% snapshot %}` block's config or a
    snapshot YAML under a snapshot path, or dbt_project.yml), which dbt uses as written, bypassing
    generate_schema_name: `quality init` cannot route them and never rewrites a file, and pytest and the gate
    refuse to build them (quality.dbt.routing names the fix per snapshot). None when there is none."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    files = [
        path
        for folder in resource_paths(config, "snapshot-paths", ["snapshots"])
        if (project_dir / folder).is_dir()
        for path in sorted((project_dir / folder).rglob("*"))
        if path.suffix in {".sql", ".yml", ".yaml"} and path.is_file()
    ]
    found = [
        f"{_posix(path)}:{number}"
        for path in [*files, project_dir / "dbt_project.yml"]
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
        if _TARGET_SCHEMA.search(line.split("#", 1)[0] if path.suffix != ".sql" else line)
    ]
    if not found:
        return None
    return (
        f"snapshots configured with target_schema ({', '.join(found)}): dbt uses it as written, bypassing "
        "generate_schema_name, so `uv run pytest` and `uv run quality gate` refuse to build them, naming the fix: "
        "remove target_schema where it names the target's own schema (the snapshot stays there), else write "
        "`schema:` instead (dbt >= 1.9)."
    )


def _posix(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


# --- text and YAML helpers --------------------------------------------------------------------------------


def _joined(text: str, block: str) -> str:
    """`block` appended after `text`, separated by one blank line."""
    if not text.strip():
        return block
    return text.rstrip("\n") + "\n\n" + block


def _insert_lines(text: str, line: int, block: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join([*lines[:line], block, *lines[line:]])


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if getattr(name, "value", None) == key), None)


def _load_yaml(text: str, path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise QualityError(f"{path}: invalid YAML ({error}); fix it and rerun `quality init`.") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise QualityError(f"{path}: expected a YAML mapping; fix it and rerun `quality init`.")
    return loaded


def _parses_to(text: str, expected: dict[str, Any]) -> bool:
    try:
        return bool(yaml.safe_load(text) == expected)
    except yaml.YAMLError:
        return False


class _IndentedDumper(yaml.SafeDumper):
    """Block sequences indented under their key, as pre-commit's own examples write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump_yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_IndentedDumper, sort_keys=False, default_flow_style=False, width=200)
