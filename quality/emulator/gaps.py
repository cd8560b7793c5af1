"""Statements Spark SQL on Sail cannot run as Databricks does, answered the way Databricks would.

Each rule says what Databricks does, what the endpoint does instead, and so what a pass here does not
prove about prod; docs/fidelity.md lists them. A statement no rule matches runs on Spark SQL unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from quality.emulator import constraints, delta_log, information_schema, spark_semantics
from quality.emulator.information_schema import table_location
from quality.emulator.spark import SparkSqlError
from quality.emulator.translator import NAME, OK, Translator, not_null_violated, unresolved_column
from quality.emulator.wire import sea_type

Rule = Callable[[re.Match[str], Translator], pa.Table]
_LEADING_COMMENTS = re.compile(r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*", re.S)
_STRING = r"'((?:[^'\\]|\\.|'')*)'"
_COLUMN = r"(`(?:[^`]|``)+`|\w+)"
_CTAS_HEAD = re.compile(rf"^create\s+(?:or\s+replace\s+)?table\s+(?:if\s+not\s+exists\s+)?{NAME}", re.I)
_CLAUSE_COMMENT = re.compile(rf"\bcomment\s+{_STRING}", re.I | re.S)
_AS = re.compile(r"\bas\b", re.I)
_LOCATION = re.compile(r"\blocation\s+'", re.I)
_REPLACE = re.compile(r"^create\s+or\s+replace\b", re.I)
_TOKENS = re.compile(r"(?P<quoted>'(?:[^'\\]|\\.)*'|`(?:[^`]|``)*`)|(?P<open>\()|(?P<close>\))|(?P<word>\w+)", re.S)
_CREATE_OR_ALTER_TABLE = re.compile(r"^(?:create\s+(?:or\s+replace\s+)?table|alter\s+table)\b", re.I)
_CATALOG_MANAGED = re.compile(r"'delta\.feature\.catalogManaged'", re.I)


def strip_comments(sql: str) -> str:
    """The statement without dbt's leading `/* {...} */` comment, and without a trailing `;`."""
    return _LEADING_COMMENTS.sub("", sql, count=1).strip().rstrip(";").strip()


def sail_spelling(statement: str) -> str:
    """Spark SQL that Sail runs otherwise, rewritten to give Spark's answer (`spark_semantics`, measured by
    the conformance corpus: day-of-week numbering, negative lengths, one-argument log, ...); the table property `'delta.feature.catalogManaged'` (catalog commits), which Sail's Delta refuses outside
    a catalog it manages, is kept under the endpoint's name (`delta_log.CATALOG_MANAGED`) and reported back
    by SHOW TBLPROPERTIES and DESCRIBE DETAIL."""
    statement = spark_semantics.rewrite(statement)
    if _CREATE_OR_ALTER_TABLE.match(statement):  # Sail refuses the property; the endpoint keeps it as its own
        statement = _CATALOG_MANAGED.sub(f"'{delta_log.CATALOG_MANAGED}'", statement)
    return statement


def answer(statement: str, translator: Translator) -> pa.Table | None:
    """The rule's answer for a statement Sail cannot run as Databricks would; None: run it on Spark SQL."""
    for pattern, rule in _RULES:
        if match := pattern.match(statement):
            return rule(match, translator)
    if _CTAS_HEAD.match(statement):
        return translator.run_spark(_managed_table(_ctas_without_comment(statement, translator), translator))
    if information_schema.mentions(statement):
        return information_schema.run(statement, translator)
    return None


# --- the rules ---------------------------------------------------------------------------------------
def _comment_on_table(match: re.Match[str], translator: Translator) -> pa.Table:
    """COMMENT ON TABLE|VIEW: Sail has no comments. Kept by the endpoint, read back in information_schema;
    refused, as on Databricks, when the relation does not exist."""
    schema, name = translator.schema_and_name(match.group(1))
    translator.run_spark(f"SELECT 1 FROM {translator.ref(schema, name)} LIMIT 0")  # TABLE_OR_VIEW_NOT_FOUND
    translator.comments[(schema.lower(), name.lower())] = _unquote(match.group(2))
    return OK


