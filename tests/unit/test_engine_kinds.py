"""A third engine touches `quality/engines/` alone: a test engine kind, registered through the registry's
public function, drives the harness's own code paths (profile resolution, workspace placement, dbt's
profiles, the shared build's record, reap, doctor, the GX data source, emulated expectations, the data change
review's macro dispatch, the invariants' quoting and SQL dialect, read-only statement checks, `quality init`'s
target note, the profiles-safety hook), and every one of them asks the kind; none compares an engine's name.

The test engine "lake" keeps its data in a local file (a DuckDB file underneath, under another name) and
keeps its file path in the profile output, not in a field of `Target`: nothing outside the kind knows it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from quality.dbt.project import DbtProject, load_project
from quality.dbt.targets import Target, refuse_database_file_outside_project, resolve_target
from quality.engines.base import Engine
from quality.engines.connectivity import Say
from quality.engines.duckdb import DuckDBEngine
from quality.engines.kind import EngineKind
from quality.engines.kinds import engine_kind, find_kind, kind_for_url, register_kind, unregister_kind
from quality.errors import HarnessError, TargetError
from quality.expectations.spec import ExpectationSpec

PROFILES = """
shop:
  target: lake
  outputs:
    lake:
      type: lake
      path: "{path}"
      schema: main
"""
EMULATED = "expect_column_values_to_match_regex"


class LakeEngine(DuckDBEngine):
    """The test engine's connection: a DuckDB file that calls itself a lake."""

    name = "lake"

    def sqlalchemy_url(self) -> str:
        return f"lake:///{self.path}"


class LakeKind(EngineKind):
    """A third, file-backed engine kind that records every question the harness asks it."""

    name = "lake"
    sqlalchemy_dialect = "lake"
    url_example = "lake:///<path>"
    file_backed = True
    stands_in_literal_sources = True
    inspects_read_only = True
    emulated_expectations = frozenset({EMULATED})
    distributions = ("pytest",)
    sqlglot_dialect = "duckdb"  # DuckDB underneath
    dispatch_prefixes = ("lake", "default")
    workspace_host_types = frozenset({"lake"})  # a lake may sit on a workspace's host too
    label = "Lake"
    file_setting = "path"
    file_setting_example = "path: \"{{ env_var('LAKE_PATH', 'warehouse.lake') }}\""
    file_suffix = ".lake"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.asked: list[str] = []

    def check_output(self, raw: dict[str, Any], rendered: dict[str, Any], *, where: str) -> None:
        self.asked.append("check_output")
        if str(rendered.get("path", "")).endswith(".bad"):
            raise TargetError(f"{where}.path: a lake file never ends in .bad")

    def target_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        self.asked.append("target_fields")
        return {"output": {**output, "path": str(Path(str(output["path"])).resolve())}}

    def open(self, target: Target, *, read_only: bool, say: Say) -> Engine | None:
        self.asked.append("open")
        return LakeEngine(Path(target.output["path"]), read_only=read_only)

    def warehouse_exists(self, target: Target) -> bool:
        self.asked.append("warehouse_exists")
        return Path(target.output["path"]).exists()

    def release_in_process_connections(self) -> None:
        self.asked.append("release_in_process_connections")

    def database_file(self, target: Target) -> Path | None:
        self.asked.append("database_file")
        return Path(target.output["path"])

    def with_database_file(self, target: Target, path: Path) -> Target:
        self.asked.append("with_database_file")
        return dataclasses.replace(target, output={**target.output, "path": str(path)})

    def workspace_file(self, base: str) -> Path | None:
        self.asked.append("workspace_file")
        return (self.folder / f"{base}.lake").resolve()

    def remove_files(self, target: Target) -> list[str]:
        self.asked.append("remove_files")
        path = Path(target.output["path"])
        removed = [leftover.name for leftover in path.parent.glob(f"{path.name}*")]
        for name in removed:
            (path.parent / name).unlink()
        return removed

    def ephemeral_files(self) -> dict[str, list[Path]]:
        self.asked.append("ephemeral_files")
        files: dict[str, list[Path]] = {}
        for path in self.folder.glob("*.lake*"):
            files.setdefault(path.name.split(".lake")[0], []).append(path)
        return files

    def pinned_profile_output(self, target: Target) -> dict[str, Any] | None:
        self.asked.append("pinned_profile_output")
        return dict(target.output)

    def gx_datasource(
        self, context: Any, url: str, creator: Callable[[], Any] | None, timeout_s: float, *, name: str
    ) -> Any:
        self.asked.append("gx_datasource")
        return ("lake datasource", url, creator, name)

    def regex_match_sql(self, column: str, pattern: str) -> str:
        self.asked.append("regex_match_sql")
        return f"lake_regex({column}, {pattern})"

    def quote_identifier(self, name: str) -> str:
        self.asked.append("quote_identifier")
        return super().quote_identifier(name)


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[LakeKind]:
    kind = LakeKind(tmp_path / "ephemeral")
    kind.folder.mkdir()
    register_kind(kind)
    try:
        yield kind
    finally:
        unregister_kind(kind.name)


