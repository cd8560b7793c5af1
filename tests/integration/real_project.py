"""The repository's own dbt project (dbt/) and its raw batches, gated in process on the embedded DuckDB
engine (target `local`, its file at QUALITY_DUCKDB_PATH), as the integration tests build their prod."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.engines.duckdb import DuckDBEngine
from quality.wap.gate import GateOptions, GateReport, run_gate
from tests.integration.warehouse import fingerprint

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = ROOT / "dbt"
RAW = ROOT / "tests" / "fixtures" / "raw"
BATCH2 = ROOT / "tests" / "fixtures" / "raw_batch2"
SAMPLE = ROOT / "tests" / "fixtures" / "sample_project"


def copy_project(destination: Path) -> Path:
    """The project copied to destination (without its target/ and logs/)."""
    shutil.copytree(PROJECT_DIR, destination, ignore=shutil.ignore_patterns("target", "logs"))
    return destination


def copy_repository_layout(root: Path) -> Path:
    """The project (without target/, logs/ and dbt_packages/) and both raw batches laid out under root as in
    this repository (dbt/, tests/fixtures/raw, tests/fixtures/raw_batch2); returns root."""
    shutil.copytree(PROJECT_DIR, root / "dbt", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    for batch in (RAW, BATCH2):
        shutil.copytree(batch, root / "tests" / "fixtures" / batch.name)
    return root


def project_with_revenue_bug(destination: Path) -> Path:
    """The project copied to destination with a revenue bug in the code: fct_orders sums the gross amounts
    of its lines as its net amount."""
    return project_with_edit(
        destination,
        "models/marts/facts/fct_orders.sql",
        "sum(net_amount) as net_amount",
        "sum(gross_amount) as net_amount",
    )


def project_with_edit(destination: Path, relative: str, before: str, after: str) -> Path:
    """The project copied to destination with `before` (which must be there) replaced by `after` in one file."""
    project = copy_project(destination)
    source = (project / relative).read_text(encoding="utf-8")
    assert before in source
    (project / relative).write_text(source.replace(before, after))
    return project


def gate_locally(
    fixtures: Path | None, artifacts_root: Path, project_dir: Path = PROJECT_DIR, **options: Any
) -> GateReport:
    """`run_gate` of the project on its `local` target; options are the other GateOptions fields."""
    project = load_project(project_dir)
    gate_options = GateOptions(fixtures_dir=fixtures, artifacts_root=artifacts_root, **options)
    return run_gate(project, resolve_target(project, "local"), gate_options)


@dataclass
class DuckDBProd:
    """A prod warehouse file and the folder of the runs that gate into it."""

    path: Path
    runs: Path

    def gate(self, fixtures: Path | None, project_dir: Path = PROJECT_DIR) -> GateReport:
        return gate_locally(fixtures, self.runs, project_dir)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        engine = DuckDBEngine(self.path)
        try:
            return engine.query(sql)
        finally:
            engine.close()

    def fingerprint(self) -> dict[str, str]:
        return fingerprint(self.path)


@contextmanager
def first_batch_published(folder: Path) -> Iterator[DuckDBProd]:
    """Prod in folder (warehouse.duckdb, runs/) with the first batch published; QUALITY_DUCKDB_PATH names it
    for the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUALITY_DUCKDB_PATH", str(folder / "warehouse.duckdb"))
        prod = DuckDBProd(folder / "warehouse.duckdb", folder / "runs")
        first = prod.gate(RAW)
        assert first.status == "published", first.error
        yield prod


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBProd]:
    """The module's prod with the first batch published (a module that imports it builds it once)."""
    with first_batch_published(tmp_path_factory.mktemp("prod")) as published:
        yield published


@pytest.fixture(scope="module")
def second_batch(prod: DuckDBProd) -> GateReport:
    """The second batch (late updates, customer changes) gated and published onto the module's prod."""
    report = prod.gate(BATCH2)
    assert report.status == "published", report.error
    return report
