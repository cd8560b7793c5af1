"""`ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY | FOREIGN KEY`, checked as Databricks checks it.

Informational on Databricks (never enforced on the rows), but refused when the statement is wrong: a key
column the table lacks (`UNRESOLVED_COLUMN.WITH_SUGGESTION`), a primary key column that is nullable
(Unity Catalog requires NOT NULL key columns: "Cannot create the primary key ... because its child
column(s) ... is nullable"), a foreign key to a table that does not exist (`TABLE_OR_VIEW_NOT_FOUND`), and
text after the clause that is none of its documented options (`PARSE_SYNTAX_ERROR`). Grammar: the
CONSTRAINT clause of Databricks SQL's language manual (options NOT ENFORCED, DEFERRABLE, INITIALLY
DEFERRED, RELY, NORELY, ENABLE NOVALIDATE; MATCH FULL, ON UPDATE|DELETE NO ACTION for foreign keys).
"""

from __future__ import annotations

import re

import pyarrow as pa

from quality.emulator import delta_log
from quality.emulator.information_schema import table_location
from quality.emulator.spark import SparkSqlError
from quality.emulator.translator import NAME, OK, Translator, unresolved_column

_IDENT = r"(?:`(?:[^`]|``)+`|\w+)"
_COLUMNS = rf"\(\s*({_IDENT}(?:\s+timeseries)?(?:\s*,\s*{_IDENT}(?:\s+timeseries)?)*)\s*\)"
_OPTION = (
    r"(?:not\s+enforced|deferrable|initially\s+deferred|rely|norely|enable\s+novalidate|match\s+full"
    r"|on\s+(?:update|delete)\s+no\s+action)"
)
_PRIMARY = re.compile(rf"^\s*{_COLUMNS}((?:\s+{_OPTION})*)(.*)$", re.I | re.S)
_FOREIGN = re.compile(rf"^\s*{_COLUMNS}\s+references\s+{NAME}(?:\s*{_COLUMNS})?((?:\s+{_OPTION})*)(.*)$", re.I | re.S)


def add_constraint(match: re.Match[str], translator: Translator) -> pa.Table:
    """PRIMARY KEY / FOREIGN KEY: accepted as on Databricks (informational), refused where it refuses."""
    schema, name = translator.schema_and_name(match.group(1))
    constraint, kind, clause = match.group(2).strip("`"), match.group(3).lower(), match.group(4)
    fields = translator.run_spark(f"SELECT * FROM {translator.ref(schema, name)} LIMIT 0").schema  # must exist
    parsed = (_PRIMARY if kind == "primary" else _FOREIGN).match(clause)
    if parsed is None or parsed.group(parsed.lastindex or 0).strip():
        raise _syntax_error(clause if parsed is None else parsed.group(parsed.lastindex or 0))
    columns = [_name(c) for c in re.split(r"\s*,\s*", parsed.group(1))]
    known = {f.name.lower(): f for f in fields}
    for column in columns:
        if column.lower() not in known:
            raise unresolved_column(column, fields.names)
    if kind == "primary":
        _refuse_nullable(translator, schema, name, constraint, [known[c.lower()] for c in columns])
    else:
        parent_schema, parent = translator.schema_and_name(parsed.group(2))
        translator.run_spark(f"SELECT 1 FROM {translator.ref(parent_schema, parent)} LIMIT 0")  # must exist
    return OK


def _refuse_nullable(translator: Translator, schema: str, name: str, constraint: str, columns: list[pa.Field]) -> None:
    location = table_location(translator, schema, name)
    declared = {c.lower() for c in delta_log.not_null_columns(delta_log.configuration(location))} if location else set()
    nullable = [f.name for f in columns if f.nullable and f.name.lower() not in declared]
    if nullable:
        raise SparkSqlError(
            f"Cannot create the primary key `{constraint}` because its child column(s) "
            f"{', '.join(f'`{c}`' for c in nullable)} is nullable. Please change the column nullability and retry."
        )


def _syntax_error(rest: str) -> SparkSqlError:
    near = rest.strip().split()[0] if rest.strip() else "end of input"
    return SparkSqlError(f"[PARSE_SYNTAX_ERROR] Syntax error at or near '{near}'.", "PARSE_SYNTAX_ERROR", "42601")


def _name(written: str) -> str:
    text = re.sub(r"\s+timeseries$", "", written.strip(), flags=re.I)
    return text.strip("`").replace("``", "`")
