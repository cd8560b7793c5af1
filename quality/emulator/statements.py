"""Run what a Databricks client sends on Spark SQL, answering as Databricks would where Sail differs.

Each statement is bound (parameter markers), then matched against the rules in `gaps.py` (statements
Spark SQL on Sail cannot run: Unity Catalog's information_schema, COMMENT, constraints, CLONE, RESTORE,
DESCRIBE HISTORY, ...); what no rule answers runs on Spark SQL unchanged. A `BEGIN ATOMIC ... END` block
is run by `atomic.py`; every INSERT, MERGE, UPDATE and DELETE of a table is checked against its
constraints afterwards and taken back if one breaks (`writes.py`). Changes of the catalog are written to the
catalog journal when the warehouse directory is kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from quality.emulator import atomic, gaps, writes
from quality.emulator.catalog_journal import CatalogEntry, CatalogJournal
from quality.emulator.information_schema import table_location
from quality.emulator.parameters import Parameter, bind
from quality.emulator.spark import SparkSql, SparkSqlError
from quality.emulator.translator import NAME as _NAME

_CREATE = re.compile(
    rf"^create\s+(?:or\s+replace\s+)?(table|view)\s+(?:if\s+not\s+exists\s+)?{_NAME}(.*)$", re.I | re.S
)
_DROP = re.compile(rf"^drop\s+(table|view)\s+(?:if\s+exists\s+)?{_NAME}", re.I)
_SCHEMA = re.compile(rf"^(create|drop)\s+(?:schema|database)\s+(?:if\s+(?:not\s+)?exists\s+)?{_NAME}", re.I)
_RENAME = re.compile(rf"^alter\s+(table|view)\s+{_NAME}\s+rename\s+to\s+{_NAME}", re.I)
_VIEW_BODY = re.compile(r"\bas\s+(\(?\s*(?:with|select)\b.*)$", re.I | re.S)


@dataclass
class StatementTranslator:
    spark: SparkSql
    catalog: str
    journal: CatalogJournal | None = None  # None: a throwaway warehouse, nothing to keep
    log_path: Path | None = field(default_factory=lambda: _log_path())
    _journal_lock: threading.Lock = field(default_factory=threading.Lock)
    # What Sail does not keep and Databricks does, read back through information_schema.
    comments: dict[tuple[str, str], str] = field(default_factory=dict)  # (schema, relation) -> comment
    column_comments: dict[tuple[str, str, str], str] = field(default_factory=dict)
    view_definitions: dict[tuple[str, str], str] = field(default_factory=dict)
    notice: str | None = None  # what the start found and repaired (an interrupted BEGIN ATOMIC block)

    def run(self, sql: str, parameters: Sequence[Parameter] = ()) -> pa.Table:
        statement = gaps.sail_spelling(gaps.strip_comments(bind(sql, parameters)))
        if atomic.is_block(statement):
            return atomic.run(statement, self)
        started = time.perf_counter()
        dropped = self._folders_dropped_by(statement)
        try:
            written = writes.written_table(statement, self)
            answer = gaps.answer(statement, self)
            table = answer if answer is not None else self.spark.run(statement)
            if written is not None:
                writes.check(written, self)
        except SparkSqlError as error:
            self._log("ERR", statement, started, error.message)
            raise
        for folder in dropped:  # a managed table's files go with it, as on Databricks
            shutil.rmtree(folder, ignore_errors=True)
        self._log("OK ", statement, started)
        self._remember_view(statement)
        if self.journal is not None:
            self._record(statement)
        return table

    def _remember_view(self, statement: str) -> None:
        if (match := _CREATE.match(statement)) and match.group(1).lower() == "view":
            schema, name = self.schema_and_name(match.group(2))
            if body := _VIEW_BODY.search(match.group(3)):
                self.view_definitions[(schema.lower(), name.lower())] = body.group(1).strip()

    # --- managed tables -------------------------------------------------------------------------------
    @property
    def warehouse(self) -> Path:
        return Path.cwd().resolve() / "spark-warehouse"

    def managed_location(self, schema: str, name: str, *, replace: bool) -> str:
        """The folder of a managed table: its current one when it is replaced, else a new one."""
        if replace:
            with contextlib.suppress(SparkSqlError):
                current = table_location(self, schema, name)
                if current and Path(current).is_relative_to(self.warehouse):
                    return current
        return str(self.warehouse / schema.lower() / f"{name.lower()}-{uuid.uuid4().hex[:12]}")

    def _folders_dropped_by(self, statement: str) -> list[Path]:
        if (match := _SCHEMA.match(statement)) and match.group(1).lower() == "drop":
            return [self.warehouse / self.parts(match.group(2))[-1].lower()]
        if (match := _DROP.match(statement)) and match.group(1).lower() == "table":
            schema, name = self.schema_and_name(match.group(2))
            with contextlib.suppress(SparkSqlError):
                location = table_location(self, schema, name)
                if location and Path(location).is_relative_to(self.warehouse):
                    return [Path(location)]
        return []

    def run_spark(self, statement: str) -> pa.Table:
        """A statement for Spark SQL as it is (for the rules in `gaps`)."""
        return self.spark.run(statement)

    # --- the catalog journal ------------------------------------------------------------------------
    def restore(self) -> None:
        """Register the journal's schemas, tables and views again (views after what they read)."""
        if self.journal is None:
            return
        self.notice = atomic.recover(self)  # an interrupted atomic block: its tables back to before it
        self.journal.load()
        for schema in sorted(self.journal.schemas):
            self.spark.run(f"CREATE SCHEMA IF NOT EXISTS {self.ref(schema)}")
        pending: list[tuple[str, str, CatalogEntry]] = []
        for schema, names in self.journal.relations.items():
            for name, entry in names.items():
                if entry.kind == "table" and entry.location and Path(entry.location).exists():
                    self.spark.run(f"CREATE TABLE {self.ref(schema, name)} USING delta LOCATION '{entry.location}'")
                elif entry.kind == "view" and entry.definition:
                    pending.append((schema, name, entry))
        for _ in range(len(pending) + 1):  # views on views: retry until no progress
            failed = []
            for schema, name, entry in pending:
                try:
                    self.spark.run(f"CREATE OR REPLACE VIEW {self.ref(schema, name)} AS {entry.definition}")
                except SparkSqlError:
                    failed.append((schema, name, entry))
            if len(failed) == len(pending):
                break
            pending = failed

    def _record(self, statement: str) -> None:
        assert self.journal is not None
        with self._journal_lock:
            if self._apply(self.journal, statement):
                self.journal.save()

    def _apply(self, journal: CatalogJournal, statement: str) -> bool:
        if match := _SCHEMA.match(statement):
            schema = self.parts(match.group(2))[-1]
            if match.group(1).lower() == "create":
                journal.schemas.add(schema)
            else:
                journal.schemas.discard(schema)
                journal.relations.pop(schema, None)
            return True
        if match := _CREATE.match(statement):
            schema, name = self.schema_and_name(match.group(2))
            entry = self._entry(match.group(1).lower(), schema, name, match.group(3))
            journal.relations.setdefault(schema, {})[name] = entry
            return True
        if match := _DROP.match(statement):
            schema, name = self.schema_and_name(match.group(2))
            if names := journal.relations.get(schema):
                names.pop(name, None)
            return True
        if match := _RENAME.match(statement):
            old_schema, old_name = self.schema_and_name(match.group(2))
            new_schema, new_name = self.schema_and_name(match.group(3))
            old_names = journal.relations.get(old_schema, {})
            if old_name in old_names:
                journal.relations.setdefault(new_schema, {})[new_name] = old_names.pop(old_name)
            return True
        return False

    def _entry(self, kind: str, schema: str, name: str, rest: str) -> CatalogEntry:
        if kind == "view":
            body = _VIEW_BODY.search(rest)
            return CatalogEntry("view", definition=body.group(1).strip() if body else None)
        return CatalogEntry("table", location=table_location(self, schema, name))

    def schema_and_name(self, dotted: str) -> tuple[str, str]:
        parts = self.parts(dotted)
        return (parts[-2] if len(parts) > 1 else "default"), parts[-1]

    @staticmethod
    def parts(dotted: str) -> list[str]:
        return [
            part.strip().strip("`").replace("``", "`") for part in re.split(r"\.(?=(?:[^`]*`[^`]*`)*[^`]*$)", dotted)
        ]

    def ref_catalog(self) -> str:
        return "`" + self.catalog.replace("`", "``") + "`"

    def ref(self, schema: str, name: str | None = None) -> str:
        parts = [self.catalog, schema] + ([name] if name else [])
        return ".".join("`" + part.replace("`", "``") + "`" for part in parts)

    def _log(self, outcome: str, statement: str, started: float, error: str | None = None) -> None:
        if self.log_path is None:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        with self.log_path.open("a") as log:
            log.write(f"{outcome} {elapsed_ms:7.1f} ms {statement}\n" + (f"    -> {error}\n" if error else ""))


def _log_path() -> Path | None:
    """QUALITY_EMULATOR_LOG: a file that gets every statement and its outcome (for debugging the endpoint)."""
    value = os.environ.get("QUALITY_EMULATOR_LOG")
    return Path(value) if value else None
