"""Raw fixture files: strict CSV checks so a broken file is reported by file and line, not by a stack trace."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from quality.errors import FixtureError


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
            f"raw fixture directory {directory} does not exist; pass --raw-fixtures-dir or create it "
            "with one <table>.csv per raw table."
        )
    tables = [check_csv(path) for path in sorted(directory.glob("*.csv"))]
    if not tables:
        raise FixtureError(f"raw fixture directory {directory} holds no .csv files; add one <table>.csv per raw table.")
    return tables
