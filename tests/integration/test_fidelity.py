"""`quality fidelity`: the project from the same two batches on DuckDB and on the local Databricks endpoint
(real dbt-databricks, Spark SQL through Sail), every relation compared by key.

What this proves: that the SQL the project sends to each engine gives the same rows, values and types on
DuckDB and on Spark SQL (Sail). Where Sail differs from Databricks (docs/fidelity.md), it proves nothing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.cli import main
from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.emulator.endpoint import LocalEndpoint
from quality.fidelity.compare import Batches, run_fidelity
from tests.integration.local_databricks import on_local_endpoint

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "raw"


pytestmark = on_local_endpoint("fidelity", slow=True)


@pytest.fixture(scope="module")
def local_databricks() -> Iterator[LocalEndpoint]:
    """One endpoint for the module, its DATABRICKS_* variables set for the module's tests only."""
    with LocalEndpoint() as endpoint, pytest.MonkeyPatch.context() as patch:
        for name, value in endpoint.environment().items():
            patch.setenv(name, value)
        yield endpoint


def test_the_project_gives_equal_results_on_duckdb_and_databricks(
    local_databricks: LocalEndpoint, tmp_path: Path
) -> None:
    project = load_project(ROOT / "dbt")
    report = run_fidelity(
        project,
        resolve_target(project, "local"),
        resolve_target(project, "local_databricks"),
        Batches(FIXTURES),
        artifacts_root=tmp_path,
    )

    assert [d.describe() for d in report.differences] == []
    # 15 models, 1 seed, 1 snapshot; the rows of all of them after the second batch.
    assert report.relations == 17
    assert report.rows == 8653


def test_substr_from_position_zero_is_caught_naming_model_column_key_and_both_values(
    local_databricks: LocalEndpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid SQL on both engines with other results: Spark reads position 0 as 1 ('Mad'), DuckDB as
    # 'before the first character' ('Ma'). sqlfluff, dbt parse and the DuckDB build all accept it.
    project_dir = tmp_path / "dbt"
    shutil.copytree(ROOT / "dbt", project_dir, ignore=shutil.ignore_patterns("target", "logs"))
    model = project_dir / "models" / "staging" / "stg_stores.sql"
    text = model.read_text()
    seeded = text.replace(
        "cast(city as {{ dbt.type_string() }}) as city",
        "substr(cast(city as {{ dbt.type_string() }}), 0, 3) as city",
    )
    assert seeded != text
    model.write_text(seeded)

    code = main(
        [
            *("fidelity", "--fixtures", str(FIXTURES), "--project-dir", str(project_dir)),
            *("--artifacts-dir", str(tmp_path / "artifacts")),
        ]
    )

    output = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert "DIFFERENT" in output
    assert re.search(r": [1-9]\d* of [1-9]\d* differing rows shown", output)
    assert "stg_stores.city at store_id=1: 'Ma' on DuckDB, 'Mad' on Databricks" in output
    assert "dim_stores.city at " in output  # and where it flows on to
