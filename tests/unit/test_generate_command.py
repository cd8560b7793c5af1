"""`quality generate` on a DuckDB target writes to a database of its own unless told to replace the target's raw data."""

from pathlib import Path

import duckdb
import pytest

from quality.cli import main

PROJECT = Path(__file__).resolve().parents[2] / "dbt"


@pytest.fixture
def local_prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `local` target's file (the local prod), holding raw data a gate published."""
    monkeypatch.chdir(tmp_path)
    prod = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(prod))
    with duckdb.connect(str(prod)) as connection:
        connection.execute("create schema raw; create table raw.orders as select 1 as order_id")
    return prod


def _tables(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        names = [
            row[0]
            for row in connection.execute("select table_name from duckdb_tables() where schema_name='raw'").fetchall()
        ]
        return {name: connection.execute(f"select count(*) from raw.{name}").fetchone()[0] for name in names}


def test_generate_leaves_the_local_prod_alone_and_writes_its_own_database(
    local_prod: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "--orders", "30", "--project-dir", str(PROJECT)]) == 0

    assert _tables(local_prod) == {"orders": 1}  # the published raw data are untouched
    generated = tmp_path / ".quality" / "generated.duckdb"
    tables = _tables(generated)
    assert tables["orders"] == 30
    assert set(tables) == {"stores", "products", "customers", "orders", "order_lines", "payments"}
    out = capsys.readouterr().out
    assert f"QUALITY_DUCKDB_PATH={generated}" in out
    assert "the target's own database was not changed" in out


def test_generate_into_a_named_database(local_prod: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "scale" / "big.duckdb"
    assert main(["generate", "--orders", "12", "--database", str(elsewhere), "--project-dir", str(PROJECT)]) == 0

    assert _tables(elsewhere)["orders"] == 12
    assert _tables(local_prod) == {"orders": 1}


def test_replace_target_raw_writes_into_the_target_itself(local_prod: Path) -> None:
    assert main(["generate", "--orders", "15", "--replace-target-raw", "--project-dir", str(PROJECT)]) == 0

    assert _tables(local_prod)["orders"] == 15


def test_database_and_replace_target_raw_together_are_a_usage_error(
    local_prod: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["generate", "--orders", "5", "--replace-target-raw", "--database", str(tmp_path / "x.duckdb")]
    assert main([*args, "--project-dir", str(PROJECT)]) == 2

    assert "--database and --replace-target-raw contradict each other" in capsys.readouterr().err
    assert _tables(local_prod) == {"orders": 1}
