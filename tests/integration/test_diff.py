"""`quality diff`: the branch's models built next to a published prod and compared with it by primary key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from quality.commands.diff import diff
from quality.dbt.project import load_project
from quality.dbt.runner import DbtInvoker
from quality.dbt.targets import resolve_target
from quality.wap.gate import GateOptions, run_gate
from tests.integration.real_project import RAW, ROOT, project_with_revenue_bug
from tests.integration.warehouse import fingerprint

# With `--dist loadgroup` (pyproject addopts) the module's published prod is built once, on one worker.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("diff_prod")]


@dataclass(frozen=True)
class Published:
    folder: Path
    warehouse: Path
    state: Path  # manifest.json of the published code, as the deploy workflow uploads it


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    folder = tmp_path_factory.mktemp("diff_prod")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUALITY_DUCKDB_PATH", str(folder / "warehouse.duckdb"))
        patch.chdir(folder)  # the commands' caches and artifact folders
        project = load_project(ROOT / "dbt")
        target = resolve_target(project, "local")
        report = run_gate(project, target, GateOptions(fixtures_dir=RAW, artifacts_root=folder / "runs"))
        assert report.status == "published", report.error
        DbtInvoker(project, target, folder / "state", quiet=True).parse()
        yield Published(folder, folder / "warehouse.duckdb", folder / "state")


def table_rows(markdown: str) -> dict[str, list[str]]:
    """model -> its cells (key, added, removed, changed, unchanged, columns changed) in the summary table."""
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def run_diff(published: Published, project_dir: Path, out: Path, *, state: Path | None) -> dict[str, list[str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUALITY_DUCKDB_PATH", str(published.warehouse))
        patch.chdir(published.folder)
        assert diff(project_dir=project_dir, target="local", state=state, out=out) == 0
    return table_rows(out.read_text(encoding="utf-8"))


def test_unchanged_code_rebuilt_on_prod_data_equals_prod(published: Published, tmp_path: Path) -> None:
    before = fingerprint(published.warehouse)

    rows = run_diff(published, ROOT / "dbt", tmp_path / "diff.md", state=None)

    for model in ("dim_customers", "dim_products", "dim_stores", "fct_order_lines", "fct_orders", "fct_daily_sales"):
        _key, added, removed, changed, unchanged, columns = rows[model]
        assert (added, removed, changed, columns) == ("0", "0", "0", "none"), (model, rows[model])
        assert int(unchanged) > 0
    assert fingerprint(published.warehouse) == before, "prod is only read, and every diff_ schema is dropped"


def test_a_changed_model_is_diffed_with_its_children_and_the_column_that_changed(
    published: Published, tmp_path: Path
) -> None:
    project = project_with_revenue_bug(tmp_path / "dbt")
    before = fingerprint(published.warehouse)

    rows = run_diff(published, project, tmp_path / "diff.md", state=published.state)

    key, added, removed, changed, _unchanged, columns = rows["fct_orders"]
    assert (key, added, removed) == ("order_id", "0", "0")
    assert int(changed) > 0
    assert columns.startswith("`net_amount` (")
    assert "dim_products" not in rows, "unchanged models outside the change's subtree are not rebuilt"
    assert fingerprint(published.warehouse) == before