def _comment_on_column(match: re.Match[str], translator: Translator) -> pa.Table:
    """COMMENT ON COLUMN / ALTER ... ALTER COLUMN c COMMENT: kept by the endpoint (information_schema.columns);
    refused when the relation or the column does not exist."""
    dotted, column, text = match.group(1), match.group(2), match.group(3)
    schema, name = translator.schema_and_name(dotted)
    column = _column_of(translator, schema, name, column)  # TABLE_OR_VIEW_NOT_FOUND, UNRESOLVED_COLUMN
    translator.column_comments[(schema.lower(), name.lower(), column.lower())] = _unquote(text)
    return OK


def _informational_constraint(match: re.Match[str], translator: Translator) -> pa.Table:
    """PRIMARY KEY / FOREIGN KEY: informational on Databricks, refused where it refuses (`constraints`)."""
    return constraints.add_constraint(match, translator)


def _set_not_null(match: re.Match[str], translator: Translator) -> pa.Table:
    """ALTER COLUMN ... SET NOT NULL: Sail cannot alter a column. The existing rows are checked as Delta does
    (and fail with its error); the column is then kept in the endpoint's table property
    `delta_log.NOT_NULL`, against which every later write is checked (`writes.check`)."""
    schema, name = translator.schema_and_name(match.group(1))
    column = _column_of(translator, schema, name, match.group(2))
    ref = translator.ref(schema, name)
    nulls = translator.run_spark(f"SELECT count(*) AS n FROM {ref} WHERE `{column}` IS NULL")
    if nulls.column("n")[0].as_py():
        raise not_null_violated(column)
    _set_not_null_columns(translator, schema, name, add=column)
    return OK


def _set_not_null_columns(translator: Translator, schema: str, name: str, *, add: str = "", drop: str = "") -> None:
    location = table_location(translator, schema, name)
    if location is None:
        raise _not_found(f"{schema}.{name}")
    columns = [c for c in delta_log.not_null_columns(delta_log.configuration(location)) if c.lower() != drop.lower()]
    if add and add.lower() not in {c.lower() for c in columns}:
        columns.append(add)
    value = sql_string(json.dumps(columns))
    translator.run_spark(
        f"ALTER TABLE {translator.ref(schema, name)} SET TBLPROPERTIES ('{delta_log.NOT_NULL}' = {value})"
    )


def _column_of(translator: Translator, schema: str, name: str, written: str) -> str:
    """The column as the table spells it; UNRESOLVED_COLUMN when the table has none of that name."""
    wanted = written.strip("`").replace("``", "`")
    fields = translator.run_spark(f"SELECT * FROM {translator.ref(schema, name)} LIMIT 0").schema.names
    for field_name in fields:
        if field_name.lower() == wanted.lower():
            return str(field_name)
    raise unresolved_column(wanted, fields)


def sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _managed_table(statement: str, translator: Translator) -> str:
    """CREATE TABLE without LOCATION: a managed table. Sail's Flight SQL server cannot be told a warehouse
    folder, so the endpoint names one under its own: the table's current folder for CREATE OR REPLACE
    (Delta history survives a replace, as on Databricks), else a new one."""
    head = _CTAS_HEAD.match(statement)
    assert head is not None
    rest = statement[head.end() :]
    query = _top_level_as(rest)
    clauses = rest if query is None else rest[:query]
    if _LOCATION.search(clauses):
        return statement
    schema, name = translator.schema_and_name(head.group(1))
    location = translator.managed_location(schema, name, replace=bool(_REPLACE.match(statement)))
    insert_at = head.end() + (len(rest) if query is None else query)
    return f"{statement[:insert_at]} LOCATION '{location}' {statement[insert_at:]}"


def _top_level_as(text: str) -> int | None:
    """Offset of the first `AS` outside parentheses and quotes (where a CTAS' query starts)."""
    depth = 0
    for token in _TOKENS.finditer(text):
        kind = token.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "word" and depth == 0 and token.group(0).lower() == "as":
            return token.start()
    return None


def _ctas_without_comment(statement: str, translator: Translator) -> str:
    """CREATE TABLE ... COMMENT '...' AS SELECT: Sail rejects COMMENT there; the endpoint keeps the comment
    (read back in information_schema) and runs the CTAS without it."""
    head = _CTAS_HEAD.match(statement)
    assert head is not None
    rest = statement[head.end() :]
    comment = _CLAUSE_COMMENT.search(rest)
    if comment is None or _AS.search(rest[: comment.start()]) or not _AS.search(rest[comment.end() :]):
        return statement
    schema, name = translator.schema_and_name(head.group(1))
    translator.comments[(schema.lower(), name.lower())] = _unquote(comment.group(1))
    return statement[: head.end()] + rest[: comment.start()] + rest[comment.end() :]


