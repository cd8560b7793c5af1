"""`quality docs` (tox -e docs, the PR workflow): the docs site of any project, from relative paths, leaving nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from quality.commands.docs import docs
from tests.integration.mini_project import write_mini_project

pytestmark = pytest.mark.integration

# actions/upload-artifact fails the whole upload on a file name holding any of these.
UPLOAD_ARTIFACT_REFUSES = re.compile(r'[":<>|*?\r\n]')


def test_dbt_docs_and_gx_data_docs_are_written_from_relative_paths_and_the_workspace_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_mini_project(tmp_path)
    monkeypatch.chdir(tmp_path)  # relative --project-dir, --fixtures and --out, as tox and CI pass them
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(tmp_path / "shop.duckdb"))

    assert docs(project_dir=Path("dbt"), fixtures=Path("fixtures"), out=Path("site")) == 0

    assert (tmp_path / "site" / "index.html").is_file()
    catalog = json.loads((tmp_path / "site" / "catalog.json").read_text(encoding="utf-8"))
    assert "model.shop.fct_sales" in catalog["nodes"], "the catalog describes the built tables"
    data_docs = tmp_path / "site" / "data_docs"
    pages = sorted(str(page.relative_to(data_docs)) for page in data_docs.rglob("*.html"))
    assert pages[:2] == ["expectations/decide-model/shop/fct_sales.html", "index.html"], pages
    assert [page.split("/")[:3] for page in pages[2:]] == [["validations", "decide-model", "shop"]], pages
    assert pages[2].endswith("/quality-model.shop.fct_sales.html"), pages[2]
    uploadable = [str(path) for path in data_docs.rglob("*") if UPLOAD_ARTIFACT_REFUSES.search(path.name)]
    assert uploadable == [], "actions/upload-artifact refuses these file names"
    assert not (tmp_path / "dbt" / "artifacts").exists(), "dbt wrote into the project folder"
    leftovers = list((tmp_path / ".quality" / "ephemeral").glob("*.duckdb"))
    assert leftovers == [], "the workspace's database file is removed"
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as connection:
        schemas = {
            row[0] for row in connection.execute("select schema_name from information_schema.schemata").fetchall()
        }
    assert not any(schema.startswith("docs_") for schema in schemas)
