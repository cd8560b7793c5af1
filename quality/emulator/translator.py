"""What the statement rules see of the translator, and the pieces of SQL text and errors they share.

`statements.StatementTranslator` runs each statement; the modules it hands statements to (`gaps`,
`information_schema`, `constraints`, `writes`, `atomic`) call back into it through the `Translator`
protocol below, so they depend on this module and never on `statements` (which imports them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from quality.emulator.parameters import Parameter
from quality.emulator.spark import SparkSqlError

# A relation name as written: one to three parts, each plain or `quoted`.
NAME = r"((?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+)){0,2})"
OK = pa.table({"result": pa.array([], pa.string())})


class Translator(Protocol):
    """The statement translator, as the rules use it (`statements.StatementTranslator` is the one)."""

    catalog: str
    # What Sail does not keep and Databricks does, read back through information_schema.
    comments: dict[tuple[str, str], str]  # (schema, relation) -> comment
    column_comments: dict[tuple[str, str, str], str]
    view_definitions: dict[tuple[str, str], str]

    @property
    def warehouse(self) -> Path: ...

    def run(self, sql: str, parameters: Sequence[Parameter] = ()) -> pa.Table:
        """A statement as a client sends it: bound, matched against the rules, checked, journalled."""
        ...

    def run_spark(self, statement: str) -> pa.Table:
        """A statement for Spark SQL as it is."""
        ...

    def managed_location(self, schema: str, name: str, *, replace: bool) -> str: ...

    def schema_and_name(self, dotted: str) -> tuple[str, str]: ...

    def parts(self, dotted: str) -> list[str]: ...

    def ref_catalog(self) -> str: ...

    def ref(self, schema: str, name: str | None = None) -> str: ...


def not_null_violated(column: str) -> SparkSqlError:
    return SparkSqlError(
        f"[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL constraint violated for column: {column}.",
        "DELTA_NOT_NULL_CONSTRAINT_VIOLATED",
        "23502",
    )


def unresolved_column(column: str, fields: list[str]) -> SparkSqlError:
    suggestions = ", ".join(f"`{f}`" for f in fields)
    return SparkSqlError(
        f"[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `{column}` "
        f"cannot be resolved. Did you mean one of the following? [{suggestions}].",
        "UNRESOLVED_COLUMN.WITH_SUGGESTION",
        "42703",
    )