def _drop_not_null(match: re.Match[str], translator: Translator) -> pa.Table:
    """ALTER COLUMN ... DROP NOT NULL: the column leaves the endpoint's NOT NULL list. A column Sail created
    NOT NULL (in CREATE TABLE) stays so, so a later NULL write fails here where Databricks would take it."""
    schema, name = translator.schema_and_name(match.group(1))
    column = _column_of(translator, schema, name, match.group(2))
    _set_not_null_columns(translator, schema, name, drop=column)
    return OK


def _describe_as_json(match: re.Match[str], translator: Translator) -> pa.Table:
    """DESCRIBE TABLE EXTENDED ... AS JSON (Databricks SQL only): made from the relation's Arrow schema."""
    parts = translator.parts(match.group(1))
    if len(parts) == 1:  # an unqualified name is a temporary view (dbt's unit tests describe theirs)
        schema, name, relation, is_view = "", parts[0], match.group(1), True
    else:
        schema, name = translator.schema_and_name(match.group(1))
        relation = translator.ref(schema, name)
        listed = information_schema.list_relations(translator, schema)
        is_view = any(r.kind == "view" and r.name.lower() == name.lower() for r in listed)
    arrow_schema = translator.run_spark(f"SELECT * FROM {relation} LIMIT 0").schema
    key = (schema.lower(), name.lower())
    metadata: dict[str, Any] = {
        "table_name": name,
        "catalog_name": translator.catalog,
        "schema_name": schema,
        "namespace": [schema],
        "type": "VIEW" if is_view else "MANAGED",
        "columns": [
            {
                "name": field.name,
                "type": _json_type(field.type),
                "nullable": field.nullable,
                **_optional("comment", translator.column_comments.get((*key, field.name.lower()))),
            }
            for field in arrow_schema
        ],
        "owner": information_schema.OWNER,
        **_optional("comment", translator.comments.get(key)),
        **({"view_text": translator.view_definitions.get(key, "")} if is_view else {"provider": "delta"}),
    }
    return pa.table({"json_metadata": [json.dumps(metadata)]})


def _json_type(arrow_type: pa.DataType) -> dict[str, Any]:
    """A column type in the JSON shape of DESCRIBE ... AS JSON."""
    if pa.types.is_decimal(arrow_type):
        return {"name": "decimal", "precision": arrow_type.precision, "scale": arrow_type.scale}
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return {"name": "array", "element_type": _json_type(arrow_type.value_type)}
    if pa.types.is_map(arrow_type):
        return {
            "name": "map",
            "key_type": _json_type(arrow_type.key_type),
            "value_type": _json_type(arrow_type.item_type),
        }
    if pa.types.is_struct(arrow_type):
        return {"name": "struct", "fields": [{"name": f.name, "type": _json_type(f.type)} for f in arrow_type]}
    return {"name": sea_type(arrow_type)[1].lower()}


def _optional(key: str, value: str | None) -> dict[str, str]:
    return {key: value} if value is not None else {}


def _show_views(match: re.Match[str], translator: Translator) -> pa.Table:
    """SHOW VIEWS IN schema (Sail's own fails over Flight SQL): answered from SHOW TABLE EXTENDED."""
    schema = translator.parts(match.group(1))[-1]
    views = [r.name for r in information_schema.list_relations(translator, schema) if r.kind == "view"]
    return pa.table(
        {
            "namespace": pa.array([schema] * len(views), pa.string()),
            "viewName": pa.array(views, pa.string()),
            "isTemporary": pa.array([False] * len(views), pa.bool_()),
            "isMaterialized": pa.array([False] * len(views), pa.bool_()),
        }
    )


def _show_columns(match: re.Match[str], translator: Translator) -> pa.Table:
    """SHOW COLUMNS IN CATALOG ... (Databricks SQL's metadata command behind `cursor.columns()`)."""
    return information_schema.show_columns(translator, match.group(1), match.group(2), match.group(3))


