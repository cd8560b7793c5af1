"""The conformance corpus on disk: SQL with Spark's answer, and the one way values are written for comparing.

An answer is either rows (each a list of canonical values) or an error class (Spark's condition name,
e.g. `ARITHMETIC_OVERFLOW`). A canonical value is JSON: None, a bool, an int, a string for everything else
(a float stays a float, decimals are strings with their scale, dates and timestamps in ISO form, binary in hex), a list for
an array or struct, a list of [key, value] pairs for a map. Both engines' Python values go through
`canonical()`, so a difference is a difference of value, never of client library.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS_PATH = HERE / "spark_corpus.json"
DIFFERENCES_PATH = HERE / "differences.json"
RECORD_COMMAND = "uv run --isolated --group spark-reference python -m quality.emulator.conformance.record"


@dataclass(frozen=True)
class Answer:
    """What an engine answered: rows of canonical values, or the class of the error it raised."""

    rows: tuple[tuple[Any, ...], ...] | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"error {self.error}"
        assert self.rows is not None
        if len(self.rows) == 1 and len(self.rows[0]) == 1:
            return json.dumps(self.rows[0][0], ensure_ascii=False)
        return json.dumps([list(row) for row in self.rows], ensure_ascii=False)

    def as_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error}
        return {"rows": [list(row) for row in self.rows or ()]}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Answer:
        if "error" in data:
            return Answer(error=str(data["error"]))
        return Answer(rows=tuple(tuple(row) for row in data["rows"]))


@dataclass(frozen=True)
class Entry:
    """One corpus case: the SQL, why it is there (`origin`), the functions it calls, and Spark's answer."""

    sql: str
    origin: str
    functions: tuple[str, ...]
    spark: Answer

    def as_json(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "origin": self.origin,
            "functions": list(self.functions),
            "spark": self.spark.as_json(),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Entry:
        return Entry(
            sql=str(data["sql"]),
            origin=str(data["origin"]),
            functions=tuple(data.get("functions") or ()),
            spark=Answer.from_json(data["spark"]),
        )


@dataclass
class Corpus:
    """The recorded corpus: which Spark answered, with which settings, and the entries."""

    spark_version: str
    settings: dict[str, str]
    entries: list[Entry] = field(default_factory=list)

    def save(self, path: Path = CORPUS_PATH) -> None:
        data = {
            "spark_version": self.spark_version,
            "settings": self.settings,
            "recorded_with": RECORD_COMMAND,
            "entries": [entry.as_json() for entry in self.entries],
        }
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @staticmethod
    def load(path: Path = CORPUS_PATH) -> Corpus:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = [Entry.from_json(item) for item in data["entries"]]
        return Corpus(spark_version=str(data["spark_version"]), settings=dict(data["settings"]), entries=entries)


def canonical(value: Any, *, dicts_are_structs: bool = False) -> Any:
    """`value` in the one form answers are compared in. pyspark gives a struct as a Row and a map as a dict;
    the Databricks SQL connector gives a struct as a dict (`dicts_are_structs`) and a map as (key, value)
    pairs."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):  # a JSON number (exact through JSON); NaN and infinities as strings
        return value if math.isfinite(value) else str(value).lower()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"interval {value.total_seconds()!r}s"
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b16encode(bytes(value)).decode().lower()
    return _canonical_container(value, dicts_are_structs)


def _canonical_container(value: Any, dicts_are_structs: bool) -> Any:
    def inner(item: Any) -> Any:
        return canonical(item, dicts_are_structs=dicts_are_structs)

    if hasattr(value, "asDict"):  # a pyspark Row: a struct
        return [inner(item) for item in value]
    if isinstance(value, Mapping):
        if dicts_are_structs:
            return [inner(item) for item in value.values()]
        return [[inner(key), inner(item)] for key, item in value.items()]
    if hasattr(value, "tolist"):  # a NumPy array from the connector
        value = value.tolist()
    if isinstance(value, Iterable):
        items = list(value)
        if items and all(isinstance(item, tuple) and len(item) == 2 for item in items):
            return [[inner(key), inner(item)] for key, item in items]  # a map as Arrow gives it
        return [inner(item) for item in items]
    return str(value)


def canonical_rows(rows: Iterable[Iterable[Any]], *, dicts_are_structs: bool = False) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(canonical(value, dicts_are_structs=dicts_are_structs) for value in row) for row in rows)
