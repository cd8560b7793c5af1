"""Check SQL against Databricks SQL: every function it calls is a built-in, every type it casts to exists.

The SQL is parsed with sqlglot's Databricks dialect. sqlglot is lenient on purpose (an unknown function
parses as an anonymous call, `hugeint` as INT128, `strftime` maps to the same node as `date_format`), so
the names are taken as WRITTEN: the parser of `hooks.spark_uses` notes the name token of every function call
and the first token of every type it reads. A function is fine when it is in the catalog (`hooks.spark_catalog`)
or in the project's allowlist of UDFs; a type when it is a Databricks type. A statement that does not
parse is one finding, and the other statements of the text are still checked.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from hooks.findings import Finding
from hooks.spark_catalog import Catalog, load_catalog
from hooks.spark_uses import Use, find_uses

DOES_NOT_PARSE = "the SQL does not parse as Databricks SQL"
VERIFIED_VAR = "verified_on_databricks"  # vars: quality: <this>: built-ins whose local differences you checked
# The Spark SQL way for what other engines (mostly DuckDB and Postgres) call differently. Careful: some
# DuckDB names exist in Spark with other results (monthname: 'Mar' on Spark, 'March' on DuckDB).
SPARK_EQUIVALENTS = {
    "strftime": "date_format(ts, 'yyyy-MM')",
    "strptime": "to_timestamp(s, 'yyyy-MM-dd')",
    "list_value": "array(1, 2)",
    "list_contains": "array_contains(xs, x)",
    "array_length": "size(xs) or array_size(xs)",
    "unnest": "explode(xs)",
    "generate_series": "explode(sequence(start, stop))",
    "struct_pack": "named_struct('a', 1)",
    "epoch_ms": "timestamp_millis(ms), or unix_millis(ts) the other way",
    "epoch_us": "timestamp_micros(us), or unix_micros(ts) the other way",
    "epoch": "unix_seconds(ts) or unix_timestamp(ts)",
    "regexp_full_match": "s rlike '^a.*$' or regexp_like(s, '^a.*$') (anchor the pattern)",
    "regexp_matches": "regexp_like(s, pattern) or s rlike pattern",
    "string_split": "split(s, delimiter)",
    "str_split": "split(s, delimiter)",
    "strpos": "instr(s, substring) or position(substring in s)",
    "isodow": "extract(dayofweek_iso from d) (macro day_of_week_iso)",
    "today": "current_date()",
    "json_extract": "get_json_object(j, '$.a') or j:a",
    "json_extract_string": "get_json_object(j, '$.a') or j:a::string",
    "age": "months_between(a, b) or datediff(a, b)",
}
TYPE_EQUIVALENTS = {
    "hugeint": "decimal(38, 0)",
    "uhugeint": "decimal(38, 0)",
    "int128": "decimal(38, 0)",
    "ubigint": "decimal(20, 0)",
    "uinteger": "bigint",
    "usmallint": "int",
    "utinyint": "smallint",
    "text": "string",
    "uuid": "string",
    "json": "string (or variant)",
    "jsonb": "string (or variant)",
    "blob": "binary",
    "bytea": "binary",
    "bool": "boolean",
    "int2": "smallint",
    "int4": "int",
    "int8": "bigint",
    "float4": "float",
    "float8": "double",
    "datetime": "timestamp",
    "timestamptz": "timestamp",
    "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp_ntz",
    "double precision": "double",
    "time": "string (Databricks has no TIME type)",
    "list": "array<...>",
}


def _line_in(sql: str) -> Callable[[int], int]:
    return lambda offset: sql.count("\n", 0, offset) + 1


def _function_finding(path: str, line: int, name: str) -> Finding:
    hint = SPARK_EQUIVALENTS.get(name.rsplit(".", 1)[-1])
    use = f"use {hint}" if hint else "use the Spark SQL built-in that does this"
    return Finding(
        path,
        line,
        f"function '{name}' is not a Spark / Databricks SQL built-in",
        f"{use}, or a cross-database macro (dbt.<macro>(), adapter.dispatch); if '{name}' is your own "
        "UDF, add it to vars: quality: spark_function_allowlist in dbt_project.yml",
    )


def _unverifiable_case(text: str, use: Use, known: Catalog) -> str | None:
    """A recorded difference this call may meet (`spark ... vs local ...`), or None."""
    from quality.emulator.conformance.cases import call_arguments

    arguments = call_arguments(text, use.name, use.offset)
    for case in known.unverifiable[use.name] if arguments is not None else ():
        if case.matches(arguments or []):
            item = case.difference
            return f"{item.sql} gives {item.spark} on Spark, {item.endpoint} locally"
    return None


def _unverifiable_finding(path: str, line: int, name: str, case: str) -> Finding:
    return Finding(
        path,
        line,
        f"'{name}' is not verifiable locally: the local Databricks endpoint does not always give Spark's answer "
        f"({case}), so a green `quality fidelity` does not prove this call",
        f"check the call's result on a Databricks workspace, then list it in dbt_project.yml under vars: quality: "
        f"{VERIFIED_VAR}: [{name}] (docs/fidelity.md lists every such function)",
    )


def _type_finding(path: str, line: int, name: str) -> Finding:
    hint = TYPE_EQUIVALENTS.get(name)
    use = f"cast to {hint}" if hint else "cast to a Databricks type (bigint, decimal(p, s), double, string, ...)"
    return Finding(
        path,
        line,
        f"type '{name}' does not exist in Databricks SQL",
        f"{use}, or use a cross-database type macro (dbt.type_string(), dbt.type_bigint(), ...)",
    )


def _allowed(name: str, functions: Collection[str], allow: Collection[str]) -> bool:
    if name in allow or name in functions:
        return True
    qualifier, _, bare = name.rpartition(".")
    return qualifier in ("builtin", "system.builtin") and bare in functions


def check_sql(
    text: str,
    path: str,
    *,
    allow: Collection[str] = (),
    line_of: Callable[[int], int] | None = None,
    catalog: Catalog | None = None,
) -> list[Finding]:
    """Findings for `text` (the SQL of `path`): unknown functions, unknown types, statements that fail.

    `allow` holds lower-case UDF names (as called, qualified or not); `line_of` maps an offset in `text`
    to the line of `path` to report (rendered SQL); by default the line in `text` itself.
    """
    known = catalog or load_catalog()
    where = line_of or _line_in(text)
    uses, problems = find_uses(text)
    findings = [
        Finding(
            path,
            where(problem.offset),
            f"{DOES_NOT_PARSE}: {problem.message}",
            "fix the syntax; the Spark function and type check could not read this statement",
        )
        for problem in problems
    ]
    for use in uses:
        if use.kind == "function" and not _allowed(use.name, known.functions, allow):
            findings.append(_function_finding(path, where(use.offset), use.name))
        elif use.kind == "function" and use.name in known.unverifiable and use.name not in allow:
            if case := _unverifiable_case(text, use, known):
                findings.append(_unverifiable_finding(path, where(use.offset), use.name, case))
        elif use.kind == "type" and use.name not in known.types:
            findings.append(_type_finding(path, where(use.offset), use.name))
    return findings
