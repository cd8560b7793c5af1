from pathlib import Path

import pytest

from quality.engines.duckdb import DuckDBEngine
from quality.engines.raw_csv import check_csv, discover, locate_bad_values
from quality.errors import EngineBusyError, FixtureError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_row_with_an_extra_field_is_reported_by_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", "order_id,amount\n1,10.0\n2,20.0,oops\n3,30.0\n")
    with pytest.raises(FixtureError, match=r"orders\.csv:3: expected 2 fields .* found 3"):
        check_csv(path)


def test_an_unclosed_quote_is_reported_by_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "customers.csv", 'id,name\n1,"Ada\n')
    with pytest.raises(FixtureError, match=r"customers\.csv:\d+: "):
        check_csv(path)


def test_duplicate_header_and_missing_header(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="names column 'ID' twice"):
        check_csv(write(tmp_path / "a.csv", "id,ID\n1,2\n"))
    with pytest.raises(FixtureError, match="no header row"):
        check_csv(write(tmp_path / "b.csv", ""))


def test_valid_fixtures_load_into_duckdb_with_row_counts(tmp_path: Path) -> None:
    write(tmp_path / "orders.csv", "order_id,ordered_at\n1,2026-01-01 10:00:00\n2,2026-01-02 11:00:00\n")
    (table,) = discover(tmp_path)
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    assert engine.load_csv("raw", table.table, table.path) == 2
    assert engine.query("select order_id, typeof(ordered_at) from raw.orders order by 1") == [
        (1, "TIMESTAMP"),
        (2, "TIMESTAMP"),
    ]


def test_a_duckdb_file_held_by_another_process_gives_a_clear_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys,time; c=duckdb.connect({str(path)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(
            EngineBusyError, match=rf"in use by another process .*PID {holder.pid}.*one writer at a time"
        ):
            DuckDBEngine(path)
    finally:
        holder.kill()
        holder.wait()


def test_a_duckdb_file_named_like_a_schema_is_refused(tmp_path: Path) -> None:
    from quality.errors import QualityError

    with pytest.raises(QualityError, match=r"named like a schema \('raw'\).*name the file differently"):
        DuckDBEngine(tmp_path / "raw.duckdb")


def test_a_value_a_cast_refused_is_located_by_file_line_and_column(tmp_path: Path) -> None:
    write(tmp_path / "orders.csv", "order_id,ordered_at\n1,2025-10-24 06:53:22\n2,2025-13-45 13:47:18\n")
    write(tmp_path / "stores.csv", "store_id,opened_on\n1,2020-01-01\n")
    duckdb_message = (
        "Runtime Error in model fct_order_lines (models/marts/facts/fct_order_lines.sql)\n"
        '  Conversion Error: timestamp field value out of range: "2025-13-45 13:47:18" when casting from source '
        "column ordered_at"
    )
    databricks_message = "[CAST_INVALID_INPUT] The value '2020-01-01' of the type \"STRING\" cannot be cast"

    assert locate_bad_values(tmp_path, [duckdb_message, None, databricks_message]) == [
        f"bad value '2025-13-45 13:47:18' at {tmp_path / 'orders.csv'}:3, column ordered_at: fix it in the fixture file",
        f"bad value '2020-01-01' at {tmp_path / 'stores.csv'}:2, column opened_on: fix it in the fixture file",
    ]
    assert locate_bad_values(tmp_path, ['Catalog Error: Table with name "orders" does not exist']) == []


def test_a_missing_fixture_folder_names_the_option_of_each_caller(tmp_path: Path) -> None:
    with pytest.raises(FixtureError) as error:
        discover(tmp_path / "raw")
    assert str(error.value) == (
        f"raw fixture directory {tmp_path / 'raw'} does not exist; point at the folder that holds one <table>.csv "
        "per raw table (pytest: --raw-fixtures-dir; quality gate and fidelity: --fixtures), or create it."
    )
