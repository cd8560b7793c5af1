"""The rows behind a failed dbt test: a unit test's expected and actual rows, a data test's failing rows.

A failing unit test. dbt-core 1.11 puts its difference in the run result's message as a daff table
(`dbt.task.test.TestRunner._render_daff_diff`): a header row `@@,col,...`, then one row per compared row,
its first cell a marker. daff compares expected (left) with actual (right):

    ``       a row equal on both sides (context)
    `→`      a row that differs; each changed cell reads `expected→actual`
    `+++`    a row the model produced that the test does not expect
    `---`    an expected row the model did not produce
    `...`    rows left out of the rendering

Rendered cells are CSV (quoted when they hold a comma, a quote or spaces at an end) padded with spaces to
align the columns. `explain` reads that back into rows, so a report says which row and column differ and
what each side holds. A unit test that errored before dbt could compare (a value its column's type
refuses: dbt's "check the data types") has no diff; `queried_lines` then runs its compiled SQL for the
actual rows and puts the expected rows, as written, next to them.

A failing data test says only "Got 3 results"; `sample_lines` runs its compiled SQL again for the first
few failing rows (for a relationships test, the keys with no parent).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quality.engines.base import Engine

MODIFIED = ("→", "->")
SHOWN_ROWS = 10  # differing rows listed per unit test; the rest are counted
SAMPLE_ROWS = 5  # failing rows listed per data test
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # dbt colours the diff when its output is a terminal
_TYPE_HINT = re.compile(
    r"An error occurred during execution of unit test '[^']*'\. There may be an error in the unit test "
    r"definition: check the data types\.\s*"
)


@dataclass
class UnitDiff:
    columns: list[str]
    changed: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)  # (expected, actual)
    missing: list[dict[str, str]] = field(default_factory=list)  # expected, not produced
    extra: list[dict[str, str]] = field(default_factory=list)  # produced, not expected

    @property
    def count(self) -> int:
        return len(self.changed) + len(self.missing) + len(self.extra)


def parse(message: str | None) -> UnitDiff | None:
    """The diff in a unit test's message, or None when the message holds none."""
    rows = _table(message or "")
    header = next((row for row in rows if row and row[0] == "@@"), None)
    if header is None:
        return None
    diff = UnitDiff(columns=header[1:])
    for row in rows[rows.index(header) + 1 :]:
        marker, cells = (row[0], row[1:]) if row else ("", [])
        if marker in MODIFIED:
            diff.changed.append(_sides(diff.columns, cells, marker))
        elif marker == "+++":
            diff.extra.append(dict(zip(diff.columns, cells, strict=False)))
        elif marker == "---":
            diff.missing.append(dict(zip(diff.columns, cells, strict=False)))
    return diff if diff.count else None


def explain(message: str | None) -> list[str] | None:
    """Lines naming the differing rows (expected and actual), or the database error without dbt's generic
    "check the data types" hint; None when the message holds neither."""
    diff = parse(message)
    if diff is not None:
        return _diff_lines(diff)
    text = message or ""
    if _TYPE_HINT.search(text) is None:
        return None
    rest = [line.strip() for line in _TYPE_HINT.sub("", text).splitlines() if line.strip()]
    first = rest[0] if rest else "no database error given"
    return [
        f"the unit test's rows could not be compared: {first}",
        *rest[1:],
    ]


def _diff_lines(diff: UnitDiff) -> list[str]:
    lines = [f"{diff.count} row(s) differ from the expected rows:"]
    for expected, actual in diff.changed[:SHOWN_ROWS]:
        changed = [column for column in diff.columns if expected.get(column) != actual.get(column)]
        lines += [f"  expected: {_row(expected)}", f"  actual:   {_row(actual)}   (differs in {', '.join(changed)})"]
    shown = min(len(diff.changed), SHOWN_ROWS)
    for label, rows in (
        ("missing (expected, not produced)", diff.missing),
        ("extra (produced, not expected)", diff.extra),
    ):
        listed = rows[: SHOWN_ROWS - shown]
        lines += [f"  {label}: {_row(row)}" for row in listed]
        shown += len(listed)
    if diff.count > shown:
        lines.append(f"  ... and {diff.count - shown} more differing row(s)")
    return lines