@pytest.fixture
def project(tmp_path: Path) -> DbtProject:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (folder / "profiles.yml").write_text(PROFILES.format(path=tmp_path / "warehouse.lake"))
    return load_project(folder)


def test_a_registered_kind_is_found_by_name_url_and_target(lake: LakeKind) -> None:
    assert find_kind("lake") is lake
    assert kind_for_url("lake:///somewhere/warehouse.lake") is lake
    assert engine_kind(Target(name="x", engine="lake", schema="main")) is lake
    with pytest.raises(HarnessError, match="registered already"):
        register_kind(LakeKind(lake.folder))


def test_the_profile_of_a_registered_kind_resolves_through_the_kind(
    lake: LakeKind, project: DbtProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET", raising=False)
    target = resolve_target(project)
    assert (target.engine, target.output["path"]) == ("lake", str((tmp_path / "warehouse.lake").resolve()))
    assert (target.duckdb_path, target.databricks) == (None, None)
    assert lake.asked == ["check_output", "target_fields"]

    (project.profiles_path).write_text(PROFILES.format(path=tmp_path / "warehouse.bad"))
    with pytest.raises(TargetError, match=r"shop\.outputs\.lake\.path: a lake file never ends in \.bad"):
        resolve_target(project)


def test_a_database_file_outside_the_project_is_refused_in_the_kinds_words(
    lake: LakeKind, project: DbtProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET", raising=False)
    elsewhere = tmp_path.parent / f"{tmp_path.name}_absent" / "warehouse.lake"
    project.profiles_path.write_text(PROFILES.format(path=elsewhere))
    target = resolve_target(project)
    with pytest.raises(TargetError) as refused:
        refuse_database_file_outside_project(project, target)
    message = str(refused.value)
    assert f"the Lake path {elsewhere} of target 'lake'" in message
    assert "e.g. `path: \"{{ env_var('LAKE_PATH', 'warehouse.lake') }}\"`" in message
    assert "DuckDB" not in message
    assert "database_file" in lake.asked


def test_an_unknown_type_lists_every_registered_kind(lake: LakeKind, project: DbtProject) -> None:
    project.profiles_path.write_text(PROFILES.replace("type: lake", "type: postgres").format(path="x"))
    with pytest.raises(TargetError, match="the harness supports duckdb and databricks and lake: run `quality init`"):
        resolve_target(project, "lake")


def test_a_workspace_is_placed_and_removed_by_the_kind(
    lake: LakeKind, project: DbtProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quality.harness.workspace import open_workspace

    monkeypatch.chdir(tmp_path)
    target = resolve_target(project, "lake")
    lake.asked.clear()
    workspace = open_workspace(project, target, prefix="ci", artifacts_root=tmp_path / "artifacts", run_id="ab12cd")
    file = lake.folder / f"{workspace.base}.lake"
    assert workspace.owns_file
    assert workspace.target.output["path"] == str(file.resolve())
    assert workspace.engine.name == "lake"
    assert file.is_file()
    assert lake.asked == ["workspace_file", "with_database_file", "open"]
    assert f"{workspace.base}_raw" in workspace.engine.list_schemas()

    profiles_dir = workspace.dbt._profiles_dir()  # dbt's profiles pin the workspace's own file
    assert lake.asked[-1] == "pinned_profile_output"
    assert str(file.resolve()) in (profiles_dir / "profiles.yml").read_text()

    assert workspace.close() == [f"{workspace.base}_raw"]
    assert lake.asked[-1] == "remove_files"
    assert not file.exists()


def test_the_shared_build_records_and_reopens_the_kinds_file(lake: LakeKind, tmp_path: Path) -> None:
    from quality.harness.shared_build import _target_record, release_dbt_connections

    target = Target(name="lake", engine="lake", schema="main", output={"path": str(tmp_path / "w.lake")})
    record = _target_record("ci_20261206t090000_ab12cd", target)
    assert record["engine"] == "lake"
    assert record["database_file"] == str((lake.folder / "ci_20261206t090000_ab12cd.lake").resolve())

    release_dbt_connections()  # every kind's adapter is asked, the test kind's too
    assert lake.asked[-1] == "release_in_process_connections"


def test_reap_removes_the_stale_files_the_kind_lists(
    lake: LakeKind, project: DbtProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quality.commands.reap import reap

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    stale = datetime.now(UTC) - timedelta(days=2)
    old = lake.folder / f"ci_{stale:%Y%m%dt%H%M%S}_ab12cd.lake"
    fresh = lake.folder / f"ci_{datetime.now(UTC):%Y%m%dt%H%M%S}_ab12cd.lake"
    for path in (old, old.with_name(old.name + ".wal"), fresh):
        path.write_text("")

    assert reap(project_dir=project.root, profiles_dir=None, target="lake", older_than="6h") == 0
    assert "ephemeral_files" in lake.asked
    assert sorted(path.name for path in lake.folder.iterdir()) == [fresh.name]


def test_doctor_asks_the_kind_whether_there_is_a_warehouse(lake: LakeKind, tmp_path: Path) -> None:
    from quality.onboarding.doctor import check_publish_record

    target = Target(name="lake", engine="lake", schema="main", output={"path": str(tmp_path / "none.lake")})
    check = check_publish_record(target)
    assert (check.status, check.detail) == ("ok", "no warehouse yet: nothing published")
    assert lake.asked == ["warehouse_exists"]


def test_gx_validates_through_the_data_source_of_the_urls_kind(lake: LakeKind, tmp_path: Path) -> None:
    from quality.expectations.gx_context import DATASOURCE_NAME, add_datasource, ephemeral_context

    context = ephemeral_context(None)
    url = f"lake:///{tmp_path / 'w.lake'}"
    assert add_datasource(context, url) == ("lake datasource", url, None, DATASOURCE_NAME)
    assert lake.asked == ["gx_datasource"]

    supported = "supports duckdb:///<path> and databricks:// and lake:///<path> URLs, got a 'postgresql' URL"
    with pytest.raises(HarnessError, match=re.escape(supported)):
        add_datasource(context, "postgresql://localhost/db")


def test_emulated_expectations_are_the_dialects_kinds(lake: LakeKind) -> None:
    from quality.expectations.pushdown import emulated_query

    def quote(name: str) -> str:
        return f'"{name}"'

    regex = ExpectationSpec("orders", "code", EMULATED, {"column": "code", "regex": "^A"})
    like = ExpectationSpec(
        "orders", "code", "expect_column_values_to_match_like_pattern", {"column": "code", "like_pattern": "A%"}
    )
    assert emulated_query(regex, quote, "lake") == (
        """select "code" from {batch} where "code" is not null and not (lake_regex("code", '^A'))"""
    )
    assert lake.asked == ["regex_match_sql"]
    assert emulated_query(like, quote, "lake") is None  # not in the kind's emulated_expectations
    assert emulated_query(regex, quote, "databricks") is None
    assert emulated_query(regex, quote, "duckdb") == (
        """select "code" from {batch} where "code" is not null and not (regexp_matches("code", '^A'))"""
    )


def test_the_review_of_a_change_asks_the_kinds_which_macro_implementations_they_run(lake: LakeKind) -> None:
    from quality.wap.review.unseen import UnseenChange, unseen_changes

    def manifest(default_sql: str) -> dict[str, Any]:
        macros = {
            f"macro.shop.{prefix}__week_start": {"name": f"{prefix}__week_start", "package_name": "shop"}
            for prefix in ("lake", "spark", "default")
        }
        macros["macro.shop.default__week_start"]["macro_sql"] = default_sql
        macros["macro.shop.week_start"] = {"name": "week_start", "package_name": "shop"}
        model = {"name": "dim_date", "resource_type": "model", "depends_on": {"macros": ["macro.shop.week_start"]}}
        return {"macros": macros, "nodes": {"model.shop.dim_date": model}}

    base, head = manifest("select 1"), manifest("select 2")
    # Databricks (prod) runs spark__week_start, not the changed default__: nobody runs the change.
    assert unseen_changes(base, head, "lake") == []
    del head["macros"]["macro.shop.spark__week_start"], base["macros"]["macro.shop.spark__week_start"]
    assert unseen_changes(base, head, "lake") == [
        UnseenChange("dim_date", "default__week_start", "lake__week_start", "lake")
    ]
    assert unseen_changes(base, head, "databricks") == []  # prod's own engine sees what it runs


def test_invariant_sql_quotes_names_as_the_engines_kind_does(lake: LakeKind, tmp_path: Path) -> None:
    from quality.invariants.model import quote

    engine = LakeEngine(tmp_path / "quoted.lake")
    try:
        assert quote(engine, 'odd "name"') == '"odd ""name"""'
    finally:
        engine.close()
    assert lake.asked == ["quote_identifier"]


def test_sql_parses_in_the_dialect_of_the_kind(lake: LakeKind, tmp_path: Path) -> None:
    from quality.engines.kinds import adapter_dialect, embedded_kind, prod_kind
    from quality.engines.read_only import ReadOnlyEngine

    assert adapter_dialect("lake") == "duckdb"
    assert (adapter_dialect("databricks"), adapter_dialect(None), adapter_dialect("postgres")) == (
        "databricks",
        "duckdb",  # no adapter named: the embedded engine's
        "postgres",  # not an engine of the harness: sqlglot's dialect of that name
    )
    assert (embedded_kind().name, prod_kind().name) == ("duckdb", "databricks")  # a third kind is neither
    engine = ReadOnlyEngine(LakeEngine(tmp_path / "read.lake"))  # its statements are checked as DuckDB SQL
    try:
        assert (engine.dialect, engine.query("select 1")) == ("duckdb", [(1,)])
    finally:
        engine.close()


def test_init_says_the_local_target_is_another_engine_than_a_default_lake(lake: LakeKind, project: DbtProject) -> None:
    from quality.onboarding.scaffold import target_note

    assert target_note(project.root).startswith("target: `uv run pytest` and `uv run quality gate` use `lake` (lake; ")
    assert "; `DBT_TARGET=local uv run pytest` builds on the embedded DuckDB instead" in target_note(project.root)


def test_a_committed_profile_reads_the_host_of_a_kinds_workspace_from_the_environment(lake: LakeKind) -> None:
    from quality.dbt.profile_secrets import check_text, host_checked_types

    assert host_checked_types() == {"databricks", "spark", "lake"}
    profiles = "shop:\n  outputs:\n    lake:\n      type: lake\n      host: lake.example.com\n"
    assert [finding.message for finding in check_text("profiles.yml", profiles)] == [
        "`host` of lake output 'lake' of profile 'shop' is a literal value (a workspace host)"
    ]


# Outside engines/ and emulator/, only the module that adapts dbt's internals (dbt-databricks' compile
# classes, for the offline compile) may name an engine.
NAMES_ENGINES = ("quality/engines/", "quality/emulator/", "quality/dbt/adapter.py")
NAMES_AN_ENGINE = re.compile(
    r'engine == "|engine != "|engine in \{|import duckdb|from duckdb|databricks\.sql|from databricks import'
    r"|dbt\.adapters\.duckdb|_EMULATED_DIALECTS|\"duckdb\"|\"databricks\"|'duckdb'|'databricks'"
)


def test_only_engines_and_emulator_name_an_engine() -> None:
    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for folder in ("quality", "hooks")
        for path in sorted((root / folder).rglob("*.py"))
        if not path.relative_to(root).as_posix().startswith(NAMES_ENGINES)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMES_AN_ENGINE.search(line)
    ]
    assert found == []
