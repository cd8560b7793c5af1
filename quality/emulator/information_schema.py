"""Unity Catalog's `information_schema`, made from Sail's own catalog for the statement that reads it.

A statement naming `<catalog>.information_schema.<view>` or `system.information_schema.<view>` gets each
view it names as a temporary view of this statement only (filled from SHOW SCHEMAS / SHOW TABLES / SHOW
VIEWS and the relations' Arrow schemas), and then runs on Spark SQL unchanged, so any projection, filter
or join works. Literal `table_schema = '...'` and `table_name = '...'` filters narrow what is listed.
Views Databricks has but Sail has no data for (constraints, tags, masks, row filters) are empty.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from quality.emulator.parameters import quote_string
from quality.emulator.translator import Translator
from quality.emulator.wire import sea_type

OWNER = "local@localhost"
_REFERENCE = re.compile(
    r"(?:`?(?P<catalog>\w+)`?\s*\.\s*)?`?information_schema`?\s*\.\s*`?(?P<view>\w+)`?", re.IGNORECASE
)
_SCHEMA_FILTER = re.compile(r"\btable_schema\s*(?:=\s*'([^']*)'|in\s*\(([^)]*)\))", re.IGNORECASE)
_NAME_FILTER = re.compile(r"\btable_name\s*(?:=\s*'([^']*)'|in\s*\(([^)]*)\))", re.IGNORECASE)
_LITERAL = re.compile(r"'([^']*)'")

# The three-part names the views below identify a constraint and a table by.
_CONSTRAINT_NAME = ["constraint_catalog", "constraint_schema", "constraint_name"]
_TABLE_NAME = ["table_catalog", "table_schema", "table_name"]

_EMPTY_VIEWS: dict[str, list[str]] = {
    "table_constraints": [
        *_CONSTRAINT_NAME,
        *_TABLE_NAME,
        "constraint_type",
        "is_deferrable",
        "initially_deferred",
        "enforced",
        "comment",
    ],
    "key_column_usage": [
        *_CONSTRAINT_NAME,
        *_TABLE_NAME,
        "column_name",
        "ordinal_position",
        "position_in_unique_constraint",
    ],
    "referential_constraints": [
        *_CONSTRAINT_NAME,
        "unique_constraint_catalog",
        "unique_constraint_schema",
        "unique_constraint_name",
        "match_option",
        "update_rule",
        "delete_rule",
    ],
    "constraint_column_usage": [*_TABLE_NAME, "column_name", *_CONSTRAINT_NAME],
    "table_tags": ["catalog_name", "schema_name", "table_name", "tag_name", "tag_value"],
    "column_tags": ["catalog_name", "schema_name", "table_name", "column_name", "tag_name", "tag_value"],
    "schema_tags": ["catalog_name", "schema_name", "tag_name", "tag_value"],
    "column_masks": [*_TABLE_NAME, "column_name", "mask_name", "using_columns"],
    "row_filters": [*_TABLE_NAME, "filter_name", "target_columns"],
}


@dataclass(frozen=True)
class _Relation:
    schema: str
    name: str
    kind: str  # "table" | "view"
    location: str | None = None
    view_text: str | None = None


def list_relations(translator: Translator, schema: str) -> list[_Relation]:
    """The tables and views of a schema, from one SHOW TABLE EXTENDED (Sail's SHOW VIEWS fails over Flight SQL)."""
    rows = translator.run_spark(f"SHOW TABLE EXTENDED IN {translator.ref(schema)} LIKE '*'").to_pylist()
    found = []
    for row in rows:
        if row.get("isTemporary"):
            continue
        details = dict(line.split(": ", 1) for line in str(row.get("information") or "").splitlines() if ": " in line)
        kind = "view" if details.get("Type", "").upper() == "VIEW" else "table"
        found.append(_Relation(schema, str(row["tableName"]), kind, details.get("Location"), details.get("View Text")))
    return found


def table_location(translator: Translator, schema: str, name: str) -> str | None:
    for relation in list_relations(translator, schema):
        if relation.name.lower() == name.lower():
            return (relation.location or "").removeprefix("file://") or None
    return None


def mentions(statement: str) -> bool:
    return "information_schema" in statement.lower()


def run(statement: str, translator: Translator) -> pa.Table:
    views: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        view = match.group("view").lower()
        if view not in views:
            views[view] = f"__information_schema_{view}_{uuid.uuid4().hex[:12]}"
        return views[view]

    rewritten = _REFERENCE.sub(replace, statement)
    listing = _Listing(translator, _literals(_SCHEMA_FILTER, statement), _literals(_NAME_FILTER, statement))
    created: list[str] = []
    try:
        for view, temporary in views.items():
            listing.register(view, temporary)
            created.append(temporary)
        return translator.run_spark(rewritten)
    finally:
        for temporary in created:
            translator.run_spark(f"DROP VIEW IF EXISTS {temporary}")


def _literals(pattern: re.Pattern[str], statement: str) -> set[str] | None:
    found: set[str] = set()
    for match in pattern.finditer(statement):
        if match.group(1) is not None:
            found.add(match.group(1).lower())
        else:
            found.update(value.lower() for value in _LITERAL.findall(match.group(2)))
    return found or None


@dataclass
class _Listing:
    translator: Translator
    schema_filter: set[str] | None
    name_filter: set[str] | None

    def register(self, view: str, temporary: str) -> None:
        builders: dict[str, Callable[[], pa.Table]] = {
            "schemata": self._schemata,
            "tables": self._tables,
            "views": self._views,
            "columns": self._columns,
        }
        if view in builders:
            table = builders[view]()
        elif view in _EMPTY_VIEWS:
            table = pa.table({column: pa.array([], pa.string()) for column in _EMPTY_VIEWS[view]})
        else:
            from quality.emulator.spark import SparkSqlError

            raise SparkSqlError(
                f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `information_schema`.`{view}` cannot be found.",
                "TABLE_OR_VIEW_NOT_FOUND",
                "42P01",
            )
        self.translator.run_spark(f"CREATE OR REPLACE TEMPORARY VIEW {temporary} AS {_select_of(table)}")

    # --- what is there ------------------------------------------------------------------------------
    def schemas(self) -> list[str]:
        rows = self.translator.run_spark(f"SHOW SCHEMAS IN {self.translator.ref_catalog()}").to_pylist()
        names = [str(row.get("name") or row.get("namespace") or row.get("databaseName")) for row in rows]
        return [name for name in names if self.schema_filter is None or name.lower() in self.schema_filter]

    def relations(self) -> list[_Relation]:
        found: list[_Relation] = []
        for schema in self.schemas():
            for relation in list_relations(self.translator, schema):
                if self.name_filter is None or relation.name.lower() in self.name_filter:
                    found.append(relation)
        return found

    # --- the views ----------------------------------------------------------------------------------
    def _schemata(self) -> pa.Table:
        catalog = self.translator.catalog
        return _table(
            ("catalog_name", "schema_name", "schema_owner", "comment", "created", "created_by", "last_altered"),
            ((catalog, schema, OWNER, None, None, OWNER, None) for schema in self.schemas()),
        )

    def _tables(self) -> pa.Table:
        catalog, comments = self.translator.catalog, self.translator.comments
        return _table(
            (
                "table_catalog",
                "table_schema",
                "table_name",
                "table_type",
                "is_insertable_into",
                "commit_action",
                "table_owner",
                "comment",
                "created",
                "created_by",
                "last_altered",
                "last_altered_by",
                "data_source_format",
                "storage_sub_directory",
                "storage_path",
            ),
            (
                (
                    catalog,
                    r.schema,
                    r.name,
                    "MANAGED" if r.kind == "table" else "VIEW",
                    "YES" if r.kind == "table" else "NO",
                    "PRESERVE",
                    OWNER,
                    comments.get((r.schema.lower(), r.name.lower())),
                    None,
                    OWNER,
                    None,
                    OWNER,
                    "DELTA" if r.kind == "table" else None,
                    None,
                    None,
                )
                for r in self.relations()
            ),
        )

    def _views(self) -> pa.Table:
        catalog, definitions = self.translator.catalog, self.translator.view_definitions
        return _table(
            ("table_catalog", "table_schema", "table_name", "view_definition", "check_option", "is_updatable"),
            (
                (catalog, r.schema, r.name, definitions.get((r.schema.lower(), r.name.lower())), "NONE", "NO")
                for r in self.relations()
                if r.kind == "view"
            ),
        )

    def _columns(self) -> pa.Table:
        catalog, comments = self.translator.catalog, self.translator.column_comments
        rows: list[tuple[Any, ...]] = []
        for relation in self.relations():
            schema = self.translator.run_spark(
                f"SELECT * FROM {self.translator.ref(relation.schema, relation.name)} LIMIT 0"
            ).schema
            for position, field in enumerate(schema):
                _, text, extra = sea_type(field.type)
                rows.append(
                    (
                        catalog,
                        relation.schema,
                        relation.name,
                        field.name,
                        position,
                        "YES" if field.nullable else "NO",
                        text.lower(),
                        text.split("(")[0].split("<")[0],
                        extra.get("type_precision"),
                        extra.get("type_scale"),
                        comments.get((relation.schema.lower(), relation.name.lower(), field.name.lower())),
                    )
                )
        return _table(
            (
                "table_catalog",
                "table_schema",
                "table_name",
                "column_name",
                "ordinal_position",
                "is_nullable",
                "full_data_type",
                "data_type",
                "numeric_precision",
                "numeric_scale",
                "comment",
            ),
            rows,
        )


def _select_of(table: pa.Table) -> str:
    """A SELECT that returns the table's rows, every value cast to its column type (no rows: none)."""
    types = [sea_type(f.type)[1] for f in table.schema]
    names = ", ".join(f"`{f.name}`" for f in table.schema)
    if not table.num_rows:
        columns = ", ".join(f"CAST(NULL AS {kind}) AS `{f.name}`" for f, kind in zip(table.schema, types, strict=True))
        return f"SELECT {columns} WHERE 1 = 0"
    rows = ", ".join(
        "("
        + ", ".join(f"CAST({_literal(value)} AS {kind})" for value, kind in zip(row.values(), types, strict=True))
        + ")"
        for row in table.to_pylist()
    )
    return f"SELECT * FROM VALUES {rows} AS t({names})"


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    return str(value) if isinstance(value, int) else quote_string(str(value))


def _table(columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> pa.Table:
    materialized = list(rows)
    integer_columns = {"ordinal_position", "numeric_precision", "numeric_scale"}
    arrays = {
        name: pa.array([row[index] for row in materialized], pa.int32() if name in integer_columns else pa.string())
        for index, name in enumerate(columns)
    }
    return pa.table(arrays)


def show_columns(
    translator: Translator, schema_like: str | None, table_like: str | None, column_like: str | None
) -> pa.Table:
    """`SHOW COLUMNS IN CATALOG c [SCHEMA LIKE p] [TABLE LIKE p] [LIKE p]` (the connector's `cursor.columns()`),
    in the JDBC GetColumns shape that databricks-sqlalchemy reads (COLUMN_NAME, TYPE_NAME, NULLABLE, ...)."""
    schema_match, table_match, column_match = (_like(p) for p in (schema_like, table_like, column_like))
    listing = _Listing(translator, None, None)
    rows: list[tuple[Any, ...]] = []
    for schema in listing.schemas():
        if not schema_match(schema):
            continue
        for relation in list_relations(translator, schema):
            if not table_match(relation.name):
                continue
            ref = translator.ref(relation.schema, relation.name)
            for position, field in enumerate(translator.run_spark(f"SELECT * FROM {ref} LIMIT 0").schema):
                if not column_match(field.name):
                    continue
                _, text, extra = sea_type(field.type)
                remark = translator.column_comments.get((schema.lower(), relation.name.lower(), field.name.lower()))
                rows.append(
                    (
                        translator.catalog,
                        schema,
                        relation.name,
                        field.name,
                        text,
                        extra.get("type_precision"),
                        extra.get("type_scale"),
                        1 if field.nullable else 0,
                        remark,
                        None,
                        position,
                        "YES" if field.nullable else "NO",
                    )
                )
    columns = (
        "TABLE_CAT",
        "TABLE_SCHEM",
        "TABLE_NAME",
        "COLUMN_NAME",
        "TYPE_NAME",
        "COLUMN_SIZE",
        "DECIMAL_DIGITS",
        "NULLABLE",
        "REMARKS",
        "COLUMN_DEF",
        "ORDINAL_POSITION",
        "IS_NULLABLE",
    )
    integers = {"COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE", "ORDINAL_POSITION"}
    return pa.table(
        {
            name: pa.array([row[i] for row in rows], pa.int32() if name in integers else pa.string())
            for i, name in enumerate(columns)
        }
    )


def _like(pattern: str | None) -> Callable[[str], bool]:
    """A LIKE pattern (`%`, `_`; `*` as in SHOW ... LIKE) as a case-insensitive match; None matches all."""
    if pattern is None:
        return lambda _: True
    regex = "".join(".*" if c in "%*" else "." if c == "_" else re.escape(c) for c in pattern)
    compiled = re.compile(f"^{regex}$", re.IGNORECASE)
    return lambda value: compiled.match(value) is not None