def _clone(match: re.Match[str], translator: Translator) -> pa.Table:
    """CREATE [OR REPLACE] TABLE t DEEP|SHALLOW CLONE src [VERSION AS OF n]: Sail has no CLONE. The endpoint
    copies the data into t's managed folder (a new Delta version of t when it is replaced). A shallow clone
    copies too (same rows; on Databricks it only references the source's files), and neither copies the
    source's table properties or history."""
    replace, target, source, version = bool(match.group(1)), match.group(2), match.group(3), match.group(4)
    _refuse_view_source(translator, source)
    schema, name = translator.schema_and_name(target)
    location = translator.managed_location(schema, name, replace=replace)
    create = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE"
    at = f" VERSION AS OF {version}" if version else ""
    translator.run_spark(f"{create} {target} USING delta LOCATION '{location}' AS SELECT * FROM {source}{at}")
    return pa.table(
        {"source_table_size": pa.array([None], pa.int64()), "source_num_of_files": pa.array([None], pa.int64())}
    )


def _refuse_view_source(translator: Translator, source: str) -> None:
    """Databricks clones tables only: a view as the source is refused (Spark's EXPECT_TABLE_NOT_VIEW)."""
    schema, name = translator.schema_and_name(source)
    listed = information_schema.list_relations(translator, schema)
    if any(r.kind == "view" and r.name.lower() == name.lower() for r in listed):
        raise SparkSqlError(
            f"[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'CREATE TABLE CLONE' expects a table but "
            f"{translator.ref(schema, name)} is a view.",
            "EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE",
            "42809",
        )


def _create_like(match: re.Match[str], translator: Translator) -> pa.Table:
    """CREATE TABLE [IF NOT EXISTS] t LIKE src [TBLPROPERTIES (...)]: Sail has no LIKE. The endpoint creates
    an empty managed Delta table with src's columns (a CTAS of no rows) and the properties given, and keeps
    the NOT NULL columns the endpoint knows of src (Databricks copies the column definitions)."""
    if_not_exists, target, source, rest = bool(match.group(1)), match.group(2), match.group(3), match.group(4)
    schema, name = translator.schema_and_name(target)
    if table_location(translator, schema, name) is not None:
        if if_not_exists:
            return OK
        raise SparkSqlError(
            f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view {translator.ref(schema, name)} because "
            "it already exists.",
            "TABLE_OR_VIEW_ALREADY_EXISTS",
            "42P07",
        )
    source_schema, source_name = translator.schema_and_name(source)
    source_location = table_location(translator, source_schema, source_name)
    location = translator.managed_location(schema, name, replace=False)
    translator.run_spark(
        f"CREATE TABLE {translator.ref(schema, name)} USING delta LOCATION '{location}' {rest.strip()} "
        f"AS SELECT * FROM {translator.ref(source_schema, source_name)} LIMIT 0"
    )
    if source_location is not None:
        for column in delta_log.not_null_columns(delta_log.configuration(source_location)):
            _set_not_null_columns(translator, schema, name, add=column)
    return OK


def _describe_history(match: re.Match[str], translator: Translator) -> pa.Table:
    """DESCRIBE HISTORY t [LIMIT n]: Sail cannot; read from the table's Delta log (newest first)."""
    schema, name = translator.schema_and_name(match.group(1))
    location = table_location(translator, schema, name)
    if location is None:
        raise _not_found(match.group(1))
    commits = []
    for entry in sorted((Path(location) / "_delta_log").glob("*.json"), reverse=True):
        info: dict[str, Any] = next(
            (json.loads(line)["commitInfo"] for line in entry.read_text().splitlines() if '"commitInfo"' in line), {}
        )
        timestamp = dt.datetime.fromtimestamp(int(info.get("timestamp", 0)) / 1000, dt.UTC)
        commits.append(
            (int(entry.stem), timestamp, info.get("operation"), json.dumps(info.get("operationParameters", {})))
        )
    limit = int(match.group(2)) if match.group(2) else len(commits)
    commits = commits[:limit]
    return pa.table(
        {
            "version": pa.array([c[0] for c in commits], pa.int64()),
            "timestamp": pa.array([c[1] for c in commits], pa.timestamp("us", tz="UTC")),
            "userName": pa.array([information_schema.OWNER] * len(commits), pa.string()),
            "operation": pa.array([c[2] for c in commits], pa.string()),
            "operationParameters": pa.array([c[3] for c in commits], pa.string()),
        }
    )


