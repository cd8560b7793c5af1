"""Constraints enforced on every write, as Delta enforces them on Databricks.

Sail's Delta enforces a CHECK constraint and a NOT NULL declared in CREATE TABLE itself (measured on
INSERT, INSERT OVERWRITE, UPDATE and MERGE: `DELTA_VIOLATE_CONSTRAINT_WITH_VALUES`). It cannot alter a
column, so a NOT NULL added by `ALTER TABLE ... ALTER COLUMN ... SET NOT NULL` (how dbt-databricks adds a
contract's NOT NULLs after its CTAS) is kept by the endpoint as a table property of its own
(`delta_log.NOT_NULL`, in the Delta log, so it outlives a restart and moves with the table's versions).
After every INSERT, MERGE or UPDATE of a table that has such columns or CHECK constraints, the endpoint
counts the rows that break one; if any does, the statement's commit is taken back (`delta_log.rewind`) and
the statement fails with Delta's error class, message and SQLSTATE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quality.emulator import delta_log
from quality.emulator.information_schema import table_location
from quality.emulator.spark import SparkSqlError
from quality.emulator.translator import NAME, Translator, not_null_violated

_WRITE = re.compile(
    rf"^(?:insert\s+(?:into|overwrite)\s+(?:table\s+)?|merge\s+into\s+|update\s+|delete\s+from\s+){NAME}",
    re.I,
)


@dataclass(frozen=True)
class Written:
    """A table a statement writes, and its Delta version before the statement."""

    ref: str
    location: str
    version: int


def written_table(statement: str, translator: Translator) -> Written | None:
    """The managed Delta table a DML statement writes (None: not a write, or not a table of the endpoint)."""
    match = _WRITE.match(statement)
    if match is None:
        return None
    schema, name = translator.schema_and_name(match.group(1))
    location = table_location(translator, schema, name)
    before = delta_log.version(location) if location else None
    if location is None or before is None:
        return None
    return Written(translator.ref(schema, name), location, before)


def check(written: Written, translator: Translator) -> None:
    """Refuse (and take back) the write if a row now breaks a NOT NULL or CHECK constraint of the table."""
    if delta_log.version(written.location) == written.version:
        return  # nothing committed (e.g. a MERGE that matched no row)
    error = violation(written, translator)
    if error is not None:
        delta_log.rewind(written.location, written.version)
        raise error


def violation(written: Written, translator: Translator) -> SparkSqlError | None:
    config = delta_log.configuration(written.location)
    for column in delta_log.not_null_columns(config):
        if _count(translator, written.ref, f"{_quote(column)} IS NULL"):
            return not_null_violated(column)
    for name, expression in delta_log.check_constraints(config).items():
        if _count(translator, written.ref, f"NOT (({expression}) <=> true)"):
            return SparkSqlError(
                f"[DELTA_VIOLATE_CONSTRAINT_WITH_VALUES] CHECK constraint {name} ({expression}) violated by row "
                "with values.",
                "DELTA_VIOLATE_CONSTRAINT_WITH_VALUES",
                "23001",
            )
    return None


def _count(translator: Translator, ref: str, condition: str) -> int:
    table = translator.run_spark(f"SELECT count(*) AS n FROM {ref} WHERE {condition}")
    return int(table.column("n")[0].as_py() or 0)


def _quote(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"
