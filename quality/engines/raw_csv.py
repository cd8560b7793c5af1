"""Raw fixture files: strict CSV checks so a broken file is reported by file and line, not by a stack trace."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from quality.errors import FixtureError

# The value a cast refused, as DuckDB (`Conversion Error: ... "2025-13-45"`) and Databricks
# (`[CAST_INVALID_INPUT] The value '2025-13-45' of the type "STRING" cannot be cast`) quote it.
BAD_VALUE = re.compile(r"""(?:Conversion Error|CAST_INVALID_INPUT)[^"'\n]*["']([^"'\n]+)["']""")
MAX_HINTS = 5


@dataclass(frozen=True)
class FixtureTable:
    """One raw fixture file: `<dir>/<table>.csv` becomes table `<table>` in the raw schema."""

    table: str
    path: Path
    columns: tuple[str, ...]
    rows: int


def check_csv(path: Path) -> FixtureTable:
    """Validate a fixture CSV: UTF-8, a header of unique names, the same field count on every line."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if not header or not any(name.strip() for name in header):
                raise FixtureError(f"{path}:1: the fixture file has no header row; add one naming each column.")
            _check_header(path, header)
            rows = 0
            for row in reader:
                if len(row) != len(header):
                    raise FixtureError(
                        f"{path}:{reader.line_num}: expected {len(header)} fields (as in the header) but found "
                        f"{len(row)}; fix the quoting or the number of commas on that line."
                    )
                rows += 1
    except UnicodeDecodeError as error:
        raise FixtureError(f"{path}: the fixture file is not UTF-8 ({error.reason}); re-save it as UTF-8.") from None
    except csv.Error as error:
        raise FixtureError(
            f"{path}:{reader.line_num}: malformed CSV ({error}); fix the quoting on that line."
        ) from None
    return FixtureTable(table=path.stem, path=path, columns=tuple(header), rows=rows)


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        clean = name.strip()
        if not clean:
            raise FixtureError(f"{path}:1: the header has an empty column name; name every column.")
        if clean.lower() in seen:
            raise FixtureError(f"{path}:1: the header names column '{clean}' twice; column names must be unique.")
        seen.add(clean.lower())


def discover(directory: Path) -> list[FixtureTable]:
    """Every `*.csv` in the directory, checked, sorted by table name."""
    if not directory.is_dir():
        raise FixtureError(
            f"raw fixture directory {directory} does not exist; point at the folder that holds one <table>.csv "
            "per raw table (pytest: --raw-fixtures-dir; quality gate and fidelity: --fixtures), or create it."
        )
    tables = [check_csv(path) for path in sorted(directory.glob("*.csv"))]
    if not tables:
        raise FixtureError(f"raw fixture directory {directory} holds no .csv files; add one <table>.csv per raw table.")
    return tables


def locate_bad_values(directory: Path, messages: Iterable[str | None]) -> list[str]:
    """Where a value that a cast refused (quoted in a dbt error message) sits in the fixture files.

    One line per occurrence, naming `<file>:<line>` and the column, so a bad date is found by its row,
    not only by the model that failed to cast it.
    """
    values = {match for message in messages if message for match in BAD_VALUE.findall(message)}
    if not values or not directory.is_dir():
        return []
    hints: list[str] = []
    for path in sorted(directory.glob("*.csv")):
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            for row in reader:
                hints += [
                    f"bad value {cell!r} at {path}:{reader.line_num}, column {name}: fix it in the fixture file"
                    for name, cell in zip(header, row, strict=False)
                    if cell.strip() in values
                ]
                if len(hints) >= MAX_HINTS:
                    return hints[:MAX_HINTS]
    return hints
