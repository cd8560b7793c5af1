"""After deployment: `pytest -m prod_smoke` passes on the prod `quality gate` published, fails on a damaged
prod, and `quality rollback` restores the damaged tables to their state before the last deployment."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

# With `--dist loadgroup` (pyproject addopts) the tests share one published prod, in order (the second damages it).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("prod_lifecycle")]
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@dataclass
class LocalProd:
    path: Path
    runs: Path
    env: dict[str, str]

    def quality(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run([sys.executable, "-m", "quality.cli", *args])

    def smoke(self) -> subprocess.CompletedProcess[str]:
        return self._run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-m",
                "prod_smoke",
                "tests/smoke",
                "--runs-dir",
                str(self.runs),
            ]
        )

    def sql(self, statement: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.path)) as connection:
            return connection.execute(statement).fetchall()

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> LocalProd:
    folder = tmp_path_factory.mktemp("local_prod")
    env = {**os.environ, "QUALITY_DUCKDB_PATH": str(folder / "warehouse.duckdb")}
    prod = LocalProd(folder / "warehouse.duckdb", folder / "runs", env)
    for batch in ("raw", "raw_batch2"):
        result = prod.quality("gate", "--fixtures", str(FIXTURES / batch), "--artifacts-dir", str(prod.runs))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "PUBLISHED" in result.stdout
    return prod


def test_smoke_passes_on_the_published_prod(prod: LocalProd) -> None:
    result = prod.smoke()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
    assert "PASS  every mart exists with its contract columns" in result.stdout


def test_smoke_fails_on_a_damaged_prod_and_rollback_restores_it(prod: LocalProd) -> None:
    batch1_orders = sum(1 for _ in (FIXTURES / "raw" / "orders.csv").open()) - 1
    batch2_orders = sum(1 for _ in (FIXTURES / "raw_batch2" / "orders.csv").open()) - 1
    assert prod.sql("select count(*) from raw.orders") == [(batch2_orders,)]
    prod.sql("delete from marts.fct_orders where order_id % 2 = 0")
    (remaining,) = prod.sql("select count(*) from marts.fct_orders")[0]

    damaged = prod.smoke()
    assert damaged.returncode == 1, damaged.stdout
    assert "FAIL  row counts match the last publish" in damaged.stdout
    assert f"marts.fct_orders has {remaining} rows, outside" in damaged.stdout

    rolled_back = prod.quality("rollback", "--artifacts-dir", str(prod.runs))
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert "marts.fct_orders" in rolled_back.stdout
    # Back to the state before the last deployment: the first batch, whole again, raw data included.
    assert prod.sql("select count(*), count(distinct order_id) from marts.fct_orders") == [
        (batch1_orders, batch1_orders)
    ]
    assert prod.sql("select count(*) from raw.orders") == [(batch1_orders,)]
    assert prod.smoke().returncode == 0
