"""Regenerate `hooks/data/spark_functions.txt` and `hooks/data/spark_types.txt` from a local Apache Spark.

Functions: the names of Spark's `SHOW SYSTEM FUNCTIONS` (operators such as `+` or `<=>` left out).
Types: the names, among a broad list of type names used by SQL engines, that Spark accepts as the target
of a CAST (alone or completed: `decimal(10, 2)`, `array<int>`, `interval day`, ...). TIME parses but
is refused unless enabled, and Databricks has no TIME type: it is not listed.

It needs the full `pyspark` (with its jars, not the Spark Connect client the project installs) and Java
17. Neither is a project dependency: use a throw-away environment, from the repository root:

    python3 -m venv /tmp/sparkvenv && /tmp/sparkvenv/bin/pip install pyspark==4.2.0
    /tmp/sparkvenv/bin/python -m hooks.spark_functions_list --regenerate

`--check` compares instead of writing (exit 1 when the files are stale). Runs offline; the JVM start
takes 30-50 s. This module imports only the standard library and `hooks.spark_catalog`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hooks.spark_catalog import DATA_DIR, SPARK_FUNCTIONS, SPARK_TYPES, render_names

COMMAND = "/tmp/sparkvenv/bin/python -m hooks.spark_functions_list --regenerate"
FUNCTION_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Completions tried after a type name: a name counts when any of these parses.
TYPE_PROBES = ("{}", "{}(10)", "{}(10, 2)", "{}<int>", "{}<string, int>", "{}<a: int>", "{} day", "{} year to month")
# Type names of Spark and of other engines (DuckDB, Postgres, Snowflake, BigQuery, T-SQL, ClickHouse, ...);
# one string reads better than 130 list items.
TYPE_CANDIDATES = (  # noqa: SIM905
    "array bigdecimal bigint bignumeric bigserial binary bit blob bool boolean bpchar byte bytea bytes "
    "char character cidr clob date date32 datetime datetime2 datetime64 datetimeoffset dec decimal double "
    "enum fixedstring float float4 float8 float32 float64 geography geometry hstore hugeint image inet int "
    "int1 int2 int4 int8 int16 int32 int64 int128 int256 integer interval ipv4 ipv6 json jsonb list long "
    "longblob longtext lowcardinality macaddr map mediumblob mediumint mediumtext money name nchar nested "
    "nclob null nullable number numeric nvarchar nvarchar2 object real rowversion serial short smalldatetime "
    "smallint smallmoney smallserial string struct super text time timestamp timestamp_ltz timestamp_ms "
    "timestamp_ns timestamp_ntz timestamp_s timestamp_tz timestamptz timetz tinyblob tinyint tinytext tuple "
    "ubigint uhugeint uint8 uint16 uint32 uint64 uint128 uinteger union uniqueidentifier usmallint utinyint "
    "uuid varbinary varchar varchar2 variant void xml year"
).split()


@dataclass(frozen=True)
class Generated:
    """The two generated data files, as text, and the Spark version they came from."""

    version: str
    functions: str
    types: str


def _header(version: str, what: str) -> list[str]:
    return [
        f"{what} (Apache Spark {version}). GENERATED, do not edit: regenerate with",
        f"  {COMMAND}",
        "(needs pyspark with its jars and Java 17; see hooks/spark_functions_list.py). One name a line.",
    ]


def _session() -> Any:
    # The full pyspark, with its jars: not a project dependency (imported by name, so mypy needs no stubs).
    builder: Any = importlib.import_module("pyspark.sql").SparkSession.builder
    return (
        builder.master("local[1]")
        .appName("spark-functions-list")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )


def system_functions(spark: Any) -> list[str]:
    rows = spark.sql("SHOW SYSTEM FUNCTIONS").collect()
    return sorted({str(row[0]).lower() for row in rows if FUNCTION_NAME.match(str(row[0]).lower())})


def _casts_to(spark: Any, type_text: str) -> bool:
    try:
        spark.sql(f"SELECT CAST(NULL AS {type_text})")  # parsed and analysed, not run
    except Exception:  # Spark's ParseException or AnalysisException
        return False
    return True


def accepted_types(spark: Any) -> list[str]:
    # pyspark logs every refused probe, with its Java stack, at ERROR: ~1000 of them are expected here.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return sorted(
        name for name in TYPE_CANDIDATES if any(_casts_to(spark, probe.format(name)) for probe in TYPE_PROBES)
    )


def generate() -> Generated:
    spark = _session()
    try:
        version = str(spark.version)
        functions = render_names(
            _header(version, "Spark SQL built-in functions: SHOW SYSTEM FUNCTIONS"), system_functions(spark)
        )
        types = render_names(_header(version, "Spark SQL data type names a CAST accepts"), accepted_types(spark))
    finally:
        spark.stop()
    return Generated(version=version, functions=functions, types=types)


def _files(generated: Generated, data_dir: Path) -> dict[Path, str]:
    return {data_dir / SPARK_FUNCTIONS: generated.functions, data_dir / SPARK_TYPES: generated.types}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spark_functions_list", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--regenerate", action="store_true", help="write the data files")
    mode.add_argument("--check", action="store_true", help="exit 1 when the data files differ from Spark's")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="where the data files are")
    args = parser.parse_args(argv)
    stale = []
    for path, text in _files(generate(), args.data_dir).items():
        if args.regenerate:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}: {sum(1 for line in text.splitlines() if not line.startswith('#'))} names")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
    for path in stale:
        print(f"{path} differs from this Spark: run {COMMAND}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