def _table(message: str) -> list[list[str]]:
    """The daff table's rows as cells (padding stripped), from its header (or schema row) on."""
    text = _ANSI.sub("", message).replace("\r\n", "\n")
    start = re.search(r"^(?:@@|!) *,", text, flags=re.MULTILINE)
    if start is None:
        return []
    reader = csv.reader(io.StringIO(text[start.start() :].strip("\n")))
    return [[cell.strip() for cell in row] for row in reader]


def _sides(columns: list[str], cells: list[str], marker: str) -> tuple[dict[str, str], dict[str, str]]:
    expected, actual = {}, {}
    for column, cell in zip(columns, cells, strict=False):
        before, arrow, after = cell.partition(marker)
        expected[column], actual[column] = (before, after) if arrow else (cell, cell)
    return expected, actual


def _row(row: Mapping[str, str]) -> str:
    return ", ".join(f"{column}={value}" for column, value in row.items())


def queried_lines(engine: Engine, target_path: Path, definition: Mapping[str, Any]) -> list[str]:
    """For a unit test that errored before dbt could compare its rows (no diff in its message): the model's
    rows on the test's given inputs (its compiled SQL, run again) next to the expected rows as the test
    writes them, in the columns the test expects. Nothing when neither side can be had."""
    expected = _expected_rows(definition.get("expect") or {})
    columns = list(dict.fromkeys(column for row in expected for column in row))
    sql = _compiled_sql(target_path, definition)
    lines = [f"  expected (as the test writes it): {_row(_as_text(row, columns))}" for row in expected[:SHOWN_ROWS]]
    if sql is None or not columns:
        return lines
    try:
        table = engine.fetch_arrow(f"select * from (\n{sql}\n) as unit_test_actual limit {SHOWN_ROWS + 1}")
    except Exception as error:  # the given rows themselves may be what the warehouse refuses
        return [*lines, f"  actual: the model's SQL on the given rows fails too: {' '.join(str(error).split())[:300]}"]
    actual = [{str(key).lower(): value for key, value in row.items()} for row in table.to_pylist()]
    lines += [f"  actual (the model on the given rows): {_row(_as_text(row, columns))}" for row in actual[:SHOWN_ROWS]]
    if len(actual) > SHOWN_ROWS:
        lines.append("  ... and more actual rows")
    return lines


def _expected_rows(expect: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The expected rows of a unit test written as dicts or CSV (an SQL fixture is not read)."""
    rows = expect.get("rows")
    if expect.get("format", "dict") == "dict" and isinstance(rows, list):
        return [{str(key).lower(): value for key, value in row.items()} for row in rows if isinstance(row, dict)]
    if expect.get("format") == "csv" and isinstance(rows, str):
        return [{str(key).lower(): value for key, value in row.items()} for row in csv.DictReader(io.StringIO(rows))]
    return []


def _compiled_sql(target_path: Path, definition: Mapping[str, Any]) -> str | None:
    """The unit test's compiled SQL (dbt writes it before running it, also when the run fails)."""
    folder = target_path / "compiled" / str(definition.get("package_name")) / str(definition.get("original_file_path"))
    found = sorted(folder.glob(f"**/{definition.get('name')}.sql")) if folder.is_dir() else []
    if not found:
        return None
    return found[0].read_text(encoding="utf-8").strip().rstrip(";")


def _as_text(row: Mapping[str, Any], columns: list[str]) -> dict[str, str]:
    return {column: "NULL" if row.get(column) is None else str(row.get(column)) for column in columns}


def sample_lines(engine: Engine, compiled_path: Path | None) -> list[str]:
    """The first few rows a failed data test returns (its compiled SQL, run again); none when it cannot run."""
    if compiled_path is None or not compiled_path.is_file():
        return []
    sql = compiled_path.read_text(encoding="utf-8").strip().rstrip(";")
    try:
        table = engine.fetch_arrow(f"select * from (\n{sql}\n) as failing_rows limit {SAMPLE_ROWS + 1}")
    except Exception:  # a test whose SQL cannot be wrapped (or a database gone): its message stands alone
        return []
    rows = table.to_pylist()
    lines = [f"  failing row: {_row(_as_text(row, list(row)))}" for row in rows[:SAMPLE_ROWS]]
    if len(rows) > SAMPLE_ROWS:
        lines.append("  ... and more failing rows")
    return lines