def _restore(match: re.Match[str], translator: Translator) -> pa.Table:
    """RESTORE TABLE t TO VERSION AS OF n: Sail cannot; the table is rewritten from its version n in place
    (a new Delta version holding version n's rows and schema, as RESTORE makes one)."""
    target, version = match.group(1), match.group(2)
    schema, name = translator.schema_and_name(target)
    location = table_location(translator, schema, name)
    if location is None:
        raise _not_found(target)
    translator.run_spark(
        f"CREATE OR REPLACE TABLE {target} USING delta LOCATION '{location}' AS SELECT * FROM {target} VERSION AS OF {version}"
    )
    return pa.table(
        {"table_size_after_restore": pa.array([None], pa.int64()), "num_restored_files": pa.array([None], pa.int64())}
    )


def _show_create_table(match: re.Match[str], translator: Translator) -> pa.Table:
    """SHOW CREATE TABLE (Sail: not implemented): a view's CREATE VIEW with the text it was created with,
    a table's columns and USING DELTA."""
    schema, name = translator.schema_and_name(match.group(1))
    relation = next(
        (r for r in information_schema.list_relations(translator, schema) if r.name.lower() == name.lower()), None
    )
    if relation is None:
        raise _not_found(match.group(1))
    ref = translator.ref(schema, relation.name)
    if relation.kind == "view":
        body = translator.view_definitions.get((schema.lower(), name.lower())) or relation.view_text or ""
        return pa.table({"createtab_stmt": [f"CREATE VIEW {ref} AS {body}"]})
    fields = translator.run_spark(f"SELECT * FROM {ref} LIMIT 0").schema
    columns = ",\n  ".join(f"`{f.name}` {sea_type(f.type)[1]}{'' if f.nullable else ' NOT NULL'}" for f in fields)
    return pa.table({"createtab_stmt": [f"CREATE TABLE {ref} (\n  {columns})\nUSING delta"]})


def _show_tblproperties(match: re.Match[str], translator: Translator) -> pa.Table:
    """SHOW TBLPROPERTIES t [('key')]: Sail cannot; a table's properties come from its Delta log (the newest
    metaData action: configuration, plus the protocol versions Databricks lists), a view has none. The
    endpoint's own properties show under Databricks' names or not at all. With a key, one row: its value,
    or Databricks' "Table ... does not have property: key" when it is not set."""
    schema, name = translator.schema_and_name(match.group(1))
    location = table_location(translator, schema, name)
    properties = _table_properties(location) if location is not None else {}
    if match.group(2) is not None:
        key = _unquote(match.group(2))
        value = properties.get(key, f"Table {translator.catalog}.{schema}.{name} does not have property: {key}")
        properties = {key: value}
    return pa.table(
        {"key": pa.array(list(properties), pa.string()), "value": pa.array(list(properties.values()), pa.string())}
    )


def _table_properties(location: str) -> dict[str, str]:
    properties: dict[str, str] = {}
    for entry in sorted((Path(location) / "_delta_log").glob("*.json"), reverse=True):
        actions = [json.loads(line) for line in entry.read_text().splitlines() if line.strip()]
        protocol = next((a["protocol"] for a in actions if "protocol" in a), None)
        if protocol is not None and "delta.minReaderVersion" not in properties:
            properties["delta.minReaderVersion"] = str(protocol.get("minReaderVersion"))
            properties["delta.minWriterVersion"] = str(protocol.get("minWriterVersion"))
        if any("metaData" in a for a in actions):
            break
    config = delta_log.configuration(location)
    shown = {
        delta_log.DATABRICKS_NAMES.get(k, k): v
        for k, v in config.items()
        if k in delta_log.DATABRICKS_NAMES or not k.startswith("quality.emulator.")
    }
    return {**shown, **properties}


