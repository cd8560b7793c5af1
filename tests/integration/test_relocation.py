"""Ephemeral workspaces reuse dbt's partial parse across schema bases, and still land exactly where an exact parse would."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from quality.dbt.project import DbtProject, load_project
from quality.dbt.relocation import PLACEHOLDER
from quality.dbt.runner import CACHE_FILES, DbtInvoker
from quality.dbt.targets import resolve_target
from quality.errors import SchemaGuardError
from quality.harness.workspace import PARSE_STATE_DIR, Workspace, open_workspace
from tests.integration.mini_project import write_mini_project

pytestmark = pytest.mark.integration

PLACED = ("database", "schema", "relation_name")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DbtProject:
    monkeypatch.chdir(tmp_path)  # the ephemeral DuckDB files and the parse state live under ./.quality
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(tmp_path / "shop.duckdb"))
    return load_project(write_mini_project(tmp_path))


@pytest.fixture
def open_ws(project: DbtProject, tmp_path: Path) -> Iterator[Callable[[], Workspace]]:
    opened: list[Workspace] = []

    def open_one() -> Workspace:
        workspace = open_workspace(project, resolve_target(project), prefix="reloc", artifacts_root=tmp_path / "runs")
        opened.append(workspace)
        return workspace

    yield open_one
    for workspace in opened:
        workspace.close()


def parsed_paths(workspace: Workspace) -> int:
    return json.loads((workspace.dbt.target_path / "perf_info.json").read_text(encoding="utf-8"))["parsed_path_count"]


def placements(manifest: dict) -> dict[str, tuple[str, ...]]:
    entries = {**manifest["nodes"], **manifest["sources"], **manifest.get("unit_tests", {})}
    return {uid: tuple(str(entry.get(name)) for name in PLACED) for uid, entry in entries.items()}


def test_a_second_base_reuses_the_parse_and_builds_in_its_own_schemas(
    project: DbtProject, open_ws: Callable[[], Workspace], tmp_path: Path
) -> None:
    first = open_ws()
    first.parse()
    second = open_ws()
    relocated = second.parse()

    assert parsed_paths(first) > 0, "the first base parses the project"
    assert parsed_paths(second) == 0, "the second base must reuse the first one's partial parse"
    exact = DbtInvoker(
        project,
        second.target,
        tmp_path / "exact_target",
        schema_base=second.base,
        raw_schema=second.raw_schema,
        quiet=True,
    ).parse()
    assert placements(relocated) == placements(exact)
    on_disk = (second.dbt.target_path / "manifest.json").read_text(encoding="utf-8")
    assert PLACEHOLDER not in on_disk
    assert second.base in on_disk

    second.load_fixtures(tmp_path / "fixtures")
    build = second.dbt.run(["build"])

    assert build.success
    assert ("fct_sales", "table") in second.engine.list_relations(second.schema("marts"))
    assert not list(Path(".quality").rglob(f"*{PLACEHOLDER}*")), "parsing must not create a placeholder database"
    assert list(PARSE_STATE_DIR.glob("partial_parse_*.msgpack"))
    cached = [path.relative_to(tmp_path) for name in CACHE_FILES for path in tmp_path.rglob(name)]
    assert cached == [], "run folders keep artifacts, never dbt's caches"


def test_a_parse_without_a_base_keeps_its_state_outside_the_target_folder(project: DbtProject, tmp_path: Path) -> None:
    prod = resolve_target(project)
    first = DbtInvoker(project, prod, tmp_path / "runs" / "a" / "prod_target", quiet=True)
    first.parse()
    second = DbtInvoker(project, prod, tmp_path / "runs" / "b" / "prod_target", quiet=True)
    second.parse()

    parsed = [
        json.loads((run.target_path / "perf_info.json").read_text())["parsed_path_count"] for run in (first, second)
    ]
    assert parsed[0] > 0
    assert parsed[1] == 0, "the second parse must start from the first one's state"
    assert not list((tmp_path / "runs").rglob("partial_parse.msgpack"))


def test_a_project_that_renders_the_base_elsewhere_gets_an_exact_parse(
    project: DbtProject, open_ws: Callable[[], Workspace]
) -> None:
    schema_yml = project.root / "models" / "schema.yml"
    text = schema_yml.read_text(encoding="utf-8")
    schema_yml.write_text(
        text.replace(
            "      meta:\n", "      meta:\n        built_in: \"{{ var('quality_schema_base', 'prod') }}\"\n", 1
        ),
        encoding="utf-8",
    )
    workspace = open_ws()

    manifest = workspace.parse()

    meta = manifest["nodes"]["model.shop.fct_sales"]["config"]["meta"]
    assert meta["built_in"] == workspace.base
    assert PLACEHOLDER not in json.dumps(manifest)
    workspace.load_fixtures(project.root.parent / "fixtures")
    assert workspace.dbt.run(["build"]).success
    assert ("fct_sales", "table") in workspace.engine.list_relations(workspace.schema("marts"))


def test_a_command_run_without_a_parse_starts_from_the_parse_state_and_sees_an_edit(
    project: DbtProject, open_ws: Callable[[], Workspace], tmp_path: Path
) -> None:
    open_ws().parse()  # an earlier base leaves dbt's parse state
    workspace = open_ws()
    workspace.load_fixtures(tmp_path / "fixtures")

    assert workspace.dbt.run(["build"]).success
    assert parsed_paths(workspace) == 0, "a command run with no parse first must start from the parse state"

    staging = project.root / "models" / "staging" / "stg_sales.sql"
    staging.write_text("select sale_id, amount, 1 as edited from {{ source('raw', 'sales') }}", encoding="utf-8")
    assert workspace.dbt.run(["run", "--select", "stg_sales"]).success
    columns = workspace.engine.query(
        "select column_name from information_schema.columns "
        f"where table_schema = '{workspace.schema('staging')}' and table_name = 'stg_sales'"
    )
    assert ("edited",) in [tuple(row) for row in columns], "the next command must see the edited model"


def test_a_command_run_without_a_parse_refuses_a_node_routed_outside_the_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(tmp_path / "shop.duckdb"))
    project = load_project(write_mini_project(tmp_path, with_schema_macro=False))
    workspace = open_workspace(project, resolve_target(project), prefix="reloc", artifacts_root=tmp_path / "runs")
    try:
        with pytest.raises(SchemaGuardError, match="outside"):
            workspace.dbt.run(["build"])
        schemas = {row[0] for row in workspace.engine.query("select schema_name from information_schema.schemata")}
        assert not {"main_staging", "main_marts"} & schemas, "nothing may be built before the refusal"
    finally:
        workspace.close()
