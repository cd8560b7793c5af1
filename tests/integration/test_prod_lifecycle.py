"""After deployment: `pytest -m prod_smoke` passes on the prod `quality gate` published, fails on a damaged
prod; `quality rollback` refuses to restore a prod that differs from the publish record unless forced, then
restores exactly the last deployment's run, and never steps further back without `--run-id`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

# With `--dist loadgroup` (pyproject addopts) the tests share one published prod, in order (the second damages
# it and rolls back the second publish, the next ones go on from there).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("prod_lifecycle")]
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@dataclass
class LocalProd:
    path: Path
    runs: Path
    env: dict[str, str]

    @property
    def run_ids(self) -> list[str]:
        """The gate runs' ids, oldest first."""
        return sorted(path.name for path in self.runs.iterdir() if path.is_dir())

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


def test_rollback_refuses_when_a_published_table_has_other_rows_of_the_same_count(prod: LocalProd) -> None:
    line = "order_line_id = (select min(order_line_id) from marts.fct_order_lines)"
    prod.sql(f"update marts.fct_order_lines set quantity = quantity + 1 where {line}")
    refused = prod.quality("rollback", "--artifacts-dir", str(prod.runs))
    prod.sql(f"update marts.fct_order_lines set quantity = quantity - 1 where {line}")  # as published again

    assert refused.returncode == 1, refused.stdout + refused.stderr
    (rows,) = prod.sql("select count(*) from marts.fct_order_lines")[0]
    assert f"marts.fct_order_lines has the recorded {rows} rows but other content (DuckDB fingerprint" in refused.stderr
    assert not (prod.runs / prod.run_ids[1] / "rollback.json").exists()


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

    refused = prod.quality("rollback", "--artifacts-dir", str(prod.runs))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"cannot roll back run {prod.run_ids[1]}: prod does not match" in refused.stderr
    assert f"marts.fct_orders has {remaining} rows, the record says {batch2_orders} were published" in refused.stderr
    assert "pass --force" in refused.stderr
    assert prod.sql("select count(*) from marts.fct_orders") == [(remaining,)]  # nothing was changed

    rolled_back = prod.quality("rollback", "--artifacts-dir", str(prod.runs), "--force")
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert f"rolled back run {prod.run_ids[1]}" in rolled_back.stdout
    record = json.loads((prod.runs / prod.run_ids[1] / "rollback.json").read_text(encoding="utf-8"))
    assert (record["run_id"], record["forced_over"]) == (
        prod.run_ids[1],
        [f"marts.fct_orders has {remaining} rows, the record says {batch2_orders} were published"],
    )
    assert "marts.fct_orders" in rolled_back.stdout
    # Back to the state before the last deployment: the first batch, whole again, raw data included.
    assert prod.sql("select count(*), count(distinct order_id) from marts.fct_orders") == [
        (batch1_orders, batch1_orders)
    ]
    assert prod.sql("select count(*) from raw.orders") == [(batch1_orders,)]
    assert prod.smoke().returncode == 0


def test_a_second_rollback_refuses_to_step_further_back(prod: LocalProd) -> None:
    before = prod.sql("select count(*) from marts.fct_orders")
    again = prod.quality("rollback", "--artifacts-dir", str(prod.runs))
    assert again.returncode == 1, again.stdout + again.stderr
    assert f"the last publish, run {prod.run_ids[1]}, was already rolled back" in again.stderr
    assert f"pass --run-id <older run> (the next older publish is {prod.run_ids[0]})" in again.stderr
    assert prod.sql("select count(*) from marts.fct_orders") == before


def test_run_id_rolls_back_the_named_older_run(prod: LocalProd) -> None:
    rolled_back = prod.quality("rollback", "--artifacts-dir", str(prod.runs), "--run-id", prod.run_ids[0])
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert f"rolled back run {prod.run_ids[0]}" in rolled_back.stdout
    # The first publish created every table: undoing it drops them.
    tables = "select count(*) from information_schema.tables where table_schema in ('marts', 'raw')"
    assert prod.sql(tables) == [(0,)]