def _describe_detail(match: re.Match[str], translator: Translator) -> pa.Table:
    """DESCRIBE DETAIL t: Sail cannot; one row from the table's Delta log: format, name, location, the
    protocol versions and `tableFeatures` (the protocol's reader and writer features, plus `catalogManaged`
    for a table created or altered with 'delta.feature.catalogManaged' = 'supported', which the endpoint
    keeps as its own property: Sail's Delta refuses it)."""
    schema, name = translator.schema_and_name(match.group(1))
    location = table_location(translator, schema, name)
    if location is None:
        raise _not_found(match.group(1))
    protocol: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for entry in sorted((Path(location) / "_delta_log").glob("*.json"), reverse=True):
        actions = [json.loads(line) for line in entry.read_text().splitlines() if line.strip()]
        protocol = protocol or next((a["protocol"] for a in actions if "protocol" in a), {})
        metadata = metadata or next((a["metaData"] for a in actions if "metaData" in a), {})
        if protocol and metadata:
            break
    features = {*protocol.get("readerFeatures", []), *protocol.get("writerFeatures", [])}
    if delta_log.CATALOG_MANAGED in delta_log.configuration(location):
        features.add("catalogManaged")
    return pa.table(
        {
            "format": pa.array(["delta"], pa.string()),
            "id": pa.array([metadata.get("id")], pa.string()),
            "name": pa.array([f"{translator.catalog}.{schema}.{name}"], pa.string()),
            "location": pa.array([f"file://{location}"], pa.string()),
            "partitionColumns": pa.array([metadata.get("partitionColumns", [])], pa.list_(pa.string())),
            "minReaderVersion": pa.array([protocol.get("minReaderVersion")], pa.int32()),
            "minWriterVersion": pa.array([protocol.get("minWriterVersion")], pa.int32()),
            "tableFeatures": pa.array([sorted(features)], pa.list_(pa.string())),
        }
    )


def _not_found(name: str) -> SparkSqlError:
    return SparkSqlError(
        f"[TABLE_OR_VIEW_NOT_FOUND] The table or view {name} cannot be found.", "TABLE_OR_VIEW_NOT_FOUND", "42P01"
    )


def _unquote(text: str) -> str:
    return text.replace("''", "'").replace("\\'", "'")


_RULES: tuple[tuple[re.Pattern[str], Rule], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), rule)
    for pattern, rule in (
        (rf"^comment\s+on\s+(?:table|view)\s+{NAME}\s+is\s+{_STRING}$", _comment_on_table),
        (rf"^comment\s+on\s+column\s+{NAME}\s*\.\s*{_COLUMN}\s+is\s+{_STRING}$", _comment_on_column),
        (
            rf"^alter\s+(?:table|view)\s+{NAME}\s+(?:alter|change)\s+column\s+{_COLUMN}\s+comment\s+{_STRING}$",
            _comment_on_column,
        ),
        (
            rf"^alter\s+table\s+{NAME}\s+add\s+constraint\s+{_COLUMN}\s+(primary|foreign)\s+key\b(.*)$",
            _informational_constraint,
        ),
        (rf"^alter\s+table\s+{NAME}\s+(?:alter|change)\s+column\s+{_COLUMN}\s+set\s+not\s+null$", _set_not_null),
        (rf"^alter\s+table\s+{NAME}\s+(?:alter|change)\s+column\s+{_COLUMN}\s+drop\s+not\s+null$", _drop_not_null),
        (rf"^describe\s+(?:table\s+)?extended\s+{NAME}\s+as\s+json$", _describe_as_json),
        (rf"^show\s+views\s+(?:in|from)\s+{NAME}(?:\s+like\s+.*)?$", _show_views),
        (
            rf"^create\s+(or\s+replace\s+)?table\s+{NAME}\s+(?:deep|shallow)\s+clone\s+{NAME}"
            r"(?:\s+version\s+as\s+of\s+(\d+))?$",
            _clone,
        ),
        (
            rf"^create\s+table\s+(if\s+not\s+exists\s+)?{NAME}\s+like\s+{NAME}((?:\s+tblproperties\s*\(.*\))?)$",
            _create_like,
        ),
        (rf"^describe\s+history\s+{NAME}(?:\s+limit\s+(\d+))?$", _describe_history),
        (rf"^restore\s+(?:table\s+)?{NAME}\s+(?:to\s+)?version\s+as\s+of\s+(\d+)$", _restore),
        (rf"^show\s+create\s+table\s+{NAME}$", _show_create_table),
        (rf"^show\s+tblproperties\s+{NAME}(?:\s*\(\s*{_STRING}\s*\))?$", _show_tblproperties),
        (rf"^describe\s+detail\s+{NAME}$", _describe_detail),
        (
            r"^show\s+columns\s+in\s+catalog\s+\S+(?:\s+schema\s+like\s+'([^']*)')?"
            r"(?:\s+table\s+like\s+'([^']*)')?(?:\s+like\s+'([^']*)')?$",
            _show_columns,
        ),
    )
)
